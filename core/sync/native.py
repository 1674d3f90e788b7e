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

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ConflictError, ProviderError, VaultError
from core.sync.apply import add_version
from core.sync.clock import Hasher
from core.sync.join import Conflict
from core.sync.merge import hasher_for
from core.sync.report import ProgressFn, SyncReport, load_json, remote_id, save_json
from core.vault import Vault
from core.vault.codec import decode_value
from core.vault.records import utcnow
from core.vault.sync_access import sync_read

log = logging.getLogger(__name__)

SEALED_PREFIX = "vaultui-sealed"
MAX_ATTEMPTS = 5
CHECKPOINT = 200


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
    meta = raw["meta"]
    for number, info, encoded in raw["versions"]:
        if number == meta["v"]:
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
    started = time.perf_counter()
    rid = remote_id(provider, "native")
    report = SyncReport(provider.name, "native", rid, dry_run)
    hasher = hasher_for(vault)
    key = f"sync/{rid}"
    cursor = load_json(vault, key)
    seen: dict[str, dict[str, Any]] = {k: dict(v) for k, v in cursor.get("names", {}).items()}
    start_seq = vault.seq
    calls = 0
    events: list[dict[str, Any]] = []
    pulled_numbers: dict[str, int] = {}
    numbers: dict[str, dict[str, int]] = {}

    def tick(done: int, total: int, what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    # 1. the provider's listing: names with version ids / update times, no values
    entries = {e.name: e for e in provider.list() if not e.name.startswith(SEALED_PREFIX)}
    calls += 1
    maybe_remote: set[str] = set()
    for name, e in entries.items():
        c = seen.get(name)
        if c is None or c.get("gone"):
            maybe_remote.add(name)
        elif e.version is not None:
            if e.version != c.get("v"):
                maybe_remote.add(name)
        elif e.updated_at is not None:
            if _iso(e.updated_at) != c.get("u"):
                maybe_remote.add(name)
        else:
            maybe_remote.add(name)  # nothing listed to compare: read it (GCP)
    remote_gone = {n for n, c in seen.items() if not c.get("gone") and n not in entries}
    # 2. what changed here since the last sync
    local_changed: set[str] = set()
    for rec in vault.changes_since(int(cursor.get("seq", 0))):
        c = seen.get(rec.name)
        if c is None or c.get("r") != rec.rev:
            local_changed.add(rec.name)

    # 3. read the candidates' remote values (parallel)
    def fetch(name: str) -> tuple[str, _Remote | None]:
        got = provider.get(name)
        if got is None:
            return name, None
        return name, _Remote(got.value, str(got.version), _ts(got.updated_at))

    fetched = dict(_map(provider, fetch, sorted(maybe_remote)))
    calls += len(maybe_remote)
    report.values_read += sum(1 for v in fetched.values() if v is not None)
    remote_changed: set[str] = set()
    for name, got in fetched.items():
        c = seen.get(name)
        if got is None:
            if c is not None and not c.get("gone"):
                remote_gone.add(name)
        elif c is None or c.get("gone") or got.version != c.get("v"):
            remote_changed.add(name)
        else:  # same version as last time (listing without versions): just note it
            c["u"] = _iso(entries[name].updated_at) if name in entries else c.get("u")
    names = sorted(remote_changed | remote_gone | local_changed)
    report.pending_remote = len(remote_changed | remote_gone)
    report.pending_local = len(local_changed)
    tick(0, len(names), "compare")

    # 4. decide and apply, name by name (local writes batched, pushes in parallel)
    done = 0

    def note(name: str, local: _Local | None, version: str | None, updated: str | None) -> None:
        entry = seen.setdefault(name, {})
        entry.update(
            v=version,
            u=updated,
            g=local.gid if local and local.live else None,
            r=local.rev if local else None,
        )
        entry.pop("gone", None)
        if version is None and updated is None:
            entry["gone"] = True

    def pull(name: str, remote: _Remote, *, current: bool) -> _Local | None:
        info = {
            "at": remote.updated or utcnow().timestamp(),
            "who": "sync",
            "why": f"pulled from {provider.display_name}",
            "src": provider.name,
            "dev": f"provider:{provider.name}",
        }
        if not dry_run:
            pulled_numbers[name] = add_version(
                vault, name, remote.value, info, hasher, make_current=current
            )[0]
            events.append(
                {
                    "operation": "sync_pull",
                    "secret_name": name,
                    "source": f"provider:{provider.name}",
                    "user": user,
                    "success": True,
                    "remote_version": remote.version,
                }
            )
        if current:
            report.pulled.append(name)
        return _read_local(vault, hasher, name)

    def conflict(name: str, local: _Local, remote: _Remote | None, winner: str, kind: str) -> None:
        """Report a conflict (after the losing/winning remote value was pulled)."""
        deleted = kind == "delete_vs_edit"
        other_ref: Any = f"remote:{remote.version}" if remote else None
        if deleted:
            local_ref, other_ref = not local.live, remote is None
        else:
            local_ref = local.gid
            numbers.setdefault(local.uid, {})[str(local.gid)] = local.number
            if name in pulled_numbers:
                numbers[local.uid][str(other_ref)] = pulled_numbers[name]
        report.conflicts.append(
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
                other_device=f"provider:{provider.name}",
            )
        )

    Job = tuple[str, _Local, str | None]

    def decide(name: str, remote: _Remote | None, gone: bool) -> Job | str | None:
        """Resolve one name given the remote state just read (None + gone: deleted;
        None alone: not read because unchanged). Returns a push job, "delete" (delete
        it remotely) or None."""
        c = seen.get(name) or {}
        local = _read_local(vault, hasher, name)
        live = local is not None and local.live
        lsig = local.gid if live and local is not None else None
        l_changed = (lsig != c.get("g")) if c else lsig is not None
        known = bool(c) and not c.get("gone")
        if remote is not None:
            r_changed, r_present = (not known or remote.version != c.get("v")), True
        elif gone:
            r_changed, r_present = known, False
        else:
            r_changed, r_present = False, name in entries
        updated = _iso(entries[name].updated_at) if name in entries else None
        if not l_changed and not r_changed:
            note(name, local, c.get("v") if r_present else None, updated if r_present else None)
            return None
        if r_changed and not l_changed:
            if r_present:
                assert remote is not None
                note(name, pull(name, remote, current=True), remote.version, updated)
            elif live:
                drop_here(name)
            else:
                note(name, local, None, None)
            return None
        if l_changed and not r_changed:
            if live:
                assert local is not None
                return (name, local, c.get("v") if (r_present and known) else "")
            if r_present:
                return "delete"
            note(name, local, None, None)
            return None
        # changed on both sides since the last sync
        if r_present and live:
            assert remote is not None and local is not None
            if _same(remote.value, local.value):
                note(name, local, remote.version, updated)
                return None
            if (remote.updated or 0.0) > local.at:
                after = pull(name, remote, current=True)
                conflict(name, local, remote, "other", "both_changed")
                note(name, after, remote.version, updated)
                return None
            pull(name, remote, current=False)  # the losing value stays in history here
            conflict(name, local, remote, "local", "both_changed")
            return (name, _read_local(vault, hasher, name) or local, remote.version)
        if not r_present and not live:
            note(name, local, None, None)
            return None
        if not live:  # deleted here, edited there: the edit wins
            assert remote is not None
            if local is not None:
                conflict(name, local, remote, "other", "delete_vs_edit")
            note(name, pull(name, remote, current=True), remote.version, updated)
            return None
        assert local is not None  # edited here, deleted there: the edit wins
        conflict(name, local, None, "local", "delete_vs_edit")
        return (name, local, "")

    def drop_here(name: str) -> None:
        if not dry_run:
            vault.delete(name, who=user, why=f"deleted in {provider.display_name}")
            events.append(
                {
                    "operation": "sync_delete",
                    "secret_name": name,
                    "source": f"provider:{provider.name}",
                    "user": user,
                    "success": True,
                }
            )
        report.deleted_here.append(name)
        note(name, _read_local(vault, hasher, name), None, None)

    pushes: list[Job] = []
    remote_deletes: list[str] = []
    for i in range(0, len(names), CHECKPOINT):
        batch = names[i : i + CHECKPOINT]
        ctx = vault.transaction() if not dry_run else _Null()
        with ctx:
            for name in batch:
                try:
                    action = decide(name, fetched.get(name), name in remote_gone)
                except VaultError as exc:
                    report.failed[name] = exc.message
                    continue
                if action == "delete":
                    remote_deletes.append(name)
                elif action is not None:
                    pushes.append(action)  # type: ignore[arg-type]
        done += len(batch)
        tick(done, len(names), "merge")

    # 5. push (check-and-set), delete remotely; a lost race is decided again
    def push(job: Job) -> None:
        name, local, expected = job
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
                with vault.transaction():
                    action = decide(name, remote, remote is None)
                if action is None:
                    return  # pulled, or the provider already holds this value
                if action == "delete":
                    delete_remote(name)
                    return
                name, local, expected = action  # type: ignore[misc]
                continue
            note(name, local, version, None)
            report.pushed.append(name)
            events.append(
                {
                    "operation": "sync_push",
                    "secret_name": name,
                    "source": f"provider:{provider.name}",
                    "user": user,
                    "success": True,
                    "remote_version": version,
                }
            )
            return
        raise ConflictError(f"Secret {name!r} kept changing in {provider.display_name}")

    def push_safe(job: Job) -> None:
        try:
            push(job)
        except VaultError as exc:
            report.failed[job[0]] = exc.message

    def delete_remote(name: str) -> None:
        try:
            provider.delete(name)
            report.deleted_there.append(name)
            events.append(
                {
                    "operation": "sync_delete_remote",
                    "secret_name": name,
                    "source": f"provider:{provider.name}",
                    "user": user,
                    "success": True,
                }
            )
        except ProviderError as exc:
            report.failed[name] = exc.message

    if dry_run:
        report.pushed.extend(n for n, _, _ in pushes)
        report.deleted_there.extend(remote_deletes)
    else:
        jobs = list(pushes)
        for i in range(0, len(jobs), CHECKPOINT):
            _map(provider, push_safe, jobs[i : i + CHECKPOINT])
            calls += len(jobs[i : i + CHECKPOINT])
            _save(vault, key, cursor, seen, None)
            tick(min(i + CHECKPOINT, len(jobs)), len(jobs), "push")
        _map(provider, delete_remote, remote_deletes)
        calls += len(remote_deletes)
        _save(vault, key, cursor, seen, None if report.failed else start_seq)
        if report.conflicts:
            from core.sync.conflicts import record_conflicts

            record_conflicts(vault, report.conflicts, numbers, f"native:{provider.name}")
        if audit is not None and events:
            try:
                audit.log_many(events)
            except VaultError:
                log.warning("could not write the sync events to the audit log")
    report.remote_calls = calls
    report.seconds = time.perf_counter() - started
    return report


def _save(
    vault: Vault, key: str, cursor: dict[str, Any], seen: dict[str, Any], seq: int | None
) -> None:
    data = {"seq": int(cursor.get("seq", 0)) if seq is None else seq, "names": seen}
    if data != cursor:
        save_json(vault, key, data)
        cursor.clear()
        cursor.update(data)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _map(provider: Any, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    if len(items) <= 1:
        return [fn(i) for i in items]
    workers = max(1, min(16, int(getattr(provider, "max_workers", 8) or 8)))
    with ThreadPoolExecutor(workers, thread_name_prefix="vaultui-sync") as pool:
        return list(pool.map(fn, items))
