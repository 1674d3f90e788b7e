"""Staged rotation and the rotation worker.

One rotation, as AWS Secrets Manager stages it::

    lease  -> re-check due -> generate -> vault.stage_pending (PENDING)
           -> apply hook -> verify hook
           -> vault.promote_pending (PENDING -> CURRENT, old CURRENT -> PREVIOUS)
              + rotation.last_rotated, in one transaction
           -> audit 'rotate' (success, new version) -> release lease

A hook that fails or times out (or any other error) discards PENDING, leaves CURRENT
untouched, stores the value-free reason in ``rotation.last_error`` and writes a failed
``rotate`` audit event. The lease (see lease.py) plus the re-check under it make sure two
workers, in one process or several, never rotate a secret twice for one due time.

The worker (:meth:`RotationManager.run_daemon`, run in a thread by
:meth:`~RotationManager.start_rotation_scheduler`, in a Textual worker by the app and in
the foreground by ``vaultui --batch rotate --daemon``) checks for due secrets right away
and then every ``interval_seconds`` (default 3600, ``VAULTUI_ROTATION_INTERVAL``) with
±``jitter`` spread, so several workers do not wake in lockstep.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import ConflictError, NotFoundError, RotationError, ValidationError, VaultError
from core.rotation.generators import (
    PASSWORD_WORDS,
    Generator,
    generator_for,
    guess_generator,
    parse_generator,
)
from core.rotation.hooks import STEPS, HookConfig, HookResult, run_hook
from core.rotation.info import RotationInfo, parse_time
from core.rotation.lease import LeaseStore, new_owner_id
from core.rotation.policy import (
    SecretRotationPolicy,
    interval_seconds,
    next_due,
    parse_policy,
    policy_label,
)
from core.rotation.results import (
    AuditSink,
    NoAudit,
    RotationFailure,
    RotationResult,
    RotationStatus,
    format_duration,
    names_of,
)
from core.rotation.shape import NO_APPLY_HOOK_WARNING, check_generator_fits
from core.rotation.worker import LEASE_MARGIN, RotationWorker, WorkerState

log = logging.getLogger(__name__)

__all__ = [
    "AuditSink",
    "RotationFailure",
    "RotationManager",
    "RotationResult",
    "RotationStatus",
    "format_duration",
    "names_of",
]

STATES = ("ok", "due", "overdue", "running", "failed")


def utcnow() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


class RotationManager(RotationWorker):
    """Rotation policies, staged rotation with hooks, and the background worker for one
    open vault. Thread-safe. ``clock`` (returns an aware UTC datetime) decides due times
    and ``last_rotated``; tests inject one. ``env`` is the environment hooks inherit
    (default: :class:`core.config.Settings`' environment, minus vaultui's key material).
    ``publish(name, new_value)``, when given, runs after the hooks succeed and before
    promotion (e.g. to write the value to an external provider); a VaultError from it
    fails the rotation like a hook would.
    """

    def __init__(
        self,
        vault: Any,
        audit: AuditSink | None = None,
        interval_seconds: float = 3600,
        user: str = "unknown",
        *,
        clock: Callable[[], datetime] | None = None,
        env: Mapping[str, str] | None = None,
        jitter: float = 0.1,
        source: str = "worker",
        owner: str | None = None,
        publish: Callable[[str, Any], Any] | None = None,
        on_cycle: Callable[[], Any] | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValidationError("The rotation check interval must be positive")
        if not 0 <= jitter < 1:
            raise ValidationError("Rotation jitter must be in [0, 1)")
        self.vault = vault
        self.audit: AuditSink = audit if audit is not None else NoAudit()
        self.interval_seconds = float(interval_seconds)
        self.jitter = float(jitter)
        self.user = user
        self.source = source
        self.clock: Callable[[], datetime] = clock or utcnow
        self._env = env
        self.publish = publish
        self.on_cycle = on_cycle
        self.owner = owner or new_owner_id()
        self.leases = LeaseStore(vault, self.owner)
        self._lock = threading.RLock()
        self._inflight: set[str] = set()
        self._state = WorkerState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # live records with a policy, by uid, as of change sequence _policy_seq
        self._policy_lock = threading.Lock()
        self._policy_records: dict[str, Any] | None = None
        self._policy_seq = 0

    def __repr__(self) -> str:
        return f"RotationManager(owner={self.owner!r}, running={self.is_running})"

    def prime(self, records: Iterable[Any], seq: int) -> None:
        """Seed the worker's view of which secrets have a policy with a listing the
        caller already made: ``records`` from ``Vault.list()``, listed after reading
        change sequence ``seq``. The first check then reads only what changed since
        ``seq`` instead of decrypting every record again (the app hands over the
        browser's own load). An older listing than the one held is ignored."""
        with self._policy_lock:
            if self._policy_records is not None and self._policy_seq >= seq:
                return
            self._policy_records = {
                r.uid: r for r in records if not r.deleted and (r.rotation or {}).get("policy")
            }
            self._policy_seq = seq

    def _with_policy(self) -> list[Any]:
        """The live records that carry a rotation policy.

        The first call lists the vault (every record's metadata decrypted: ~1.2 s of
        CPU at 100,000 secrets, which in the app competes with typing); later calls read
        only the records changed or purged since (``Vault.changes_since``), so the
        worker's hourly check costs milliseconds.
        """
        vault = self.vault
        with self._policy_lock:
            seq = vault.seq  # before reading: a change made meanwhile is read again later
            cache = self._policy_records
            if cache is None or seq < self._policy_seq:
                cache = {r.uid: r for r in vault.list() if (r.rotation or {}).get("policy")}
            elif seq != self._policy_seq:
                for r in vault.changes_since(self._policy_seq):
                    if r.deleted or not (r.rotation or {}).get("policy"):
                        cache.pop(r.uid, None)
                    else:
                        cache[r.uid] = r
                for uid, _seq in vault.purged_since(self._policy_seq):
                    cache.pop(uid, None)
            self._policy_records, self._policy_seq = cache, seq
            return list(cache.values())

    # ------------------------------------------------------------------ policies

    def info(self, name: str) -> RotationInfo:
        """The rotation settings and bookkeeping of ``name`` (NotFoundError if absent)."""
        record = self._record(name)
        return RotationInfo.from_dict(record.rotation)

    def set_policy(
        self,
        name: str,
        policy: SecretRotationPolicy | str | timedelta,
        generator: str | dict[str, Any] | Generator | None = None,
        hooks: HookConfig | Mapping[str, Any] | None = None,
    ) -> RotationInfo:
        """Set the policy of ``name`` and, when given, its generator and hooks.

        ``generator``: None keeps the stored one, '' clears it (back to guessing), a spec
        string/dict/generator sets it (validated now, not at rotation time).
        ``hooks``: None keeps them; a :class:`HookConfig` replaces them; a dict is merged
        over the stored hooks (``{"apply": None}`` removes the apply hook).
        Raises NotFoundError, ValidationError; retries on concurrent metadata changes.
        """
        parsed = parse_policy(policy)
        spec: str | None = None
        if generator is not None and generator != "":
            chosen = parse_generator(generator)
            secret = self.vault.get(name)
            if secret is not None:
                try:
                    check_generator_fits(name, chosen, secret.value)
                except ValidationError as exc:
                    self.audit.log(
                        "update_metadata", name, success=False, error_message=exc.message
                    )
                    raise
            spec = chosen.spec

        def change(current: RotationInfo) -> RotationInfo:
            new = current.with_changes(policy=parsed)
            if generator == "":
                new = new.with_changes(generator=None)
            elif spec is not None:
                new = new.with_changes(generator=spec)
            if hooks is not None:
                new = new.with_changes(hooks=_merge_hooks(current.hooks, hooks))
            return new

        try:
            info = self._update_info(name, change)
        except VaultError as exc:
            self.audit.log("update_metadata", name, success=False, error_message=exc.message)
            raise
        self.audit.log("update_metadata", name, success=True)
        return info

    def generator_of(self, name: str, current: Any = None) -> tuple[Generator, bool]:
        """The generator rotation will use for ``name`` and whether it is a guess."""
        info = self.info(name)
        if info.generator:
            return parse_generator(info.generator), False
        if current is None:
            secret = self.vault.get(name)
            current = secret.value if secret is not None else None
        return guess_generator(name, current), True

    # ------------------------------------------------------------------ schedule

    def schedule(self, now: datetime | None = None) -> list[RotationStatus]:
        """Every secret that has a rotation policy, with its next due time and state,
        sorted by next due time (secrets without one last)."""
        now = now or self.clock()
        holders = self.leases.holders()
        rows = [self._status(record, now, holders) for record in self._with_policy()]
        far = datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda s: (s.next_due or far, s.name))
        return rows

    def status(self, name: str, now: datetime | None = None) -> RotationStatus:
        """The schedule row of one secret (NotFoundError if absent)."""
        return self._status(self._record(name), now or self.clock(), self.leases.holders())

    def due(self, now: datetime | None = None) -> list[str]:
        """Names of secrets whose time-based policy is due at ``now`` (default: the clock),
        most overdue first. NEVER and ON_ACCESS secrets are never listed.
        """
        now = now or self.clock()
        now_ts = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).timestamp()
        # in epoch seconds, not datetimes: a check looks at every secret with a policy
        # (100,000 here), and this is next_due() without building 2 datetimes per secret
        found: list[tuple[float, str]] = []
        for record in self._with_policy():
            rotation = record.rotation or {}
            raw = rotation.get("policy")
            if not raw or raw in ("never", "on_access"):
                continue
            step = interval_seconds(raw)
            if step is None:
                continue
            last = parse_time(rotation.get("last_rotated"))
            base = last.timestamp() if last is not None else record.created_ts
            if base is not None and base + step <= now_ts:
                found.append((base + step, record.name))
        found.sort()
        return [name for _, name in found]

    def _status(
        self, record: Any, now: datetime, holders: dict[str, dict[str, Any]]
    ) -> RotationStatus:
        info = RotationInfo.from_dict(record.rotation)
        when = next_due(info.policy, info.last_rotated, record.created_at)
        holder = holders.get(record.uid)
        with self._lock:
            local = record.name in self._inflight
        if holder or local:
            state = "running"
        elif info.last_error:
            state = "failed"
        elif when is not None and when <= now:
            state = "overdue" if now - when > self.grace else "due"
        else:
            state = "ok"
        if info.generator:
            spec, guessed = info.generator, False
        else:
            spec, guessed = self._guess_label(record), True
        return RotationStatus(
            name=record.name,
            policy=policy_label(info.policy),
            generator=spec,
            generator_guessed=guessed,
            hooks=info.hooks,
            version=record.version,
            last_rotated=info.last_rotated,
            next_due=when,
            state=state,
            last_error=info.last_error,
            failures=info.failures,
            holder=(holder or {}).get("owner") or (self.owner if local else None),
            last_attempt=info.last_attempt,
        )

    @staticmethod
    def _guess_label(record: Any) -> str:
        """The guessed generator's spec from the record's name and type alone (no
        decryption: the guess from the value's shape happens at rotation time)."""
        if record.type == "dict":
            return "guess from value"
        lowered = record.name.lower()
        return _guess_label_for(record.type, any(w in lowered for w in PASSWORD_WORDS))

    # ------------------------------------------------------------------ rotation

    def rotate(
        self,
        name: str,
        *,
        reason: str = "manual",
        only_if_due: bool = False,
        now: datetime | None = None,
        raise_errors: bool = True,
    ) -> RotationResult:
        """Rotate ``name`` now through PENDING, the hooks and promotion.

        ``only_if_due`` (the worker) skips a secret that is no longer due once the lease
        is held (another worker rotated it meanwhile). A secret another worker is
        rotating right now is skipped (``result.skipped``), or with ``raise_errors``
        raises ConflictError. A failure raises RotationError (value-free reason) when
        ``raise_errors``, else is returned in ``result.error``; either way CURRENT is
        untouched, PENDING removed, ``last_error`` stored and a failed 'rotate' audited.
        """
        started = time.monotonic()
        record = self._record(name)
        with self._lock:
            if name in self._inflight:
                return self._busy(name, raise_errors, "already rotating in this process")
            self._inflight.add(name)
        try:
            info = RotationInfo.from_dict(record.rotation)
            ttl = LEASE_MARGIN + sum(
                info.hooks.timeout for step in STEPS if getattr(info.hooks, step)
            )
            if not self.leases.acquire(record.uid, ttl):
                return self._busy(name, raise_errors, "another worker is rotating it")
            try:
                return self._rotate_leased(name, reason, only_if_due, now, raise_errors, started)
            finally:
                try:
                    self.leases.release(record.uid)
                except VaultError as exc:  # expires on its own
                    log.warning("could not release the rotation lease of a secret: %s", exc)
        finally:
            with self._lock:
                self._inflight.discard(name)

    def _busy(self, name: str, raise_errors: bool, why: str) -> RotationResult:
        if raise_errors:
            raise ConflictError(f"Secret {name!r} is being rotated right now: {why}")
        return RotationResult(name, False, skipped=why)

    def _rotate_leased(
        self,
        name: str,
        reason: str,
        only_if_due: bool,
        now: datetime | None,
        raise_errors: bool,
        started: float,
    ) -> RotationResult:
        # Re-read under the lease: what we saw before taking it may be stale.
        record = self._record(name)
        info = RotationInfo.from_dict(record.rotation)
        when = now or self.clock()
        if only_if_due:
            due_at = next_due(info.policy, info.last_rotated, record.created_at)
            if due_at is None or due_at > when:
                return RotationResult(name, False, version=record.version, skipped="not due")
        pending: int | None = None
        try:
            secret = self.vault.get(name)
            if secret is None:
                raise NotFoundError(f"Secret {name!r} does not exist")
            current = secret.value
            current_version = secret.version
            generator = generator_for(name, info.generator, current)
            check_generator_fits(name, generator, current)
            new_value = generator.generate(current)
            pending = self.vault.stage_pending(
                name, new_value, who=self.user, why=f"rotation ({reason})", source=self.source
            )
            for step in STEPS:
                command = getattr(info.hooks, step)
                if not command:
                    continue
                result = self._run_hook(
                    command, step, name, new_value, current, pending, current_version, info
                )
                if not result.ok:
                    raise _HookFailed(result)
            if self.publish is not None:
                self.publish(name, new_value)
            rotated_at = self.clock()
            with self.vault.transaction():
                promoted = self.vault.promote_pending(name, expected_version=current_version)
                done = RotationInfo.from_dict(promoted.rotation).with_changes(
                    last_rotated=rotated_at, last_attempt=rotated_at, last_error=None, failures=0
                )
                self.vault.update_meta(name, rotation=done.to_dict(promoted.rotation))
            pending = None
        except _HookFailed as failed:
            return self._fail(name, failed.result.reason, pending, raise_errors, started)
        except ConflictError:
            why = "the secret was changed while it was being rotated; try again"
            return self._fail(name, why, pending, raise_errors, started)
        except VaultError as exc:
            return self._fail(name, exc.message, pending, raise_errors, started)
        self.audit.log("rotate", name, success=True, version=promoted.version)
        with self._lock:
            self._state.rotated += 1
        log.info("rotated a secret to version %s (%s)", promoted.version, reason)
        return RotationResult(
            name,
            True,
            version=promoted.version,
            previous_version=current_version,
            duration=time.monotonic() - started,
            warning=None if info.hooks.apply else NO_APPLY_HOOK_WARNING,
        )

    def _run_hook(
        self,
        command: str,
        step: str,
        name: str,
        new_value: Any,
        current: Any,
        pending: int,
        current_version: int,
        info: RotationInfo,
    ) -> HookResult:
        return run_hook(
            command,
            step=step,
            name=name,
            new_value=new_value,
            old_value=current,
            pending_version=pending,
            current_version=current_version,
            timeout=info.hooks.timeout,
            via=info.hooks.via,
            base_env=self.env,
        )

    def _fail(
        self, name: str, reason: str, pending: int | None, raise_errors: bool, started: float
    ) -> RotationResult:
        if pending is not None:
            try:
                self.vault.discard_pending(name)
            except VaultError as exc:
                log.warning("could not discard a PENDING version: %s", exc)
        at = self.clock()
        try:
            self._update_info(
                name,
                lambda cur: cur.with_changes(
                    last_error=reason, last_attempt=at, failures=cur.failures + 1
                ),
            )
        except VaultError as exc:
            log.warning("could not record a rotation failure: %s", exc)
        self.audit.log("rotate", name, success=False, error_message=reason)
        with self._lock:
            self._state.failed += 1
            self._state.failures.append(RotationFailure(name, at, reason))
        log.warning("rotation of a secret failed: %s", reason)
        if raise_errors:
            raise RotationError(f"Rotation of {name!r} failed: {reason}")
        return RotationResult(name, False, error=reason, duration=time.monotonic() - started)

    def after_access(self, name: str) -> RotationResult | None:
        """Call after a successful read of CURRENT: rotates an ON_ACCESS secret so the next
        read gets a new value. Never raises for a failed or concurrent rotation (that is
        audited); returns None for other policies.
        """
        try:
            info = self.info(name)
        except NotFoundError:
            return None
        if info.policy != SecretRotationPolicy.ON_ACCESS:
            return None
        try:
            return self.rotate(name, reason="on_access", raise_errors=False)
        except NotFoundError:
            return None

    def rotate_due(
        self, now: datetime | None = None, names: Iterable[str] | None = None
    ) -> list[RotationResult]:
        """Rotate every due secret once (the worker's job), or those of ``names`` that are
        still due when their turn comes; failures are returned, not raised. Stops early
        when the worker is asked to stop."""
        results = []
        for name in self.due(now) if names is None else list(names):
            if self._stop.is_set() and self._state.running:
                break
            try:
                results.append(
                    self.rotate(
                        name, reason="scheduled", only_if_due=True, now=now, raise_errors=False
                    )
                )
            except NotFoundError:
                continue  # deleted meanwhile
        return results

    # ------------------------------------------------------------------ helpers

    @property
    def grace(self) -> timedelta:
        """How long a secret may be due before it counts as overdue: one check interval
        plus jitter (a running worker would have rotated it by then)."""
        return timedelta(seconds=self.interval_seconds * (1 + self.jitter))

    @property
    def env(self) -> Mapping[str, str]:
        """The environment hooks inherit (before key material is stripped)."""
        if self._env is None:
            from core.config import Settings

            self._env = Settings.from_env().env
        return self._env

    def _record(self, name: str) -> Any:
        record = self.vault.record(name)
        if record is None:
            raise NotFoundError(f"Secret {name!r} does not exist")
        return record

    def _update_info(
        self, name: str, change: Callable[[RotationInfo], RotationInfo], attempts: int = 8
    ) -> RotationInfo:
        """Read-modify-write the rotation dict with check-and-set on the record's rev."""
        for _ in range(attempts):
            record = self._record(name)
            new = change(RotationInfo.from_dict(record.rotation))
            try:
                self.vault.update_meta(
                    name, rotation=new.to_dict(record.rotation), expected_rev=record.rev
                )
                return new
            except ConflictError:
                continue
        raise ConflictError(f"Secret {name!r} kept changing; its rotation settings were not saved")


class _HookFailed(Exception):
    def __init__(self, result: HookResult) -> None:
        super().__init__(result.step)
        self.result = result


def _merge_hooks(current: HookConfig, hooks: HookConfig | Mapping[str, Any]) -> HookConfig:
    if isinstance(hooks, HookConfig):
        return hooks
    data = current.to_dict()
    for key, value in hooks.items():
        if key not in ("apply", "verify", "timeout", "via"):
            raise ValidationError(f"Unknown hook setting {key!r}: use apply, verify, timeout, via")
        if value is None or value == "":
            data.pop(key, None)
        else:
            data[key] = value
    return HookConfig.from_dict(data)


@functools.lru_cache(maxsize=8)
def _guess_label_for(kind: str, password_name: bool) -> str:
    sample: Any = b"" if kind == "bytes" else ""
    return guess_generator("password" if password_name else "value", sample).spec
