"""``vaultui --batch backup ...``: create, list, verify, restore and clean up backups.

Registered with :func:`register` (``add_parser`` + ``handler(args, manager)``)::

    vaultui --batch backup create [--name N] [--incremental] [--to DIR | --everywhere]
    vaultui --batch backup list [--from DIR] [--json]
    vaultui --batch backup verify [--from DIR] NAME
    vaultui --batch backup restore [--from DIR] NAME [--dry-run] [--exact] [--at TIME]
                                   [--to PATH]
    vaultui --batch backup recover [NAME] [--force]
    vaultui --batch backup destinations
    vaultui --batch backup cleanup --keep-days N [--keep-last N]
    vaultui --batch backup schedule [--on | --off] [--keep-days N] [--keep-last N] ...
    vaultui --batch backup run-scheduled

``restore --to PATH`` is disaster recovery: it does not open (or create) a vault in the
home; NAME may be a path to a ``.vbak`` file, and the key is the configured one
(VAULTUI_PASSPHRASE_FILE, FEDZK_ENCRYPTION_MASTER_KEY, VAULTUI_KEY_FILE) or a passphrase
typed at the prompt. ``--to DIR`` (create) and ``--from DIR`` use another folder
(a mounted drive) instead of the home's ``backups/``; ``--everywhere`` writes one
backup to the home and to every VAULTUI_BACKUP_DIRS folder. Exit codes: 0 ok, 3 no
such backup (or no such folder), 5 a backup failed verification or its chain is
incomplete, 1 a restore that reported errors (nothing was written) or a destination
that could not be written.

``recover`` is the way back from a damaged vault (the integrity errors' hint names it):
it moves the damaged file aside and rebuilds the vault from the latest (or NAMEd)
backup chain, with the same key as ``restore --to``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EXIT_ERROR, EXIT_INTEGRITY, EXIT_OK, KeyMissingError
from core.text import plural
from vaultui.batch import output

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

__all__ = [
    "add_parser",
    "handle_cleanup",
    "handle_create",
    "handle_list",
    "handle_recover",
    "handle_restore",
    "handle_run_scheduled",
    "handle_schedule",
    "handle_verify",
    "register",
]


class _Target(argparse.Action):
    """``--to PATH``: recovery into a new file, which must not open the home's vault."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.to = values
        namespace.needs_vault = False


def _json_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a global --json given before the command is not reset by this default
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def _from_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="from_dir", metavar="DIR", help="the backups in this folder (a drive)"
    )


def _backups_at(args: argparse.Namespace, manager: SecretsManager) -> Any:
    """The BackupManager for ``--to DIR``/``--from DIR``, else the home's."""
    from core.service.backup import manager_at

    to_dir = getattr(args, "to_dir", None)
    if to_dir is not None:
        return manager_at(manager.backup_manager, to_dir, create=True)
    from_dir = getattr(args, "from_dir", None)
    if from_dir is not None:
        return manager_at(manager.backup_manager, from_dir, create=False)
    return manager.backup_manager


