"""Native two-way sync: each secret a provider secret under its own name.

Local changes since the last sync (the vault's change sequence) are pushed as native
secrets with the provider's check-and-set on the version last seen (Vault ``cas``, AWS
version stages); changes made in the provider by anyone (another home, the AWS console,
``vault kv put``) are pulled as new versions whose history entry names the provider as
their author and source, with an audit event ``sync_pull`` whose source is the
provider. Remote changes are found by listing (names, version ids or update times; no
values), so a sync where nothing changed reads no value and writes nothing.

Per secret, what happened since the last sync decides:

==================  ===================  =============================================
here                provider             result
==================  ===================  =============================================
changed             unchanged            pushed (deleted there if deleted here)
unchanged           changed              pulled (deleted here if deleted there)
changed             changed, same value  nothing to move
both changed        different values     the later change wins (version time); the
                                         other value is kept in this vault's history
                                         and listed as a conflict
deleted             changed              the edit wins: pulled back, reported
changed             deleted              the edit wins: pushed again, reported
==================  ===================  =============================================

Provider secrets named ``vaultui-sealed-*`` (sealed sync's objects) are left alone.
The cursor (per secret: the provider version seen, the local version and revision) is
kept sealed in the vault file and saved as the sync goes, so a sync that is killed
or loses the network resumes with what is left: a push that landed but was not
recorded is recognised (the provider already holds the value) and not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ConflictError, ProviderError, VaultError
from core.sync.apply import add_version
from core.sync.clock import Hasher
from core.sync.cursors import NameCursor, NativeCursor
from core.sync.join import Conflict
from core.sync.report import ProgressFn, SyncReport, load_json, save_json
from core.sync.skeleton import CHECKPOINT, ProviderSync
from core.vault import Vault
from core.vault.codec import decode_value
from core.vault.records import utcnow
from core.vault.sync_access import sync_read

SEALED_PREFIX = "vaultui-sealed"
MAX_ATTEMPTS = 5


@dataclass
class _Local:
    name: str
    uid: str
    number: int
    live: bool
    value: Any
    gid: str | None
    at: float
    rev: int
    device: str


@dataclass
class _Remote:
    value: Any
    version: str
    updated: float | None


@dataclass
class _Push:
    """Write ``local``'s value to the provider, expecting its version ``expected``
    ("" = must not exist, None = any)."""

    name: str
    local: _Local
    expected: str | None


_DELETE = "delete"
"""A decision: delete the secret in the provider."""


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


def _read_local(vault: Vault, hasher: Hasher, name: str) -> _Local | None:
    rec = vault.record(name, include_deleted=True)
    if rec is None:
        return None
    raws = sync_read(vault, [bytes.fromhex(rec.uid)])
    if not raws:
        return None
    raw = raws[0]
    current = raw["meta"].version
    for number, info, encoded in raw["versions"]:
        if number == current:
            return _Local(
                name=name,
                uid=rec.uid,
                number=number,
                live=not raw["deleted"],
                value=decode_value(encoded) if not raw["deleted"] else None,
                gid=hasher.gid(info) if not raw["deleted"] else None,
                at=float(info.get("at") or 0.0),
                rev=raw["rev"],
                device=str(info.get("dev") or ""),
            )
    return None


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


class NativeSync(ProviderSync):
    """Native two-way sync (see the module docs); ``run()`` returns the report."""

    mode = "native"

    def __init__(
        self,
        vault: Vault,
        provider: Any,
        *,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
        audit: Any = None,
        user: str | None = None,
    ) -> None:
        super().__init__(vault, provider, dry_run=dry_run, progress=progress, audit=audit)
        self.user = user
        self.cursor = NativeCursor()
        self.saved: dict[str, Any] = {}
        self.calls = 0
        self.events: list[dict[str, Any]] = []
        self.entries: dict[str, Any] = {}
        self.maybe_remote: set[str] = set()
        self.remote_gone: set[str] = set()
        self.local_changed: set[str] = set()
        self.fetched: dict[str, _Remote | None] = {}
        self.names: list[str] = []
        self.pushes: list[_Push] = []
        self.remote_deletes: list[str] = []
        self.pulled_numbers: dict[str, int] = {}
        self.numbers: dict[str, dict[str, int]] = {}

    @property
    def seen(self) -> dict[str, NameCursor]:
        """Per secret, what the last sync saw (updated as this one goes)."""
        return self.cursor.names

    # -- 1. the cursor

    def load_state(self) -> None:
        self.saved = load_json(self.vault, self.cursor_key)
        self.cursor = NativeCursor.from_json(self.saved)

    # -- 2. the provider's listing (names with version ids / update times, no values)
    #       and what changed here since the last sync

    def list_changes(self) -> None:
        self.entries = {
            e.name: e for e in self.provider.list() if not e.name.startswith(SEALED_PREFIX)
        }
        self.calls += 1
        for name, e in self.entries.items():
            c = self.seen.get(name)
            if c is None or c.gone:
                self.maybe_remote.add(name)
            elif e.version is not None:
                if e.version != c.version:
                    self.maybe_remote.add(name)
            elif e.updated_at is not None:
                if _iso(e.updated_at) != c.updated:
                    self.maybe_remote.add(name)
            else:
                self.maybe_remote.add(name)  # nothing listed to compare: read it (GCP)
        self.remote_gone = {n for n, c in self.seen.items() if not c.gone and n not in self.entries}
        for rec in self.vault.changes_since(self.cursor.seq):
            c = self.seen.get(rec.name)
            if c is None or c.rev != rec.rev:
                self.local_changed.add(rec.name)

    # -- 3. read the candidates' remote values (parallel)

    def plan(self) -> None:
        provider = self.provider

        def fetch(name: str) -> tuple[str, _Remote | None]:
            got = provider.get(name)
            if got is None:
                return name, None
            return name, _Remote(got.value, str(got.version), _ts(got.updated_at))

        self.fetched = dict(self.map(fetch, sorted(self.maybe_remote)))
        self.calls += len(self.maybe_remote)
        self.report.values_read += sum(1 for v in self.fetched.values() if v is not None)
        remote_changed: set[str] = set()
        for name, got in self.fetched.items():
            c = self.seen.get(name)
            if got is None:
                if c is not None and not c.gone:
                    self.remote_gone.add(name)
            elif c is None or c.gone or got.version != c.version:
                remote_changed.add(name)
            elif name in self.entries:  # same version as last time (listing without versions)
                c.updated = _iso(self.entries[name].updated_at)
        self.names = sorted(remote_changed | self.remote_gone | self.local_changed)
        self.report.pending_remote = len(remote_changed | self.remote_gone)
        self.report.pending_local = len(self.local_changed)
        self.tick(0, len(self.names), "compare")

    # -- 4. decide and write here name by name (batched), then push and delete there

    def apply(self) -> None:
        done = 0
        for i in range(0, len(self.names), CHECKPOINT):
            batch = self.names[i : i + CHECKPOINT]
            with self.local_batch():
                for name in batch:
                    try:
                        action = self.decide(name, self.fetched.get(name), name in self.remote_gone)
                    except VaultError as exc:
                        self.report.failed[name] = exc.message
                        continue
                    if action == _DELETE:
                        self.remote_deletes.append(name)
                    elif isinstance(action, _Push):
                        self.pushes.append(action)
            done += len(batch)
            self.tick(done, len(self.names), "merge")
        if self.dry_run:
            self.report.pushed.extend(job.name for job in self.pushes)
            self.report.deleted_there.extend(self.remote_deletes)
            return
        jobs = self.pushes
        for i in range(0, len(jobs), CHECKPOINT):
            self.map(self.push_safe, jobs[i : i + CHECKPOINT])
            self.calls += len(jobs[i : i + CHECKPOINT])
            self.save_cursor(None)  # a killed sync resumes after what was pushed
            self.tick(min(i + CHECKPOINT, len(jobs)), len(jobs), "push")
        self.map(self.delete_remote, self.remote_deletes)
        self.calls += len(self.remote_deletes)

    # -- 5. the cursor, conflicts for review, audit

    def save_state(self) -> None:
        report = self.report
        self.save_cursor(None if report.failed else self.start_seq)
        if report.conflicts:
            from core.sync.conflicts import record_conflicts

            record_conflicts(
                self.vault, report.conflicts, self.numbers, f"native:{self.provider.name}"
            )
        self.write_audit(self.events)

    def remote_calls(self) -> int:
        return self.calls

    def save_cursor(self, seq: int | None) -> None:
        """Store the cursor (with ``seq`` when every change up to it is synced)."""
        if seq is not None:
            self.cursor.seq = seq
        data = self.cursor.to_json()
        if data != self.saved:
            save_json(self.vault, self.cursor_key, data)
            self.saved = data

    # -- one secret

    def note(
        self, name: str, local: _Local | None, version: str | None, updated: str | None
    ) -> None:
        """Remember what both sides hold now (absent remotely: version and time None)."""
        self.seen[name] = NameCursor(
            version=version,
            updated=updated,
            gid=local.gid if local and local.live else None,
            rev=local.rev if local else None,
            gone=version is None and updated is None,
        )

    def event(self, operation: str, name: str, **extra: Any) -> None:
        """Queue an audit event about ``name`` (written in step 5)."""
        self.events.append(
            {
                "operation": operation,
                "secret_name": name,
                "source": f"provider:{self.provider.name}",
                "user": self.user,
                "success": True,
                **extra,
            }
        )

    def decide(self, name: str, remote: _Remote | None, gone: bool) -> _Push | str | None:
        """Resolve one name given the remote state just read (None + gone: deleted;
        None alone: not read because unchanged). Writes what it pulls; returns a push,
        ``_DELETE`` (delete it remotely) or None."""
        c = self.seen.get(name)
        local = _read_local(self.vault, self.hasher, name)
        live = local is not None and local.live
        lsig = local.gid if live and local is not None else None
        l_changed = (lsig != c.gid) if c is not None else lsig is not None
        known = c is not None and not c.gone
        if remote is not None:
            r_changed = c is None or c.gone or remote.version != c.version
            r_present = True
        elif gone:
            r_changed, r_present = known, False
        else:
            r_changed, r_present = False, name in self.entries
        updated = _iso(self.entries[name].updated_at) if name in self.entries else None
        if not l_changed and not r_changed:
            if r_present:
                self.note(name, local, c.version if c else None, updated)
            else:
                self.note(name, local, None, None)
            return None
        if r_changed and not l_changed:
            if r_present:
                assert remote is not None
                self.note(name, self.pull(name, remote, current=True), remote.version, updated)
            elif live:
                self.drop_here(name)
            else:
                self.note(name, local, None, None)
            return None
        if l_changed and not r_changed:
            if live:
                assert local is not None
                return _Push(name, local, c.version if (r_present and known and c) else "")
            if r_present:
                return _DELETE
            self.note(name, local, None, None)
            return None
        # changed on both sides since the last sync
        if r_present and live:
            assert remote is not None and local is not None
            if _same(remote.value, local.value):
                self.note(name, local, remote.version, updated)
                return None
            if (remote.updated or 0.0) > local.at:
                after = self.pull(name, remote, current=True)
                self.conflict(name, local, remote, "other", "both_changed")
                self.note(name, after, remote.version, updated)
                return None
            self.pull(name, remote, current=False)  # the losing value stays in history here
            self.conflict(name, local, remote, "local", "both_changed")
            return _Push(name, _read_local(self.vault, self.hasher, name) or local, remote.version)
        if not r_present and not live:
            self.note(name, local, None, None)
            return None
        if not live:  # deleted here, edited there: the edit wins
            assert remote is not None
            if local is not None:
                self.conflict(name, local, remote, "other", "delete_vs_edit")
            self.note(name, self.pull(name, remote, current=True), remote.version, updated)
            return None
        assert local is not None  # edited here, deleted there: the edit wins
        self.conflict(name, local, None, "local", "delete_vs_edit")
        return _Push(name, local, "")

    def pull(self, name: str, remote: _Remote, *, current: bool) -> _Local | None:
        """Add the remote value as a version here (the current one if ``current``)."""
        provider = self.provider
        info = {
            "at": remote.updated or utcnow().timestamp(),
            "who": "sync",
            "why": f"pulled from {provider.display_name}",
            "src": provider.name,
            "dev": f"provider:{provider.name}",
        }
        if not self.dry_run:
            self.pulled_numbers[name] = add_version(
                self.vault, name, remote.value, info, self.hasher, make_current=current
            )[0]
            self.event("sync_pull", name, remote_version=remote.version)
        if current:
            self.report.pulled.append(name)
        return _read_local(self.vault, self.hasher, name)

    def drop_here(self, name: str) -> None:
        """Delete ``name`` here because it was deleted in the provider."""
        if not self.dry_run:
            self.vault.delete(name, who=self.user, why=f"deleted in {self.provider.display_name}")
            self.event("sync_delete", name)
        self.report.deleted_here.append(name)
        self.note(name, _read_local(self.vault, self.hasher, name), None, None)

    def conflict(
        self, name: str, local: _Local, remote: _Remote | None, winner: str, kind: str
    ) -> None:
        """Report a conflict (after the losing/winning remote value was pulled)."""
        deleted = kind == "delete_vs_edit"
        other_ref: Any = f"remote:{remote.version}" if remote else None
        local_ref: Any  # a flag for delete-vs-edit, a version id otherwise (as in Conflict)
        if deleted:
            local_ref, other_ref = not local.live, remote is None
        else:
            local_ref = local.gid
            self.numbers.setdefault(local.uid, {})[str(local.gid)] = local.number
            if name in self.pulled_numbers:
                self.numbers[local.uid][str(other_ref)] = self.pulled_numbers[name]
        self.report.conflicts.append(
            Conflict(
                name=name,
                uid=local.uid,
                field="deleted" if deleted else "value",
                kind=kind,
                winner=winner,
                local_ref=local_ref,
                other_ref=other_ref,
                local_time=local.at,
                other_time=(remote.updated or 0.0) if remote else 0.0,
                local_device=local.device,
                other_device=f"provider:{self.provider.name}",
            )
        )

    # -- the provider side: check-and-set pushes; a lost race is decided again

    def push(self, job: _Push) -> None:
        """Write one value with check-and-set; on a lost race read, decide, retry."""
        provider = self.provider
        name, local, expected = job.name, job.local, job.expected
        for _ in range(MAX_ATTEMPTS):
            try:
                version = provider.put(name, local.value, expected_version=expected)
            except ConflictError:
                got = provider.get(name)
                if got is None and expected == "":
                    # the name is taken by a deleted secret (AWS keeps it scheduled for
                    # deletion, Vault keeps its metadata): recover it with a plain write
                    expected = None
                    continue
                remote = _Remote(got.value, str(got.version), _ts(got.updated_at)) if got else None
                with self.vault.transaction():
                    action = self.decide(name, remote, remote is None)
                if action is None:
                    return  # pulled, or the provider already holds this value
                if action == _DELETE:
                    self.delete_remote(name)
                    return
                assert isinstance(action, _Push)
                name, local, expected = action.name, action.local, action.expected
                continue
            self.note(name, local, version, None)
            self.report.pushed.append(name)
            self.event("sync_push", name, remote_version=version)
            return
        raise ConflictError(f"Secret {name!r} kept changing in {provider.display_name}")

    def push_safe(self, job: _Push) -> None:
        """:meth:`push`; a failure is reported against the secret, the rest go on."""
        try:
            self.push(job)
        except VaultError as exc:
            self.report.failed[job.name] = exc.message

    def delete_remote(self, name: str) -> None:
        """Delete ``name`` in the provider because it was deleted here."""
        try:
            self.provider.delete(name)
            self.report.deleted_there.append(name)
            self.event("sync_delete_remote", name)
        except ProviderError as exc:
            self.report.failed[name] = exc.message


def sync_native(
    vault: Vault,
    provider: Any,
    *,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    audit: Any = None,
    user: str | None = None,
) -> SyncReport:
    """Two-way native sync of ``vault`` with ``provider`` (see the module docs)."""
    return NativeSync(
        vault, provider, dry_run=dry_run, progress=progress, audit=audit, user=user
    ).run()
