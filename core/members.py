"""Team members for a front end: add, list and remove (revoke) members, and the secrets
a removed member could read ("exposed", queued for rotation).

Removing a member deletes their key slot AND replaces the data key in the same
transaction (:func:`core.vault.rekey.rekey`): an old copy of the vault file still opens
with their key, but nothing written after the removal can be read with it. Every live
secret at that moment is recorded as exposed (name, member, when, and the version they
could read) in the vault's sealed local state; a secret stops being exposed when its
value changes (a rotation, or a new value set by hand) or it is deleted.

Only an owner manages members: a vault opened with a member's identity
(``VAULTUI_IDENTITY``) may read and write secrets but not add or remove members. This
is vaultui's rule, not cryptography: whoever holds the data key could rewrite the file.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError, VaultError
from core.vault.keys import SLOT_AGE
from core.vault.members import (
    add_member_slot,
    check_member_name,
    member_slot_id,
    members,
    parse_recipient,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.secrets_manager import SecretsManager
    from core.vault import KeySource, Vault
    from core.vault.records import SecretRecord
    from core.vault.rekey import ProgressFn, RekeyResult

EXPOSED_KEY = "members.exposed"
"""The local-state entry holding exposures: {uid: {n, m, at, v}} (sealed, per file)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def require_owner(key_source: KeySource, what: str) -> None:
    """ValidationError unless ``key_source`` is an owner's key (not a member identity):
    members neither manage members nor change the vault's own keys (passwd, rekey)."""
    if key_source.kind == SLOT_AGE:
        raise ValidationError(
            f"Only an owner can {what}: this vault was opened with a member's identity",
            hint="ask an owner (a passphrase or key file holder) to run it",
        )


def _owner_only(manager: SecretsManager, what: str) -> None:
    require_owner(manager.vault.key_source, what)


def add_member(manager: SecretsManager, name: str, public_key: str) -> dict[str, Any]:
    """Add member ``name`` whose public key is ``public_key`` (an ssh-ed25519/ssh-rsa
    ``.pub`` line or an age recipient); returns the member as plain data. Audited as
    ``member_add``."""
    _owner_only(manager, "add members")
    check_member_name(name)
    recipient = parse_recipient(public_key)
    by = f"{manager.settings.user} ({manager.vault.key_source.kind})"
    try:
        slot = add_member_slot(manager.vault, name, recipient, _now(), by)
    except VaultError as exc:
        with contextlib.suppress(VaultError):
            manager.audit_log.log(
                "member_add", None, success=False, member=name, error_message=exc.message
            )
        raise
    manager.audit_log.log(
        "member_add", None, success=True, member=name, fingerprint=recipient.fingerprint
    )
    return next(m for m in members(manager.vault) if m["slot"] == slot)


def list_members(manager: SecretsManager) -> list[dict[str, Any]]:
    """Every member (name, kind, fingerprint, added when and by whom)."""
    return members(manager.vault)


def remove_member(
    manager: SecretsManager,
    name: str,
    opened_with: KeySource,
    *,
    progress: ProgressFn | None = None,
    drop_unavailable: bool = False,
) -> dict[str, Any]:
    """Remove member ``name``: delete their slot and replace the data key (one
    transaction), and mark every live secret exposed. Returns the rekey result plus
    ``member`` and ``exposed`` (the secret names). The unlock agent, which holds the
    old key, is stopped. Audited as ONE ``member_remove`` event with the count.

    An owner slot whose key is not present here (another passphrase) is refused as in
    ``rekey`` (SlotsUnavailableError, nothing changed) unless ``drop_unavailable``."""
    from core.rekeying import available_key_sources, stop_agent_for

    _owner_only(manager, "remove members")
    member_slot_id(manager.vault, name)  # NotFoundError before the agent is stopped
    sources = available_key_sources(manager.settings, opened_with)
    agent_stopped = stop_agent_for(manager.settings)
    try:
        result, live = revoke(
            manager.vault, name, sources, progress=progress, drop_unavailable=drop_unavailable
        )
    except VaultError as exc:
        with contextlib.suppress(VaultError):
            manager.audit_log.log(
                "member_remove", None, success=False, member=name, error_message=exc.message
            )
        raise
    with manager._lock:  # the backup manager caches the backup key, which was replaced
        manager._backup_manager = None
    manager.audit_log.log(
        "member_remove",
        None,
        success=True,
        member=name,
        exposed=len(live),
        records=result.records,
        agent_stopped=agent_stopped,
    )
    return {
        **result.to_dict(),
        "member": name,
        "exposed": sorted(r.name for r in live),
        "agent_stopped": agent_stopped,
    }


def revoke(
    vault: Vault,
    name: str,
    sources: Sequence[KeySource],
    *,
    progress: ProgressFn | None = None,
    drop_unavailable: bool = False,
) -> tuple[RekeyResult, list[SecretRecord]]:
    """The vault part of a removal, in ONE transaction: mark every live secret exposed
    to ``name``, delete their slot and replace the data key (``sources``: the keys this
    process holds, the opening one first). Returns the rekey result and the secrets
    marked. Nothing changes if anything fails."""
    from core.vault.rekey import rekey

    slot = member_slot_id(vault, name)
    with vault.transaction():
        live = vault.list()
        exposures = _load(vault)
        when = _now()
        for rec in live:
            entry = exposures.get(rec.uid)
            if entry and entry.get("v") == rec.version and isinstance(entry.get("m"), list):
                if name not in entry["m"]:
                    entry["m"].append(name)
            else:
                exposures[rec.uid] = {"n": rec.name, "m": [name], "at": when, "v": rec.version}
        # written under the old key; the rekey below re-seals it with the rest
        current = {r.uid: r for r in live}
        vault.set_local(EXPOSED_KEY, json.dumps(_prune(exposures, current)).encode())
        result = rekey(
            vault,
            sources,
            remove_slots=[slot],
            progress=progress,
            drop_unavailable=drop_unavailable,
        )
    return result, live


def _load(vault: Any) -> dict[str, dict[str, Any]]:
    raw = vault.get_local(EXPOSED_KEY)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _prune(
    exposures: dict[str, dict[str, Any]], current: dict[str, SecretRecord]
) -> dict[str, dict[str, Any]]:
    """Only the exposures still in force (see :func:`exposed_secrets`); ``current``:
    the live records by uid."""
    return {
        uid: e
        for uid, e in exposures.items()
        if isinstance(e, dict) and uid in current and current[uid].version == e.get("v")
    }


def exposed_secrets(vault: Any) -> list[dict[str, Any]]:
    """Secrets a removed member could read and whose value has not changed since:
    name (current), members, when exposed, version. Sorted by name.

    A secret leaves the list when a new value is set (a rotation clears the mark), or
    when it is deleted. Costs one sealed read when nothing is exposed (the rotation pane
    asks every few seconds); otherwise one listing of the vault."""
    exposures = _load(vault)
    if not exposures:
        return []
    current = {r.uid: r for r in vault.list()}
    out = []
    for uid, e in _prune(exposures, current).items():
        members_ = [str(m) for m in e.get("m", []) if isinstance(m, str)]
        out.append(
            {
                "name": current[uid].name,
                "members": members_,
                "exposed_at": str(e.get("at", "")),
                "version": current[uid].version,
            }
        )
    out.sort(key=lambda x: x["name"])
    return out
