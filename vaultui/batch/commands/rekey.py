"""Key replacement commands: ``passwd`` (new passphrase; ``--rekey``: and a new data
key) and ``rekey`` (a new data key: what revokes an old passphrase or key file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import ConfigError, KeyMissingError, ValidationError
from vaultui.batch import context, output
from vaultui.batch.context import Context

MIN_PASSPHRASE = 8
_DROP_HELP = (
    "remove key slots whose passphrase or key file is not available here (default: "
    "refuse to rekey while any slot cannot be rewrapped)"
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``passwd`` and ``rekey``."""
    p = sub.add_parser(
        "passwd",
        parents=[common],
        help="change the passphrase (prompts, or VAULTUI_NEW_PASSPHRASE_FILE without a terminal)",
    )
    p.add_argument(
        "--rekey",
        action="store_true",
        help="also replace the data key, so the old passphrase opens no old copy's later data",
    )
    p.add_argument("--drop-unavailable-slots", action="store_true", help=_DROP_HELP)
    p.set_defaults(command_fn=cmd_passwd)

    p = sub.add_parser(
        "rekey",
        parents=[common],
        help="replace the data key and re-encrypt every secret and version (revocation)",
    )
    p.add_argument("--drop-unavailable-slots", action="store_true", help=_DROP_HELP)
    p.set_defaults(command_fn=cmd_rekey)


def _new_passphrase(ctx: Context) -> str:
    from core.unlock import read_passphrase_file

    if ctx.can_prompt:
        first = context.prompt_secret("New passphrase: ")
        if context.prompt_secret("New passphrase again: ") != first:
            raise ValidationError("The two passphrases differ: nothing was changed")
        new = first
    else:
        path = ctx.settings.new_passphrase_file
        if not path:
            raise KeyMissingError(
                "No new passphrase",
                hint="run in a terminal, or set VAULTUI_NEW_PASSPHRASE_FILE to a file holding it",
            )
        new = read_passphrase_file(Path(path).expanduser())
    if len(new) < MIN_PASSPHRASE:
        raise ValidationError(f"The new passphrase must have at least {MIN_PASSPHRASE} characters")
    return new


def _open(ctx: Context) -> tuple[Any, Any]:
    """(manager, key source) opened with the configured key or a prompt, never the agent."""
    from core.secrets_manager import SecretsManager
    from core.unlock import vault_exists

    if not vault_exists(ctx.settings):
        raise ConfigError(f"No vault at {ctx.settings.vault_path}")
    from core.service.members import require_owner

    old = ctx.current_key_source()
    require_owner(old, "change the vault's keys (passwd, rekey)")
    return SecretsManager(ctx.settings, key_source=old, source="batch"), old


def _rekey(ctx: Context, manager: Any, old: Any, new: Any = None) -> dict[str, Any]:
    import sys

    from core.service.keys import rekey
    from core.unlock import kdf_from_settings

    progress = output.Progress("re-encrypting", quiet=ctx.json or not sys.stderr.isatty(), bar=True)
    try:
        return rekey(
            manager,
            old,
            new_passphrase=new,
            drop_unavailable=bool(ctx.args.drop_unavailable_slots),
            kdf=kdf_from_settings(ctx.settings),
            progress=progress,
        )
    finally:
        progress.done()


def _report(ctx: Context, result: dict[str, Any], headline: str) -> None:
    if ctx.json:
        output.emit(result)
        return
    lines = [
        f"{headline}: {result['records']} secrets and {result['versions']} versions "
        f"re-encrypted under a new data key in {result['seconds']:.1f}s."
    ]
    for slot in result["slots_dropped"]:
        lines.append(
            f"warning: dropped key slot #{slot['id']} ({slot['kind']}, "
            f"{slot['label'] or 'no label'}): it no longer opens the vault."
        )
    if result.get("agent_stopped"):
        lines.append(
            "The unlock agent held the old key and was stopped: run `vaultui --batch unlock`."
        )
    lines.append(
        "Old copies of the vault file still open with the old keys, "
        "but read nothing written from now on."
    )
    for line in lines:
        output.note(line)


def cmd_rekey(ctx: Context) -> int:
    """Replace the data key (every key slot this process can open is rewrapped)."""
    manager, old = _open(ctx)
    try:
        result = _rekey(ctx, manager, old)
    finally:
        manager.close()
    _report(ctx, result, "Rekeyed")
    return 0


def cmd_passwd(ctx: Context) -> int:
    """Replace the passphrase slot the current key opens (or add one to a key-file vault);
    with ``--rekey`` also replace the data key in the same transaction."""
    from core.service.keys import change_passphrase
    from core.service.types import KeySource
    from core.unlock import kdf_from_settings

    manager, old = _open(ctx)
    try:
        new = KeySource.passphrase(_new_passphrase(ctx))
        if ctx.args.rekey:
            if old.kind != "passphrase":
                raise ValidationError(
                    f"The vault was opened with the {old.label}; --rekey replaces a passphrase",
                    hint="run `vaultui --batch passwd` to add one, then `vaultui --batch rekey`",
                )
            result = _rekey(ctx, manager, old, new)
            result["result"] = "changed"
            _report(ctx, result, "Passphrase changed and rekeyed")
            return 0
        action = change_passphrase(manager, old, new, kdf=kdf_from_settings(ctx.settings))
        if action == "changed":
            message = "Passphrase changed."
            if old.label == "VAULTUI_PASSPHRASE_FILE":
                message += " Update the file VAULTUI_PASSPHRASE_FILE points to."
            elif old.label == "FEDZK_ENCRYPTION_MASTER_KEY":
                message += " FEDZK_ENCRYPTION_MASTER_KEY no longer opens the vault."
            message += (
                " The data key is unchanged: an old copy of the vault file plus the old "
                "passphrase still opens everything written later; `passwd --rekey` prevents that."
            )
        else:
            message = f"Passphrase added; the {old.label} still opens the vault."
    finally:
        manager.close()
    if ctx.json:
        output.emit({"result": action})
    else:
        output.note(message)
    return 0
