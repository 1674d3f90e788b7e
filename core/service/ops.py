"""The named operations ``vaultui --batch``, the unlock agent and the browser run.

Every operation takes an open :class:`~core.secrets_manager.SecretsManager` and plain
keyword arguments and returns plain data (the agent's wire boundary, see
:mod:`core.service.registry`), so the ``--batch`` process and the agent give
byte-identical results. Reads and writes go through :mod:`core.service.secrets`, which
validates and audits; each operation writes exactly one audit event. No audit event,
error message or return value other than an explicit value read carries a secret value.

Use :func:`dispatch` (``dispatch(manager, "get", {"name": "db/password"})``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.controlchars import check_label, check_tags
from core.errors import ConflictError, NotFoundError, ValidationError
from core.service import secrets as service
from core.service.registry import OPS, Op, dispatch  # noqa: F401 (re-exported)
from core.service.registry import ProgressFn as ProgressFn
from core.service.registry import op as op
from core.service.shapes import (
    extract_field,
    leaves,
    type_name,
    version_to_dict,
)
from core.service.shapes import (
    record_to_dict as record_to_dict,
)
from core.vault import SecretRecord, encode_value, validate_name

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


STAGES = ("CURRENT", "PREVIOUS", "PENDING")
IMPORT_CHUNK = 250
"""Secrets written per vault transaction during an import."""


def _require(manager: SecretsManager, name: str, *, include_deleted: bool = False) -> SecretRecord:
    record = manager.vault.record(name, include_deleted=include_deleted)
    if record is None:
        raise NotFoundError(f"Secret {name!r} not found")
    return record


def _audit(manager: SecretsManager, operation: str, name: str | None = None, **extra: Any) -> None:
    manager.audit_log.log(operation, name, success=True, **extra)


# ---------------------------------------------------------------------- reads


@op("get")
def get(
    manager: SecretsManager,
    name: str,
    version: int | None = None,
    stage: str | None = None,
    field: str | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The value of ``name`` (CURRENT, a ``stage`` or a ``version``; one ``field``).

    NotFoundError if the secret, version, stage or field does not exist.
    """
    if stage is not None:
        stage = stage.upper()
        if stage not in STAGES:
            raise ValidationError(f"Unknown stage {stage!r}: use CURRENT, PREVIOUS or PENDING")
        if stage == "CURRENT":
            stage = None
    found = service.read(manager, name, stage=stage, version=version)
    if found is None:
        raise NotFoundError(f"Secret {name!r} not found")
    value, record, origin = found.value, found.record, found.origin
    shown: int | None = version
    if shown is None and record.uid:  # a name only the provider knows has no local version
        shown = record.stage_version(stage) if stage else record.version
    out: dict[str, Any] = {"name": name, "version": shown, "type": type_name(value)}
    if origin in ("local-only", "fallback"):
        # not the provider's answer: the front end says where the value came from
        out["origin"] = origin
        out["provider"] = manager.provider_name
    if field is not None:
        value = extract_field(name, value, field)
        out["field"] = field
    out["value"] = value
    return out


@op("list")
def list_secrets(
    manager: SecretsManager,
    filter: str | None = None,
    tags: dict[str, str | None] | None = None,
    include_deleted: bool = False,
    progress: ProgressFn | None = None,
) -> list[dict[str, Any]]:
    """Metadata of every secret (no values), by name; ``filter`` is a case-insensitive
    substring of the name or description, ``tags`` maps key -> value (None: any value).
    """
    records = service.list_records(
        manager, filter=filter, tags=tags, include_deleted=include_deleted
    )
    return [record_to_dict(r) for r in records]


@op("history")
def history(
    manager: SecretsManager, name: str, progress: ProgressFn | None = None
) -> list[dict[str, Any]]:
    """Every version of ``name`` with who/when/why, oldest first."""
    return [version_to_dict(v) for v in service.history(manager, name)]


@op("status")
def status(manager: SecretsManager, progress: ProgressFn | None = None) -> dict[str, Any]:
    """``SecretsManager.get_status()`` (plain data)."""
    return dict(manager.get_status())


@op("verify")
def verify(manager: SecretsManager, progress: ProgressFn | None = None) -> dict[str, Any]:
    """``SecretsManager.verify_vault()``: counts, or IntegrityError."""
    return dict(manager.verify_vault())


