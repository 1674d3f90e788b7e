"""Team members: ``members add NAME --ssh-key FILE | --age-recipient age1...``,
``members list`` and ``members remove NAME`` (removal rekeys and marks every live
secret exposed, queued for rotation)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ValidationError
from vaultui.batch import output
from vaultui.batch.context import Context

MAX_PUBLIC_KEY_FILE = 16 * 1024
_SHOWN_EXPOSED = 20  # names listed in the text report; --json lists all


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``members`` with its ``add``, ``list`` and ``remove`` subcommands."""
    p = sub.add_parser(
        "members",
        parents=[common],
        help="team members who open the vault with their own SSH or age key",
    )
    msub = p.add_subparsers(dest="members_command", metavar="{add,list,remove}")
    msub.required = True

    a = msub.add_parser("add", parents=[common], help="add a member by public key")
    a.add_argument("name", help="the member's name (letters, digits, . _ @ + -)")
    key = a.add_mutually_exclusive_group(required=True)
    key.add_argument(
        "--ssh-key", metavar="FILE", help="their ssh-ed25519 or ssh-rsa public key file (.pub)"
    )
    key.add_argument("--age-recipient", metavar="AGE1...", help="their age public key")
    a.set_defaults(command_fn=cmd_add)

    ls = msub.add_parser("list", parents=[common], help="name, key kind, fingerprint, added")
    ls.set_defaults(command_fn=cmd_list)

    r = msub.add_parser(
        "remove",
        parents=[common],
        help="remove a member: rekey, and queue every secret they could read for rotation",
    )
    r.add_argument("name")
    r.add_argument(
        "--drop-unavailable-slots",
        action="store_true",
        help="remove owner key slots whose passphrase or key file is not available here "
        "(default: refuse, nothing changed)",
    )
    r.set_defaults(command_fn=cmd_remove)


def _open(ctx: Context) -> tuple[Any, Any]:
    """(manager, key source), opened with the configured key or a prompt (never the
    agent: a removal replaces the key the agent holds)."""
    from core.secrets_manager import SecretsManager
    from core.unlock import vault_exists

    if not vault_exists(ctx.settings):
        raise ConfigError(f"No vault at {ctx.settings.vault_path}")
    ks = ctx.current_key_source()
    return SecretsManager(ctx.settings, key_source=ks, source="batch"), ks


def _public_key(args: argparse.Namespace) -> str:
    if args.age_recipient:
        return str(args.age_recipient)
    path = Path(args.ssh_key).expanduser()
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PUBLIC_KEY_FILE + 1)
    except OSError as exc:
        raise ConfigError(f"Cannot read the public key {path}: {exc.strerror}") from None
    if len(data) > MAX_PUBLIC_KEY_FILE:
        raise ValidationError(f"{path} is too large to be a public key")
    if b"PRIVATE KEY" in data:
        raise ValidationError(
            f"{path} is a private key: give the member's PUBLIC key (the .pub file)"
        )
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not an OpenSSH public key") from None


def cmd_add(ctx: Context) -> int:
    """Add a member (the vault must open with an owner's key)."""
    from core.service.members import add_member

    public_key = _public_key(ctx.args)
    manager, _ks = _open(ctx)
    try:
        member = add_member(manager, ctx.args.name, public_key)
    finally:
        manager.close()
    if ctx.json:
        output.emit(member)
    else:
        output.note(
            f"Added member {member['name']} ({member['kind']} {member['fingerprint']}). "
            "They open the vault with VAULTUI_IDENTITY=their private key."
        )
    return 0


def cmd_list(ctx: Context) -> int:
    """Every member, one line each."""
    from core.service.members import list_members

    manager, _ks = _open(ctx)
    try:
        rows = list_members(manager)
    finally:
        manager.close()
    if ctx.json:
        output.emit(rows)
        return 0
    if not rows:
        output.note("No members: `vaultui --batch members add NAME --ssh-key FILE` adds one.")
        return 0
    output.table(
        [[m["name"], m["kind"], m["fingerprint"], m["added_at"], m["added_by"]] for m in rows],
        ["NAME", "KIND", "FINGERPRINT", "ADDED", "BY"],
    )
    return 0


def cmd_remove(ctx: Context) -> int:
    """Remove a member, rekey, and report the secrets they could read."""
    from core.service.members import remove_member

    manager, ks = _open(ctx)
    progress = output.Progress("re-encrypting", quiet=ctx.json or not sys.stderr.isatty(), bar=True)
    try:
        result = remove_member(
            manager,
            ctx.args.name,
            ks,
            progress=progress,
            drop_unavailable=bool(ctx.args.drop_unavailable_slots),
        )
    finally:
        progress.done()
        manager.close()
    if ctx.json:
        output.emit(result)
        return 0
    exposed = result["exposed"]
    lines = [
        f"Removed member {result['member']}: {result['records']} secrets re-encrypted under "
        f"a new data key in {result['seconds']:.1f}s; their key opens nothing written "
        "from now on.",
        f"{len(exposed)} secret(s) they could read are marked exposed and queued for "
        "rotation (`vaultui --batch rotation status`):",
    ]
    lines += [f"  {name}" for name in exposed[:_SHOWN_EXPOSED]]
    for slot in result["slots_dropped"]:
        lines.append(
            f"warning: dropped key slot #{slot['id']} ({slot['kind']}, "
            f"{slot['label'] or 'no label'}): it no longer opens the vault."
        )
    if len(exposed) > _SHOWN_EXPOSED:
        lines.append(f"  ... and {len(exposed) - _SHOWN_EXPOSED} more (--json lists all)")
    if result.get("agent_stopped"):
        lines.append(
            "The unlock agent held the old key and was stopped: run `vaultui --batch unlock`."
        )
    lines.append(
        "Copies of the vault file they already have still open with their key, as of then."
    )
    for line in lines:
        output.note(line)
    return 0