def add_parser(subparsers: Any) -> None:
    """Add the ``backup`` command and its subcommands to an argparse subparsers object."""
    backup = subparsers.add_parser(
        "backup",
        help="encrypted full and incremental backups: create, list, verify, restore",
        description="Backups live in backups/ of the vault home, one encrypted file each "
        "(see docs/backup.md).",
    )
    sub = backup.add_subparsers(dest="backup_command", required=True, metavar="SUBCOMMAND")
    from vaultui.batch.commands.backup_agent import agent_create, agent_list, agent_verify

    create = sub.add_parser("create", help="make a full (or --incremental) backup")
    create.add_argument("--name", help="backup name (default backup_<UTC timestamp>)")
    create.add_argument(
        "--incremental", action="store_true", help="store only what changed since the last one"
    )
    where = create.add_mutually_exclusive_group()
    where.add_argument(
        "--to", dest="to_dir", metavar="DIR", help="write it to this folder (created 0700)"
    )
    where.add_argument(
        "--everywhere",
        action="store_true",
        help="to the home's backups and every VAULTUI_BACKUP_DIRS folder",
    )
    _json_flag(create)
    create.set_defaults(handler=handle_create, agent_handler=agent_create)

    listing = sub.add_parser("list", help="the backups with type, chain, age, size, state")
    _from_flag(listing)
    _json_flag(listing)
    listing.set_defaults(handler=handle_list, agent_handler=agent_list)

    verify = sub.add_parser("verify", help="check a backup and the chain it needs")
    verify.add_argument("name", help="backup name")
    _from_flag(verify)
    _json_flag(verify)
    verify.set_defaults(handler=handle_verify, agent_handler=agent_verify)

    restore = sub.add_parser(
        "restore",
        help="restore a backup (or the state at --at TIME); --dry-run shows the changes",
        description="Every secret in the backup gets its value back as a new version; "
        "secrets created later are left alone unless --exact. With --to PATH a new "
        "vault file is written instead (disaster recovery).",
    )
    restore.add_argument("name", nargs="?", help="backup name, or a .vbak path with --to")
    restore.add_argument("--dry-run", action="store_true", help="show what would change")
    restore.add_argument(
        "--exact", action="store_true", help="also delete secrets created after the backup"
    )
    restore.add_argument(
        "--at", metavar="TIME", help="point in time: ISO 8601 or an age like 2h, 3d"
    )
    restore.add_argument(
        "--to", metavar="PATH", action=_Target, help="write a NEW vault file (recovery)"
    )
    _from_flag(restore)
    _json_flag(restore)
    restore.set_defaults(handler=handle_restore, to=None)

    recover = sub.add_parser(
        "recover",
        help="replace a damaged vault by its latest backup (the damaged file is kept aside)",
        description="For a vault that fails its integrity checks: moves vault.db aside to "
        "vault.db.damaged-TIMESTAMP (never deleted) and rebuilds it from the latest backup "
        "whose chain is complete, or from NAME. Refuses an intact vault unless --force.",
    )
    recover.add_argument("name", nargs="?", help="backup name (default: the latest usable)")
    recover.add_argument(
        "--force", action="store_true", help="replace the vault even if it is not damaged"
    )
    _json_flag(recover)
    recover.set_defaults(handler=handle_recover, needs_vault=False)

    cleanup = sub.add_parser("cleanup", help="delete old backups, keeping whole chains")
    cleanup.add_argument("--keep-days", type=float, required=True, metavar="N")
    cleanup.add_argument("--keep-last", type=int, default=None, metavar="N")
    _json_flag(cleanup)
    cleanup.set_defaults(handler=handle_cleanup)

    schedule = sub.add_parser("schedule", help="show or set the scheduled (daily) backup")
    onoff = schedule.add_mutually_exclusive_group()
    onoff.add_argument("--on", dest="enabled", action="store_true", default=None)
    onoff.add_argument("--off", dest="enabled", action="store_false")
    schedule.add_argument("--interval-hours", type=float, metavar="H")
    schedule.add_argument("--full-every-days", type=float, metavar="D")
    schedule.add_argument("--keep-days", type=float, metavar="N")
    schedule.add_argument("--keep-last", type=int, metavar="N")
    schedule.add_argument("--offsite", metavar="DIR", help="also copy each backup here ('' = off)")
    _json_flag(schedule)
    schedule.set_defaults(handler=handle_schedule)

    dests = sub.add_parser(
        "destinations", help="where backups go: the home and every VAULTUI_BACKUP_DIRS folder"
    )
    _json_flag(dests)
    dests.set_defaults(handler=handle_destinations)

    run = sub.add_parser("run-scheduled", help="make the scheduled backup now if it is due")
    _json_flag(run)
    run.set_defaults(handler=handle_run_scheduled)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``backup`` and its subcommands to the CLI
    (through :func:`vaultui.batch.commands.register_handlers`)."""
    from vaultui.batch.commands import register_handlers

    register_handlers(sub, add_parser)


# ---------------------------------------------------------------------- output


def _emit(data: Any) -> None:
    output.emit(data, sort_keys=True)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _progress() -> Any:
    """A (stage, done, total) callback printing to stderr on a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def report(stage: str, done: int, total: int) -> None:
        end = "\n" if total and done >= total else ""
        sys.stderr.write(f"\r{stage}: {done}/{total}   {end}")
        sys.stderr.flush()

    return report


def human_size(size: float) -> str:
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def human_age(created_at: str, now: datetime | None = None) -> str:
    """An ISO time as an age: '5m', '3h', '2d'."""
    try:
        then = datetime.fromisoformat(created_at)
    except ValueError:
        return "?"
    seconds = max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# ---------------------------------------------------------------------- handlers


