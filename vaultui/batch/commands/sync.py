"""``vaultui --batch sync`` and ``vaultui --batch merge``.

Registered with :func:`register` (``add_parser`` + ``handler(args, manager)``)::

    vaultui --batch sync --provider NAME [--sealed] [--dry-run] [--save]
    vaultui --batch sync --all [--dry-run]          every remote saved with --save
    vaultui --batch sync --status                   last sync, pending changes, conflicts
    vaultui --batch sync --conflicts                open conflicts (no values)
    vaultui --batch sync --resolve ID --take mine|theirs|merged   (merged: value on stdin)
    vaultui --batch sync --dismiss ID               keep what the merge chose
    vaultui --batch sync --interval SECONDS         background sync in the app (0: off)
    vaultui --batch merge OTHER_VAULT_FILE [--dry-run]
    vaultui --batch merge --find                    conflict copies beside the vault

``sync --sealed`` on a machine without a vault rebuilds it from the provider with the
configured key (VAULTUI_PASSPHRASE_FILE, FEDZK_ENCRYPTION_MASTER_KEY, VAULTUI_KEY_FILE)
or a passphrase typed at the prompt; with a team member's VAULTUI_IDENTITY it joins the
team vault (the member's slot in the sealed head opens it). Exit codes: 0 ok
(conflicts were resolved by the merge rule and are listed), 6 a provider failure or
secrets that did not sync, 3 no such file or conflict, 2 usage. No command prints a secret value.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EXIT_OK, EXIT_PROVIDER, EXIT_USAGE, NotFoundError, ValidationError
from core.text import plural
from vaultui.batch import output

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

__all__ = ["add_parser", "handle_merge", "handle_sync"]


def _plain_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subparser without the CLI's shared parent options.

    The CLI adds a shared parent parser (``--json``, ``--provider``, ``--no-prompt``)
    with ``conflict_handler="resolve"``; plugins that define those options again make
    argparse strip them from the *shared* parent, which then breaks every later plugin.
    These commands define their own copies on a parser of their own instead.
    """
    return type(subparsers).add_parser(subparsers, name, **kwargs)


