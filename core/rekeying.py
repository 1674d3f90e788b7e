"""Rekey an open vault for a front end (``vaultui --batch rekey``, ``passwd --rekey``,
the app's command): gather every key this process holds, stop the unlock agent that
holds the old key, replace the data key (:func:`core.vault.rekey.rekey`), and write ONE
audit event.

What a rekey means for the parts around the vault file:

- unlock agent: it holds the old key, so it is locked before the rekey; unlock again;
- audit trail: its chain key is carried over, so ``audit verify`` still passes;
- backups: backups made before keep the old key (and the old key slots, so the old
  passphrase restores them); the next backup is a full one under the new key;
- sealed sync: objects uploaded before are sealed under the old key, which this vault
  no longer derives: sealed sync starts afresh (a new location, or the old objects
  removed) and other machines bootstrap again with a key that opens the new slots;
  the fingerprint key of sync clocks is carried over, so native sync is unaffected;
- other processes with the vault open (the app, a rotation worker) find nothing or get
  an integrity error until they reopen it; their writes are refused (state MAC).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import VaultError
from core.vault.rekey import ProgressFn, rekey

if TYPE_CHECKING:
    from core.config import Settings
    from core.secrets_manager import SecretsManager
    from core.vault import Argon2Params, KeySource


def available_key_sources(settings: Settings, first: KeySource) -> list[KeySource]:
    """``first`` (the key that opened the vault), then every other key the environment
    configures: VAULTUI_PASSPHRASE_FILE, FEDZK_ENCRYPTION_MASTER_KEY, VAULTUI_KEY_FILE
    and the home's ``vault.key``. Unreadable ones are skipped."""
    from core.unlock import read_passphrase_file
    from core.vault import KeySource

    found: list[KeySource] = [first]
    candidates: list[Any] = []
    if settings.passphrase_file:
        candidates.append(
            lambda: KeySource.passphrase(
                read_passphrase_file(settings.passphrase_file), label="VAULTUI_PASSPHRASE_FILE"
            )
        )
    if settings.master_key:
        candidates.append(lambda: KeySource.master_key(settings.master_key))
    for path in (settings.key_file, settings.default_key_file):
        if path and Path(path).exists():
            candidates.append(lambda p=path: KeySource.from_key_file(p))
    for make in candidates:
        with contextlib.suppress(VaultError):
            source = make()
            if all((s.kind, s.secret) != (source.kind, source.secret) for s in found):
                found.append(source)
    return found


def stop_agent_for(settings: Settings) -> bool:
    """Lock the unlock agent if it serves this vault; True if one was stopped."""
    import os

    from core.agent.launch import agent_info, stop_agent

    info = agent_info(settings)
    if not info:
        return False
    if os.path.realpath(str(info.get("vault", ""))) != os.path.realpath(settings.vault_path):
        return False
    return stop_agent(settings) == "stopped"


def rekey_manager(
    manager: SecretsManager,
    opened_with: KeySource,
    *,
    new_passphrase: KeySource | None = None,
    drop_unavailable: bool = False,
    kdf: Argon2Params | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Replace the data key of ``manager``'s vault; returns the result as plain data
    (records, versions, slots kept/dropped, seconds, agent_stopped).

    ``opened_with`` is the key that opened it (a passphrase, master key or key file).
    Audited as one ``rekey`` event (success or failure, never key material).
    """
    from core.members import require_owner

    require_owner(opened_with, "replace the data key")
    settings = manager.settings
    sources = available_key_sources(settings, opened_with)
    agent_stopped = stop_agent_for(settings)
    try:
        result = rekey(
            manager.vault,
            sources,
            new_passphrase=new_passphrase,
            drop_unavailable=drop_unavailable,
            kdf=kdf,
            progress=progress,
        )
    except VaultError as exc:
        with contextlib.suppress(VaultError):
            manager.audit_log.log("rekey", None, success=False, error_message=exc.message)
        raise
    # the backup manager caches the backup key, which the rekey replaced
    with manager._lock:
        manager._backup_manager = None
    out = {**result.to_dict(), "agent_stopped": agent_stopped}
    manager.audit_log.log(
        "rekey",
        None,
        success=True,
        records=result.records,
        versions=result.versions,
        slots_kept=len(result.slots_kept),
        slots_dropped=len(result.slots_dropped),
        passphrase_changed=new_passphrase is not None,
        agent_stopped=agent_stopped,
    )
    return out