@op("grep")
def grep(
    manager: SecretsManager,
    pattern: str,
    ignore_case: bool = False,
    fixed: bool = False,
    progress: ProgressFn | None = None,
) -> list[dict[str, Any]]:
    """Secrets whose value matches ``pattern`` (a regex, or literal text if ``fixed``):
    ``[{"name", "fields"}]``. The pattern itself is never logged: it may be a secret.
    """
    flags = re.IGNORECASE if ignore_case else 0
    try:
        rx = re.compile(re.escape(pattern) if fixed else pattern, flags)
    except re.error as exc:
        raise ValidationError(f"Bad pattern: {exc.msg}") from None
    names = manager.vault.names()
    hits: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        secret = manager.vault.get(name)
        if secret is None:
            continue
        fields = [
            path
            for path, leaf in leaves(secret.value)
            if leaf is not None and rx.search(_as_text(leaf))
        ]
        if fields:
            hits.append({"name": name, "fields": [f for f in fields if f is not None]})
        if progress is not None and i % 1000 == 999:
            progress(i + 1, len(names))
    _audit(manager, "grep", secrets_searched=len(names), matches=len(hits))
    return hits


def _as_text(leaf: object) -> str:
    if isinstance(leaf, bytes):
        return leaf.decode("latin-1")
    if isinstance(leaf, bool):
        return "true" if leaf else "false"
    return str(leaf)


@op("scan_values")
def scan_values(
    manager: SecretsManager, min_length: int = 6, progress: ProgressFn | None = None
) -> list[tuple[str, str | None, bytes]]:
    """``(name, field, bytes)`` of every stored value (every dict leaf) at least
    ``min_length`` bytes long, for ``vaultui --batch scan``. Audited as one 'scan'."""
    out: list[tuple[str, str | None, bytes]] = []
    names = manager.vault.names()
    for name in names:
        secret = manager.vault.get(name)
        if secret is None:
            continue
        for path, leaf in leaves(secret.value):
            if isinstance(leaf, bool) or leaf is None:
                continue
            raw = leaf if isinstance(leaf, bytes) else str(leaf).encode("utf-8")
            if len(raw) >= min_length:
                out.append((name, path, raw))
    _audit(manager, "scan", secrets_searched=len(names))
    return out


@op("resolve")
def resolve(
    manager: SecretsManager,
    refs: list[tuple[str, str | None]],
    progress: ProgressFn | None = None,
) -> list[Any]:
    """The values of ``[(name, field or None), ...]``, in order (``vaultui run``).

    Each secret read is audited; NotFoundError names the first missing one.
    """
    cache: dict[str, Any] = {}
    out = []
    for name, field in refs:
        if name not in cache:
            found = service.read(manager, name)
            if found is None:
                raise NotFoundError(f"Secret {name!r} not found")
            cache[name] = found.value
        value = cache[name]
        out.append(extract_field(name, value, field) if field else value)
    return out


@op("export")
def export(
    manager: SecretsManager,
    names: list[str] | None = None,
    filter: str | None = None,
    progress: ProgressFn | None = None,
) -> list[dict[str, Any]]:
    """Every (or the named, or the filtered) secret with value, type, description and
    tags, by name. Audited as one 'export' event listing the count."""
    if names:
        records = [_require(manager, n) for n in names]
    else:
        records = manager.vault.list()
        if filter:
            needle = filter.lower()
            records = [r for r in records if needle in r.name.lower()]
    out = []
    for i, record in enumerate(records):
        secret = manager.vault.get(record.name)
        if secret is None:
            continue
        out.append(
            {
                "name": record.name,
                "type": record.type,
                "value": secret.value,
                "description": record.description,
                "tags": dict(record.tags),
            }
        )
        if progress is not None and i % 1000 == 999:
            progress(i + 1, len(records))
    _audit(manager, "export", count=len(out))
    return out


# ---------------------------------------------------------------------- writes


