"""Conflicts waiting for review, kept sealed in the vault file (``local_state``).

A merge or sync that found fields changed on both sides already applied its winner and
kept the loser in history; it records each such conflict here so the app's sync pane and
``vaultui --batch sync conflicts`` can show both sides and let the user keep the
result (dismiss), take their own side back ("mine"), take the other side ("theirs") or
write a merged value. Resolving writes a new version (or metadata change) like any
edit, so it syncs onwards as one.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.sync.join import Conflict
from core.vault import Vault

STORE_KEY = "sync/conflicts"
MAX_KEPT = 1000
CHOICES = ("mine", "theirs", "merged")


def _load(vault: Vault) -> list[dict[str, Any]]:
    raw = vault.get_local(STORE_KEY)
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def _save(vault: Vault, items: list[dict[str, Any]]) -> None:
    vault.set_local(STORE_KEY, json.dumps(items[-MAX_KEPT:]).encode() if items else None)


def record_conflicts(
    vault: Vault, conflicts: list[Conflict], numbers: dict[str, dict[str, int]], source: str
) -> list[dict[str, Any]]:
    """Store ``conflicts`` found while merging from ``source``; returns the new entries.

    ``numbers`` maps a secret's uid to its version numbers by version id in this file
    (value conflicts are shown as two version numbers). An identical open conflict is
    not stored twice.
    """
    items = _load(vault)
    known = {i["id"] for i in items}
    added = []
    for c in conflicts:
        entry = c.to_dict()
        nums = numbers.get(c.uid, {})
        if c.field.startswith("value"):
            entry["local_version"] = nums.get(c.local_ref)
            entry["other_version"] = nums.get(c.other_ref)
        entry["source"] = source
        entry["found_at"] = time.time()
        ident = hashlib.sha256(
            json.dumps([c.uid, c.field, c.local_ref, c.other_ref], default=str).encode()
        ).hexdigest()[:12]
        entry["id"] = ident
        if ident in known:
            continue
        known.add(ident)
        items.append(entry)
        added.append(entry)
    if added:
        _save(vault, items)
    return added


def list_conflicts(vault: Vault) -> list[dict[str, Any]]:
    """Open conflicts, oldest first (no secret values: versions are given by number)."""
    return _load(vault)


def dismiss(vault: Vault, conflict_id: str) -> dict[str, Any]:
    """Accept the merge's choice for a conflict and drop it from the list."""
    items = _load(vault)
    for i, item in enumerate(items):
        if item["id"] == conflict_id:
            del items[i]
            _save(vault, items)
            return item
    raise NotFoundError(f"No open sync conflict {conflict_id!r}")


def get_conflict(vault: Vault, conflict_id: str) -> dict[str, Any]:
    """One open conflict by id (NotFoundError if resolved or unknown)."""
    for item in _load(vault):
        if item["id"] == conflict_id:
            return item
    raise NotFoundError(f"No open sync conflict {conflict_id!r}")


def side_value(vault: Vault, conflict: dict[str, Any], side: str) -> Any:
    """The value (or, for ``value[KEY]``, the key's value) one side had. Secret: show masked.

    ``side`` is ``mine`` or ``theirs``; metadata conflicts return the stored content.
    """
    ref_field = "local" if side == "mine" else "other"
    field = conflict["field"]
    if not field.startswith("value"):
        return conflict[f"{ref_field}_ref"]
    number = conflict.get(f"{ref_field}_version")
    if number is None:
        raise NotFoundError("That side's version is not in this vault's history")
    secret = vault.get(conflict["name"], version=int(number))
    if secret is None:
        raise NotFoundError(f"Secret {conflict['name']!r} is deleted")
    if field == "value":
        return secret.value
    key = field[len("value[") : -1]
    if not isinstance(secret.value, dict):
        return None
    return secret.value.get(key)


def resolve(
    vault: Vault,
    conflict_id: str,
    choice: str,
    *,
    value: Any = None,
    who: str | None = None,
) -> dict[str, Any]:
    """Resolve a conflict: keep ``mine``, take ``theirs``, or write a ``merged`` value.

    Writes a new version (value conflicts) or a metadata change when the chosen side
    is not what the vault holds now, then drops the conflict from the list. Returns the
    resolved entry.
    """
    if choice not in CHOICES:
        raise ValidationError(f"Choose one of {', '.join(CHOICES)}, not {choice!r}")
    conflict = get_conflict(vault, conflict_id)
    name, field = conflict["name"], conflict["field"]
    why = f"sync conflict resolved: {choice}"
    if choice == "merged" and value is None:
        raise ValidationError("A merged resolution needs the merged value")
    chosen = value if choice == "merged" else side_value(vault, conflict, choice)
    if field == "deleted":
        deleted = bool(chosen) if choice != "merged" else bool(value)
        record = vault.record(name, include_deleted=True)
        if record is not None and deleted and not record.deleted:
            vault.delete(name, who=who, why=why)
        elif record is not None and not deleted and record.deleted:
            vault.undelete(name)
    elif field.startswith("value"):
        current = vault.get(name)
        if field != "value":
            key = field[len("value[") : -1]
            base = dict(current.value) if current and isinstance(current.value, dict) else {}
            if chosen is None and choice != "merged":
                base.pop(key, None)
            else:
                base[key] = chosen
            chosen = base
        if current is None or current.value != chosen or type(current.value) is not type(chosen):
            vault.put(name, chosen, who=who, why=why, source="sync")
    elif field in ("description", "tags", "rotation", "extra"):
        record = vault.record(name)
        if record is not None:
            if field == "extra":
                from core.sync.clock import SYNC_KEY

                chosen = dict(chosen or {})
                if SYNC_KEY in record.extra:
                    chosen[SYNC_KEY] = record.extra[SYNC_KEY]
            if getattr(record, field) != chosen:
                vault.update_meta(name, **{field: chosen})
    return dismiss(vault, conflict_id)