def _own_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser.add_argument(
        "--no-prompt", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    if not any("--provider" in a.option_strings for a in parser._actions):
        parser.add_argument(
            "--provider", default=argparse.SUPPRESS, metavar="NAME", help=argparse.SUPPRESS
        )


def add_parser(subparsers: Any) -> None:
    """Add the ``sync`` and ``merge`` commands to an argparse subparsers object."""
    sync = _plain_parser(
        subparsers,
        "sync",
        usage="vaultui --batch sync --provider NAME [--sealed] [--dry-run] [--save] | --all | "
        "--status | --conflicts | --resolve ID --take SIDE | --dismiss ID | --interval S",
        help="sync the vault with a provider (sealed or native), review conflicts",
        description="Two-way, incremental sync. --sealed stores each record encrypted "
        "(the provider learns nothing; another machine with the key pulls and merges); "
        "without it, each secret is a native provider secret. See docs/sync.md.",
    )
    sync.add_argument(
        "--provider", metavar="NAME", default=argparse.SUPPRESS, help="the provider to sync with"
    )
    sync.add_argument("--sealed", action="store_true", help="sealed sync (encrypted records)")
    sync.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    sync.add_argument("--save", action="store_true", help="remember this remote for --all")
    sync.add_argument("--all", action="store_true", help="sync every saved remote")
    sync.add_argument("--status", action="store_true", help="remotes, last sync, pending")
    sync.add_argument("--conflicts", action="store_true", help="list open conflicts")
    sync.add_argument("--resolve", metavar="ID", help="resolve a conflict (with --take)")
    sync.add_argument("--take", choices=("mine", "theirs", "merged"), help="side to keep")
    sync.add_argument("--dismiss", metavar="ID", help="accept the merge's choice")
    sync.add_argument(
        "--interval", type=int, metavar="SECONDS", help="background sync interval (0: off)"
    )
    _own_flags(sync)
    sync.set_defaults(
        handler=handle_sync, agent_handler=agent_sync, remote_provider=True, needs_vault=False
    )

    merge = _plain_parser(
        subparsers,
        "merge",
        help="merge a diverged copy of the vault file into this vault",
        description="Join a copy of this vault that diverged (a USB copy, a Syncthing "
        "*.sync-conflict-* or Dropbox 'conflicted copy' file) field by field. Only this "
        "vault is written; the other file is only read.",
    )
    merge.add_argument("other", nargs="?", metavar="OTHER_VAULT_FILE", help="the other copy")
    merge.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    merge.add_argument("--find", action="store_true", help="list conflict copies beside the vault")
    _own_flags(merge)
    merge.set_defaults(handler=handle_merge)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``sync`` and ``merge`` to the CLI
    (through :func:`vaultui.batch.commands.register_handlers`)."""
    from vaultui.batch.commands import register_handlers

    register_handlers(sub, add_parser)


# ---------------------------------------------------------------------- output


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        output.emit(data)
        return
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    sys.stdout.flush()


def _when(ts: float | None) -> str:
    if not ts:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _conflict_lines(conflicts: list[dict[str, Any]]) -> list[str]:
    lines = []
    for c in conflicts:
        ident = f"[{c['id']}] " if c.get("id") else ""
        if c["kind"] == "delete_vs_edit":
            what = "deleted on one side, edited on the other: the edit was kept"
        else:
            refs = ""
            if c.get("local_version") or c.get("other_version"):
                refs = f" (mine: v{c.get('local_version')}, theirs: v{c.get('other_version')})"
            what = f"changed on both sides, kept {c['winner']}'s{refs}"
        lines.append(f"  {ident}{c['name']}: {c['field']} {what}")
    return lines


def _report_text(report: dict[str, Any], title: str) -> str:
    lines = [title]
    for key, label in (
        ("pushed", "pushed"),
        ("pulled", "pulled"),
        ("added", "added"),
        ("updated", "updated"),
        ("deleted", "deleted"),
        ("undeleted", "undeleted"),
        ("deleted_here", "deleted here"),
        ("deleted_there", "deleted in the provider"),
    ):
        names = report.get(key)
        if names:
            lines.append(f"  {label} ({len(names)}): {', '.join(names[:20])}")
            if len(names) > 20:
                lines.append(f"    ... and {len(names) - 20} more")
    if report.get("versions_imported"):
        lines.append(f"  history entries imported: {report['versions_imported']}")
    conflicts = report.get("conflicts") or []
    if conflicts:
        lines.append(
            f"  conflicts ({len(conflicts)}), review with `vaultui --batch sync --conflicts`:"
        )
        lines += _conflict_lines(conflicts)
    for name, message in (report.get("failed") or {}).items():
        lines.append(f"  FAILED {name}: {message}")
    if len(lines) == 1:
        lines.append("  nothing to do: both sides are in sync")
    return "\n".join(lines)


# ---------------------------------------------------------------------- sync


def _context(args: argparse.Namespace) -> Any:
    from core.config import Settings
    from vaultui.batch.context import Context

    return Context(args, Settings.from_env(os.environ, provider=getattr(args, "provider", None)))


def handle_sync(args: argparse.Namespace, manager: SecretsManager | None = None) -> int:
    """Run ``sync`` (see the module docs); returns the exit code."""
    from core.unlock import vault_exists

    ctx = _context(args)
    try:
        settings = ctx.settings
        if manager is None:
            if not vault_exists(settings):
                if args.sealed and args.provider:
                    _bootstrap(ctx, args)
                elif args.provider:
                    output.note(
                        f"vaultui: no vault at {settings.vault_path}: creating one to sync into"
                    )
                    manager = ctx.manager(create=True)
                else:
                    raise NotFoundError(f"No vault at {settings.vault_path}")
            if manager is None:
                manager = ctx.manager()
        return _sync(args, manager)
    finally:
        ctx.close()


def _bootstrap(ctx: Any, args: argparse.Namespace) -> None:
    from core.config import ensure_home
    from core.service.sync import SLOT_AGE, bootstrap, join_as_member, make_provider
    from core.unlock import kdf_from_settings

    settings = ctx.settings
    key = ctx.current_key_source()
    provider = make_provider(settings, args.provider)
    try:
        ensure_home(settings)
        if key.kind == SLOT_AGE:  # a member's identity: their slot in the head opens it
            vault = join_as_member(provider, settings.vault_path, key)
        else:
            vault = bootstrap(provider, settings.vault_path, key, kdf=kdf_from_settings(settings))
        vault.close()
    finally:
        provider.close()
    if key.kind == SLOT_AGE:
        output.note(f"vaultui: joined the team vault from {args.provider} at {settings.vault_path}")
    else:
        output.note(f"vaultui: rebuilt the vault at {settings.vault_path} from {args.provider}")


def _sync(args: argparse.Namespace, manager: SecretsManager) -> int:
    from core.service import sync as service

    vault = manager.vault
    if args.interval is not None:
        config = service.load_config(vault)
        config.interval = args.interval
        service.save_config(vault, config)
        _out(args, config.to_dict(), f"background sync interval: {args.interval or 'off'}")
        return EXIT_OK
    if args.status:
        return _print_status(args, service.status(vault))
    if args.conflicts:
        return _print_conflicts(args, service.list_conflicts(vault))
    return _sync_rest(args, manager)


def _print_status(args: argparse.Namespace, data: dict[str, Any]) -> int:
    lines = ["remotes:"]
    for _rid, info in sorted(data["remotes"].items()):
        lines.append(
            f"  {info['provider']} ({info['mode']}): last sync {_when(info.get('last_sync'))}, "
            f"{plural(info.get('pending_local', 0), 'local change')} pending"
            + ("" if info.get("ok", True) else ", LAST SYNC FAILED")
        )
    if not data["remotes"]:
        lines.append("  none yet: vaultui --batch sync --provider NAME [--sealed]")
    interval = data["config"]["interval"]
    lines.append(f"background sync: {f'every {interval}s' if interval else 'off'}")
    lines.append(f"open conflicts: {len(data['conflicts'])}")
    for copy in data["conflict_copies"]:
        lines.append(f"conflict copy beside the vault: {copy} (vaultui --batch merge it)")
    _out(args, data, "\n".join(lines))
    return EXIT_OK


def _print_conflicts(args: argparse.Namespace, items: list[dict[str, Any]]) -> int:
    _out(
        args,
        items,
        "\n".join(["open conflicts:", *_conflict_lines(items)]) if items else "no open conflicts",
    )
    return EXIT_OK


def _sync_rest(args: argparse.Namespace, manager: SecretsManager) -> int:
    from core.service import sync as service

    vault = manager.vault
    if args.dismiss:
        item = service.dismiss_conflict(vault, args.dismiss)
        _out(args, item, f"kept the merge's choice for {item['name']} ({item['field']})")
        return EXIT_OK
    if args.resolve:
        if not args.take:
            raise ValidationError("--resolve needs --take mine|theirs|merged")
        value = None
        if args.take == "merged":
            value = _read_value_stdin(service.get_conflict(vault, args.resolve))
        item = service.resolve_conflict(manager, args.resolve, args.take, value=value)
        _out(args, item, f"resolved {item['name']} ({item['field']}): kept {args.take}")
        return EXIT_OK
    from core.service.sync_ops import choose_remotes, sync_remotes

    remotes = choose_remotes(manager, args.provider, args.sealed, args.all, args.save)
    if args.all and not remotes:
        raise ValidationError("No saved remotes: sync once with --provider NAME --save")
    runs = sync_remotes(manager, remotes, dry_run=args.dry_run, progress=_progress(args))
    return _print_runs(args, runs)


def _print_runs(args: argparse.Namespace, runs: list[dict[str, Any]]) -> int:
    code = EXIT_OK
    reports = []
    for run in runs:
        name, sealed, data = run["name"], run["sealed"], run["report"]
        reports.append(data)
        if not run["ok"]:
            code = EXIT_PROVIDER
        mode = "sealed" if sealed else "native"
        title = (
            f"{'plan for ' if args.dry_run else ''}sync with {name} ({mode}), {data['seconds']}s:"
        )
        if not getattr(args, "json", False):
            _out(args, data, _report_text(data, title))
    if getattr(args, "json", False):
        _out(args, reports[0] if len(reports) == 1 else reports, "")
    return code


def _progress(args: argparse.Namespace) -> Any:
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, what: str) -> None:
        sys.stderr.write(f"\r{what}: {done}/{total}   ")
        sys.stderr.flush()
        if done >= total:
            sys.stderr.write("\n")

    return show


def agent_sync(args: argparse.Namespace, session: Any) -> int | None:
    """``sync --status``, ``--conflicts`` and a sync with a remote, run by the unlock
    agent; None for the forms that run here (interval, resolve, dismiss, bootstrap)."""
    if args.interval is not None or args.dismiss or args.resolve:
        return None
    if args.status:
        return _print_status(args, session.call("sync_status"))
    if args.conflicts:
        return _print_conflicts(args, session.call("sync_conflicts"))
    if not (args.all or args.provider):
        return None  # the usage error, as in-process
    show = _progress(args)
    runs = session.call(
        "sync_run",
        None if show is None else (lambda done, total: show(done, total, "sync")),
        provider=args.provider,
        sealed=bool(args.sealed),
        all_remotes=bool(args.all),
        save=bool(args.save),
        dry_run=bool(args.dry_run),
    )
    if not runs:
        raise ValidationError("No saved remotes: sync once with --provider NAME --save")
    return _print_runs(args, runs)


def _read_value_stdin(conflict: dict[str, Any]) -> Any:
    """The merged value, from stdin (never argv). A dict conflict takes JSON."""
    from core.input_limits import MAX_VALUE_BYTES, read_bounded

    data = read_bounded(sys.stdin.buffer, MAX_VALUE_BYTES + 2, "stdin")
    if not data:
        raise ValidationError("Give the merged value on stdin")
    text = data.decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    if conflict["field"].startswith("value[") or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            if conflict["field"].startswith("value["):
                return text
            raise ValidationError("The merged value looks like JSON but does not parse") from None
    return text


# ---------------------------------------------------------------------- merge


def handle_merge(args: argparse.Namespace, manager: SecretsManager) -> int:
    """Run ``merge`` (see the module docs); returns the exit code."""
    from core.service.sync import find_conflict_copies, merge

    vault = manager.vault
    if args.find:
        copies = [str(p) for p in find_conflict_copies(Path(vault.path))]
        _out(args, copies, "\n".join(copies) if copies else "no conflict copies beside the vault")
        return EXIT_OK
    if not args.other:
        output.note("vaultui: merge needs OTHER_VAULT_FILE (or --find)")
        return EXIT_USAGE
    other = Path(args.other).expanduser()
    if not other.exists():
        raise NotFoundError(f"No file {other}")
    data = merge(manager, other, dry_run=args.dry_run).to_dict()
    title = f"{'plan for ' if args.dry_run else ''}merge of {other.name}:"
    _out(args, data, _report_text(data, title))
    return EXIT_OK