def handle_create(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup create``: prints the new file's path (or JSON with its listing)."""
    if getattr(args, "everywhere", False):
        return _create_everywhere(args, manager)
    backups = _backups_at(args, manager)
    path = backups.create_backup(args.name, incremental=args.incremental, progress=_progress())
    info = next(b for b in backups.list_backups() if b["name"] == path.stem)
    return _print_created(args, str(path), info)


def _print_created(args: argparse.Namespace, path: str, info: dict[str, Any]) -> int:
    if getattr(args, "json", False):
        _emit(info)
    else:
        _out(path)
        output.note(
            f"Created {info['type']} backup {info['name']} "
            f"({plural(info['records'], 'record')}, {human_size(info['size_bytes'])})"
        )
    return EXIT_OK


def _create_everywhere(args: argparse.Namespace, manager: SecretsManager) -> int:
    """One backup in every destination; a missing drive is reported, the rest go on."""
    from core.errors import VaultError
    from core.service.backup import destinations, manager_at

    results = []
    for dest in destinations(manager.settings):
        entry: dict[str, Any] = {"destination": str(dest.path), "path": None, "error": None}
        try:
            backups = (
                manager.backup_manager
                if dest.kind == "home"
                else manager_at(manager.backup_manager, dest.path, create=True)
            )
            path = backups.create_backup(args.name, incremental=args.incremental)
            entry["path"] = str(path)
        except VaultError as exc:
            entry["error"] = str(exc)
        results.append(entry)
    if getattr(args, "json", False):
        _emit(results)
    else:
        for entry in results:
            if entry["path"]:
                _out(entry["path"])
            else:
                output.note(f"{entry['destination']}: not written: {entry['error']}")
    return EXIT_OK if all(e["path"] for e in results) else EXIT_ERROR


def handle_destinations(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup destinations``: each folder with its count and newest backup."""
    from core.service.backup import describe, destinations

    home = manager.backup_manager
    described = [describe(home, d) for d in destinations(manager.settings)]
    if getattr(args, "json", False):
        _emit(described)
        return EXIT_OK
    for d in described:
        if d["available"]:
            newest = (
                f", newest {d['newest']} ({human_age(d['newest_at'])} ago)" if d["newest"] else ""
            )
            state = f"{plural(d['count'], 'backup')}{newest}"
        else:
            state = d["error"] or "unavailable"
        _out(f"{d['path']}  [{d['kind']}]  {state}")
    return EXIT_OK


def handle_list(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup list``: a table, or the seed's dicts as JSON."""
    return _print_list(args, _backups_at(args, manager).list_backups())


def _print_list(args: argparse.Namespace, listed: list[dict[str, Any]]) -> int:
    if getattr(args, "json", False):
        _emit(listed)
        return EXIT_OK
    if not listed:
        output.note("No backups yet: vaultui --batch backup create")
        return EXIT_OK
    rows = [("NAME", "TYPE", "PARENT", "AGE", "SIZE", "SECRETS", "VERIFIED", "STATUS")]
    for b in listed:
        rows.append(
            (
                b["name"],
                b["type"],
                b["parent"] or "-",
                human_age(b["created_at"]),
                human_size(b["size_bytes"]),
                str(b["secret_count"]),
                "yes" if b["verified"] else "no",
                b["status"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        _out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def handle_verify(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup verify NAME``: exit 0 if the backup and its chain are intact, else 5."""
    report = _backups_at(args, manager).verify_backup(args.name, progress=_progress())
    return _print_verify(args, report)


def _print_verify(args: argparse.Namespace, report: dict[str, Any]) -> int:
    if getattr(args, "json", False):
        _emit(report)
    elif report["valid"]:
        _out(f"OK: {report['name']} and its chain ({' <- '.join(report['chain'])}) are intact")
    else:
        for message in report["errors"]:
            output.note(message)
    return EXIT_OK if report["valid"] else EXIT_INTEGRITY


def _print_restore(result: dict[str, Any]) -> None:
    verb = "Would restore" if result["dry_run"] else "Restored"
    where = f" into {result['target']}" if result.get("target") else ""
    secrets = plural(result["restored_secrets"], "secret")
    _out(f"{verb} {secrets} from {result['backup']}{where}")
    labels = {
        "added": "back (were deleted or missing)",
        "changed": "changed back",
        "deleted": "deleted (created after the backup)",
        "kept": "left alone (created after the backup)",
        "unchanged": "unchanged",
    }
    for key, label in labels.items():
        names = result.get(key) or []
        if not names:
            continue
        shown = names if key != "unchanged" else []
        _out(f"  {len(names)} {label}" + (":" if shown else ""))
        for name in shown[:200]:
            _out(f"    {name}")
        if len(shown) > 200:
            _out(f"    ... and {len(shown) - 200} more")
    for message in result.get("errors") or []:
        output.note(message)


def _recovery_key(settings: Any, *, may_prompt: bool) -> Any:
    """The configured key, else a passphrase typed at the terminal (never from argv)."""
    from core.service.types import KeySource
    from core.unlock import configured_key_source

    ks = configured_key_source(settings)
    if ks is not None:
        return ks
    if may_prompt:
        from vaultui.batch.context import has_terminal, prompt_secret

        if has_terminal():
            return KeySource.passphrase(prompt_secret("Passphrase of the backed-up vault: "))
    raise KeyMissingError(
        "No key to open the backup",
        hint="set VAULTUI_PASSPHRASE_FILE, FEDZK_ENCRYPTION_MASTER_KEY or VAULTUI_KEY_FILE",
    )


def _backup_path(name: str, settings: Any, from_dir: str | None = None) -> Path:
    candidate = Path(name).expanduser()
    if "/" in name or (candidate.suffix == ".vbak" and candidate.exists()):
        return candidate
    folder = Path(from_dir).expanduser() if from_dir else settings.backups_dir
    return folder / (name if name.endswith(".vbak") else name + ".vbak")


def handle_restore(args: argparse.Namespace, manager: SecretsManager | None) -> int:
    """``backup restore``: into this vault, or with ``--to`` into a new vault file."""
    if not args.name and not args.at:
        raise _usage("backup restore needs NAME or --at TIME")
    if args.to:
        from core.config import Settings
        from core.service.backup import restore_backup_file

        if not args.name:
            raise _usage("backup restore --to needs the NAME (or path) of a backup")
        settings = manager.settings if manager is not None else Settings.from_env()
        result = restore_backup_file(
            _backup_path(args.name, settings, getattr(args, "from_dir", None)),
            Path(args.to).expanduser(),
            _recovery_key(settings, may_prompt=not getattr(args, "no_prompt", False)),
            dry_run=args.dry_run,
            progress=_progress(),
        )
    else:
        assert manager is not None
        result = _backups_at(args, manager).restore_backup(
            args.name,
            dry_run=args.dry_run,
            point_in_time=args.at,
            exact=args.exact,
            progress=_progress(),
        )
    if getattr(args, "json", False):
        _emit(result)
    else:
        _print_restore(result)
    return EXIT_ERROR if result["errors"] else EXIT_OK


def handle_recover(args: argparse.Namespace, manager: SecretsManager | None) -> int:
    """``backup recover [NAME] [--force]``: the damaged vault aside, the backup in place."""
    from core.config import Settings
    from core.service.backup import recover_damaged

    settings = manager.settings if manager is not None else Settings.from_env()
    result = recover_damaged(
        settings.vault_path,
        settings.backups_dir,
        _recovery_key(settings, may_prompt=not getattr(args, "no_prompt", False)),
        args.name,
        force=args.force,
        progress=_progress(),
    )
    if getattr(args, "json", False):
        _emit(result)
        return EXIT_ERROR if result["errors"] else EXIT_OK
    for note in result["skipped"]:
        output.note(note)
    _out(f"The vault was damaged: {result['damaged']}")
    if result["moved_aside"]:
        _out(f"Moved the damaged file aside to {result['moved_aside']} (kept, not deleted)")
    _out(
        f"Recovered {result['restored_secrets']} secrets from {result['backup']} "
        f"(chain: {', '.join(result['chain'])}) into {result['vault']}"
    )
    _out("Changes made after that backup are not in the recovered vault.")
    for message in result["errors"]:
        output.note(message)
    return EXIT_ERROR if result["errors"] else EXIT_OK


def handle_cleanup(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup cleanup --keep-days N [--keep-last N]``: prints how many were deleted."""
    deleted = manager.backup_manager.cleanup_old_backups(
        keep_days=args.keep_days, keep_last=args.keep_last
    )
    if getattr(args, "json", False):
        _emit({"deleted": deleted})
    else:
        _out(f"Deleted {deleted} old backups")
    return EXIT_OK


def handle_schedule(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup schedule``: show, or change and show, the scheduled backup."""
    backups = manager.backup_manager
    changes = {
        key: value
        for key, value in (
            ("enabled", args.enabled),
            ("interval_hours", args.interval_hours),
            ("full_every_days", args.full_every_days),
            ("keep_days", args.keep_days),
            ("keep_last", args.keep_last),
            ("offsite_dir", (args.offsite or None) if args.offsite is not None else None),
        )
        if value is not None or (key == "offsite_dir" and args.offsite == "")
    }
    schedule = backups.set_schedule(**changes) if changes else backups.get_schedule()
    due = backups.next_due()
    data = dict(schedule.__dict__, next_due=due.isoformat() if due else None)
    if getattr(args, "json", False):
        _emit(data)
    else:
        for key, value in data.items():
            _out(f"{key}: {value}")
    return EXIT_OK


def handle_run_scheduled(args: argparse.Namespace, manager: SecretsManager) -> int:
    """``backup run-scheduled``: the worker's job, once (for cron users)."""
    result = manager.backup_manager.run_scheduled()
    if getattr(args, "json", False):
        _emit(result)
    elif result["ran"]:
        _out(f"Made {result['type']} backup {result['backup']}; deleted {result['deleted']} old")
    else:
        _out(f"No backup made: {result.get('error') or result['reason']}")
    return EXIT_OK if result.get("reason") != "failed" else EXIT_ERROR


def _usage(message: str) -> Exception:
    from core.errors import ValidationError

    return ValidationError(message)