@op("put")
def put(
    manager: SecretsManager,
    name: str,
    value: Any = None,
    generate: str | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    expected_version: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Store a new version of ``name`` (``value``, or one made by the ``generate`` spec).

    ``tags`` are merged into the existing ones; ``description`` None keeps the old one;
    ``expected_version`` makes it a check-and-set (0: must not exist) -> ConflictError.
    """
    validate_name(name)
    before = manager.vault.record(name)
    if generate is not None:
        from core.rotation.generators import parse_generator

        current = manager.vault.get(name) if before is not None else None
        value = parse_generator(generate).generate(current.value if current else None)
    if value is None:
        raise ValidationError("No value given")
    merged = None
    if tags is not None:
        merged = {**(before.tags if before is not None else {}), **tags}
    record = service.store(
        manager,
        name,
        value,
        description,
        merged,
        expected_version=expected_version,
        why="generated" if generate else None,
    )
    return {"record": record_to_dict(record), "created": before is None}


@op("delete")
def delete(
    manager: SecretsManager, name: str, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Tombstone ``name`` (undo with ``undelete``); NotFoundError if it is not live."""
    validate_name(name)
    record = service.delete(manager, name)
    if record is None:
        raise NotFoundError(f"Secret {name!r} not found")
    return record_to_dict(record)


@op("undelete")
def undelete(
    manager: SecretsManager, name: str, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Bring back a deleted secret; ValidationError if it is not deleted."""
    record = _require(manager, name, include_deleted=True)
    if not record.deleted:
        raise ValidationError(f"Secret {name!r} is not deleted")
    restored = service.undelete(manager, name)
    if restored is None:
        raise NotFoundError(f"Secret {name!r} cannot be restored")
    return record_to_dict(restored)


@op("rollback")
def rollback(
    manager: SecretsManager, name: str, version: int, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Make ``version``'s value current again, as a new version."""
    return record_to_dict(service.rollback(manager, name, int(version)))


@op("describe")
def describe(
    manager: SecretsManager, name: str, text: str, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Set the description of ``name``."""
    validate_name(name)
    record = service.update_metadata(manager, name, description=text)
    if record is None:
        raise NotFoundError(f"Secret {name!r} not found")
    return record_to_dict(record)


@op("tag")
def tag(
    manager: SecretsManager,
    name: str,
    set: dict[str, str] | None = None,
    remove: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Add or change tags (``set``) and drop tags (``remove``) on ``name``, atomically
    (check-and-set on the record revision: ConflictError if it changed meanwhile)."""
    record = _require(manager, name)
    tags = dict(record.tags)
    tags.update(set or {})
    for key in remove or []:
        tags.pop(key, None)
    new = service.update_metadata(manager, name, tags=tags, expected_rev=record.rev)
    if new is None:
        raise NotFoundError(f"Secret {name!r} not found")
    return record_to_dict(new)


def _check_labels(entry: dict[str, Any]) -> None:
    """ValidationError if an entry's description or tags hold a control character
    (checked before anything is written, like names and values)."""
    if entry.get("description"):
        check_label(str(entry["description"]), "description")
    tags = entry.get("tags")
    if isinstance(tags, dict):
        check_tags({str(k): "" if v is None else str(v) for k, v in tags.items()})
    elif tags:
        check_tags({str(t): "" for t in tags})


@op("import")
def import_entries(
    manager: SecretsManager,
    entries: list[dict[str, Any]],
    on_conflict: str = "update",
    dry_run: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Store parsed entries (``name``, ``value``, optional ``description``/``tags``).

    Everything is checked before anything is written: a bad name or value raises
    ValidationError naming it, and ``on_conflict='fail'`` raises ConflictError if any
    name exists. Otherwise existing secrets get a new version (``update``; an identical
    value is left alone) or are left alone (``skip``). Returns the names per outcome.
    """
    if on_conflict not in ("update", "skip", "fail"):
        raise ValidationError("on_conflict must be update, skip or fail")
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        name = entry.get("name")
        try:
            validate_name(name)
            encode_value(entry.get("value"))
            _check_labels(entry)
        except ValidationError as exc:
            raise ValidationError(f"Entry {i + 1} ({name!r}) cannot be imported: {exc}") from None
        if name in seen:
            raise ValidationError(
                f"Entries {seen[name] + 1} and {i + 1} have the same name {name!r}"
            )
        seen[str(name)] = i
    plan: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "skipped": []}
    todo: list[dict[str, Any]] = []
    conflicts = []
    for entry in entries:
        name = entry["name"]
        existing = manager.vault.get(name)
        if existing is None:
            plan["created"].append(name)
            todo.append(entry)
        elif on_conflict == "fail":
            conflicts.append(name)
        elif on_conflict == "skip":
            plan["skipped"].append(name)
        elif existing.value == entry["value"] and type(existing.value) is type(entry["value"]):
            plan["unchanged"].append(name)
        else:
            plan["updated"].append(name)
            todo.append(entry)
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (" ..." if len(conflicts) > 5 else "")
        raise ConflictError(
            f"{len(conflicts)} secret(s) already exist: {shown}",
            hint="use --on-conflict update or skip",
        )
    if not dry_run:
        done = 0
        for start in range(0, len(todo), IMPORT_CHUNK):
            chunk = todo[start : start + IMPORT_CHUNK]
            with manager.vault.transaction():
                for entry in chunk:
                    service.store(
                        manager,
                        entry["name"],
                        entry["value"],
                        entry.get("description"),
                        entry.get("tags"),
                        why="import",
                    )
            done += len(chunk)
            if progress is not None:
                progress(done, len(todo))
        _audit(
            manager,
            "import",
            created=len(plan["created"]),
            updated=len(plan["updated"]),
        )
    return {"dry_run": dry_run, **plan}


# operations kept in modules of their own register themselves on import (those still
# under core/agent/ register through the core.agent.ops re-export)
from core.agent import ops as _agent_ops  # noqa: E402, F401
from core.service import (  # noqa: E402, F401
    audit_ops,
    audit_read_ops,
    backup_ops,
    diff_ops,
    name_ops,
    otp_ops,
    purge_ops,
    rename_ops,
    rotation_ops,
    sync_ops,
)
