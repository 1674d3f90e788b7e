"""``vaultui --batch audit ...``: list, stats, verify, report, tail, alerts and export.

Registered with :func:`register` (``add_parser`` sets ``handler=run_audit``, called
as ``handler(args, manager)`` with an unlocked SecretsManager, or None when locked).
:func:`handle_audit` is the same command on a bare :class:`core.audit.AuditLog` (tests,
other callers)::

    handle_audit(args, audit_log, secrets=vault.list(), last_backup=newest_backup_time)

Every handler prints to ``out`` (stdout by default; JSON with ``--json``) and returns
the exit code: ``audit verify`` returns 5 (``EXIT_INTEGRITY``) when the chain is broken.
Core errors propagate so the CLI prints their title and hint.

The commands also run on a locked vault (no key configured, no agent, no terminal to
ask on): the chain is still checked line by line, and secret names, which the trail
holds sealed, show as ``<encrypted>``. ``export --plain`` alone needs the key. While an
unlock agent serves the vault, ``list``, ``stats``, ``verify`` and ``report`` run in it
(:func:`agent_audit`): names in clear and MACs checked, with no key in this process.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from core.errors import EXIT_INTEGRITY, EXIT_OK
from core.service.audit import FORMATS, AuditLog, Filters, display_fields
from core.service.audit import build_report as build
from core.service.audit_read_ops import last_backup_time
from vaultui.batch import output

__all__ = ["add_parser", "handle_audit", "register", "run_audit"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit`` (with list/stats/verify/report/tail/alerts) to argparse subparsers.

    Sets ``handler`` to :func:`run_audit` and ``audit_handler`` to :func:`handle_audit`.
    """
    audit = subparsers.add_parser(
        "audit",
        help="query, verify and report on the audit trail",
        description="The audit trail (logs/secrets_audit.log): one chained JSON line per "
        "operation. Nothing here shows a secret value; the trail holds none. Secret names "
        "are sealed in the file: they show in clear when the vault is unlocked, as "
        "<encrypted> when it is locked.",
    )
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND")
    sub.required = True

    lst = sub.add_parser("list", help="events matching filters (newest last)")
    _filters(lst)
    lst.add_argument(
        "-n",
        "--limit",
        type=int,
        default=50,
        help="show the newest N events (default 50; 0 for all)",
    )
    _json(lst)

    stats = sub.add_parser("stats", help="access statistics for one secret or the whole trail")
    stats.add_argument("name", nargs="?", help="the secret (default: every event)")
    _json(stats)

    verify = sub.add_parser("verify", help="check the hash chain; exit 5 if it is broken")
    _json(verify)

    report = sub.add_parser("report", help="compliance report (md, html, csv, json)")
    report.add_argument("--since", default="30d", help="period, e.g. 30d, 12h, 2w (default 30d)")
    report.add_argument("--format", choices=FORMATS, default="md", dest="report_format")
    report.add_argument("-o", "--output", type=Path, help="write to this file (0600)")
    report.add_argument(
        "--no-verify", action="store_true", help="skip the full chain check (faster on huge trails)"
    )

    tail = sub.add_parser("tail", help="the last events; -f to follow new ones")
    tail.add_argument("-n", "--lines", type=int, default=10, help="how many to show first")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    tail.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    _filters(tail)
    _json(tail)

    alerts = sub.add_parser("alerts", help="recent alerts (newest first)")
    alerts.add_argument("-n", "--limit", type=int, default=20)
    alerts.add_argument("--since", help="only alerts newer than this (24h, 7d, a date)")
    _json(alerts)

    export = sub.add_parser(
        "export",
        help="the filtered events as JSON lines (--plain: with secret names in clear)",
        description="Write the filtered events as JSON lines. Without --plain: the lines "
        "as the trail holds them (names sealed; the chain verifies). With --plain: one "
        "JSON object per event with secret names, error messages and details decrypted, "
        "for a SIEM; needs the vault key and is itself audited.",
    )
    _filters(export)
    export.add_argument(
        "--plain", action="store_true", help="decrypt secret names (needs the vault key)"
    )
    export.add_argument(
        "-o", "--output", type=Path, help="write to this new file (created 0600; never replaced)"
    )

    # the commands work on a locked vault too (names then show as <encrypted>)
    audit.set_defaults(
        handler=run_audit,
        audit_handler=handle_audit,
        agent_handler=agent_audit,
        needs_vault="optional",
    )
    return audit


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``audit`` and its subcommands to the CLI
    (through :func:`vaultui.batch.commands.register_handlers`)."""
    from vaultui.batch.commands import register_handlers

    register_handlers(sub, add_parser)


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret", help="secret name; comma list or glob (db/*)")
    p.add_argument("--operation", "--op", dest="operation", help="read, write, ... (comma list)")
    p.add_argument("--user", help="who")
    p.add_argument("--source", help="app, batch, api, worker, agent")
    ok = p.add_mutually_exclusive_group()
    ok.add_argument(
        "--failed", dest="success", action="store_const", const="failed", help="only failures"
    )
    ok.add_argument("--ok", dest="success", action="store_const", const="ok", help="only successes")
    p.add_argument("--since", help="24h, 7d, 2024-01-15 or 2024-01-15T10:30")
    p.add_argument("--until", help="same forms as --since")


def _filters_of(args: argparse.Namespace) -> Filters:
    return Filters.from_text(
        secret=args.secret,
        operation=args.operation,
        user=args.user,
        success=getattr(args, "success", None),
        since=args.since,
        until=args.until,
        source=args.source,
    )


def run_audit(args: argparse.Namespace, manager: Any) -> int:
    """The CLI plugin contract (``handler(args, manager)``): run the command on an
    unlocked :class:`core.secrets_manager.SecretsManager`'s audit log, with its secrets
    and newest backup time for ``report``."""
    if manager is None:
        return _run_locked(args)
    secrets = manager.vault.list() if args.audit_command == "report" else None
    last_backup = last_backup_time(manager) if args.audit_command == "report" else None
    return handle_audit(args, manager.audit_log, secrets=secrets, last_backup=last_backup)


def _run_locked(args: argparse.Namespace) -> int:
    """The command on the trail alone, without the vault key."""
    from core.config import Settings
    from core.errors import KeyMissingError

    settings = getattr(args, "settings", None) or Settings.from_env()
    opener = None
    if args.audit_command == "export" and args.plain:
        opener = _agent_opener(args, settings)
        if opener is None:
            raise KeyMissingError(
                "export --plain needs the vault key to decrypt secret names",
                hint="unlock with the agent, VAULTUI_PASSPHRASE_FILE, VAULTUI_KEY_FILE or a "
                "terminal",
            )
    with AuditLog(settings.audit_log_path, None, source="batch", user=settings.user) as log:
        if opener is not None:
            from vaultui.audit_export import export_events

            return export_events(args, log, _filters_of(args), sys.stdout, opener)
        return handle_audit(args, log)


def _agent_opener(args: argparse.Namespace, settings: Any) -> Any:
    """Open trail lines through the unlock agent serving this vault (it never hands out
    the key), or None when no agent serves it. Uses the command's context (and so its one
    connection to the agent, closed when the command ends)."""
    from vaultui.batch.context import Context

    ctx = getattr(args, "context", None) or Context(args, settings)
    if not ctx.agent_serves_us(ctx.agent_hello()):
        return None
    session = ctx.session()

    def opener(lines: list[str]) -> list[Any]:
        return list(session.call("audit_open", lines=lines))

    return opener


def handle_audit(
    args: argparse.Namespace,
    audit_log: AuditLog,
    *,
    secrets: Iterable[Any] | None = None,
    last_backup: datetime | None = None,
    out: TextIO | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Run ``vaultui --batch audit <command>``; return the exit code.

    ``secrets`` (the vault's records) and ``last_backup`` feed ``report``; ``stop`` ends
    ``tail -f`` (tests; otherwise it runs until Ctrl-C).
    """
    out = out or sys.stdout
    command = args.audit_command
    if audit_log.sealer is None and (getattr(args, "secret", None) or getattr(args, "name", None)):
        # sealed names cannot be matched without the key: say why counts may be short
        sys.stderr.write(
            "vaultui: the vault is locked: only lines written before names were sealed "
            "can be matched by name\n"
        )
    if command == "list":
        return _list(args, audit_log, out)
    if command == "stats":
        return _stats(args, audit_log, out)
    if command == "verify":
        return _verify(args, audit_log, out)
    if command == "report":
        return _report(args, audit_log, out, secrets, last_backup)
    if command == "tail":
        return _tail(args, audit_log, out, stop)
    if command == "alerts":
        return _alerts(args, audit_log, out)
    if command == "export":
        from vaultui.audit_export import export_events

        return export_events(args, audit_log, _filters_of(args), out)
    raise AssertionError(f"unknown audit command {command!r}")


def agent_audit(args: argparse.Namespace, session: Any) -> int | None:
    """``audit list/stats/verify/report`` run by the unlock agent, with secret names in
    clear (the agent holds the key that opens them); None for the other commands."""
    from core.service.audit import VerifyReport

    command, out = args.audit_command, sys.stdout
    if command == "list":
        filters = {
            "secret": args.secret,
            "operation": args.operation,
            "user": args.user,
            "success": getattr(args, "success", None),
            "since": args.since,
            "until": args.until,
            "source": args.source,
        }
        got = session.call("audit_list", limit=max(0, args.limit or 0), **filters)
        return _print_list(args, got["events"], got["total"], got["filters"], out)
    if command == "stats":
        return _print_stats(args, session.call("audit_stats", name=args.name), out)
    if command == "verify":
        return _print_verify(args, VerifyReport.from_dict(session.call("audit_verify")), out)
    if command == "report":
        text = session.call(
            "audit_report",
            since=args.since,
            report_format=args.report_format,
            verify=not args.no_verify,
        )
        return _write_report(args, text, out)
    return None


def _print_events(events: Iterable[dict[str, Any]], out: TextIO, as_json: bool) -> None:
    for event in events:
        if as_json:
            output.emit(event, out=out, compact=True)
        else:
            d = display_fields(event)
            out.write(
                f"{d['seq']:>8}  {d['time']}  {d['ok']}  {d['operation']:<10} "
                f"{d['secret']:<32} {d['user']:<12} {d['source']:<7} {d['error']}".rstrip()
                + "\n"
            )


def _list(args: argparse.Namespace, log: AuditLog, out: TextIO) -> int:
    view = log.view(_filters_of(args))
    total = view.reload()
    start = 0 if not args.limit else max(0, total - args.limit)
    rows = [view.row(i) for i in range(start, total)]
    events = [r.event for r in rows if r is not None and r.event is not None]
    return _print_list(args, events, total, view.filters.describe(), out)


def _print_list(
    args: argparse.Namespace, events: list[dict[str, Any]], total: int, described: str, out: TextIO
) -> int:
    if args.json:
        output.emit(events, out=out, compact=True)
    else:
        _print_events(events, out, False)
        word = "event" if total == 1 else "events"
        shown = f"{len(events):,} of {total:,}" if total > len(events) else f"{total:,}"
        out.write(f"({shown} {word}; {described})\n")
    return EXIT_OK


def _stats(args: argparse.Namespace, log: AuditLog, out: TextIO) -> int:
    return _print_stats(args, log.stats(args.name), out)


def _print_stats(args: argparse.Namespace, stats: dict[str, Any], out: TextIO) -> int:
    if args.json:
        output.emit(stats, out=out)
        return EXIT_OK
    out.write(f"secret:              {args.name or '(all)'}\n")
    for key in (
        "total_accesses",
        "successful_accesses",
        "failed_accesses",
        "accesses_last_hour",
        "accesses_last_24h",
        "failures_last_hour",
        "alerts",
    ):
        out.write(f"{key + ':':<21}{stats[key]:,}\n")
    out.write(f"{'last_access:':<21}{stats['last_access'] or 'never'}\n")
    ops = ", ".join(f"{k} {v:,}" for k, v in stats["operations"].items()) or "none"
    out.write(f"{'operations:':<21}{ops}\n")
    if stats["recent_accesses"]:
        out.write("recent:\n")
        _print_events(stats["recent_accesses"], out, False)
    return EXIT_OK


def _verify(args: argparse.Namespace, log: AuditLog, out: TextIO) -> int:
    return _print_verify(args, log.verify(), out)


def _print_verify(args: argparse.Namespace, report: Any, out: TextIO) -> int:
    if args.json:
        output.emit(report.to_dict(), out=out)
    else:
        out.write(report.summary() + "\n")
        for issue in report.issues[:20]:
            out.write(f"  error   {issue}\n")
        for issue in report.warnings[:20]:
            out.write(f"  warning {issue}\n")
        if not report.keyed:
            out.write("  (no audit key: line MACs were not checked; unlock the vault)\n")
    return EXIT_OK if report.ok else EXIT_INTEGRITY


def _report(
    args: argparse.Namespace,
    log: AuditLog,
    out: TextIO,
    secrets: Iterable[Any] | None,
    last_backup: datetime | None,
) -> int:

    text = build(
        log,
        args.since,
        args.report_format,
        secrets=secrets,
        last_backup=last_backup,
        verify=not args.no_verify,
    )
    return _write_report(args, text, out)


def _write_report(args: argparse.Namespace, text: str, out: TextIO) -> int:
    from core.private_file import write_private

    if args.output is None:
        out.write(text if text.endswith("\n") else text + "\n")
        return EXIT_OK
    # replaced, never written into: a file planted at the path gets nothing
    write_private(args.output, text.encode("utf-8"), replace=True)
    out.write(f"wrote {args.output}\n")
    return EXIT_OK


def _tail(
    args: argparse.Namespace, log: AuditLog, out: TextIO, stop: Callable[[], bool] | None
) -> int:
    view = log.view(_filters_of(args))
    total = view.reload()

    def emit(start: int, end: int) -> None:
        rows = (view.row(i) for i in range(start, end))
        _print_events(
            (r.event for r in rows if r is not None and r.event is not None), out, args.json
        )
        out.flush()

    emit(max(0, total - max(0, args.lines)), total)
    if not args.follow:
        return EXIT_OK
    try:
        while not (stop is not None and stop()):
            time.sleep(args.interval)
            before = len(view)
            if view.grow():
                emit(before, len(view))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _alerts(args: argparse.Namespace, log: AuditLog, out: TextIO) -> int:
    since = None
    if args.since:
        since_ts = Filters.from_text(since=args.since).start
        since = datetime.fromtimestamp(since_ts).astimezone() if since_ts else None
    alerts = log.recent_alerts(args.limit, since)
    if args.json:
        output.emit(alerts, out=out)
        return EXIT_OK
    if not alerts:
        out.write("no alerts\n")
    for a in alerts:
        d = display_fields(a)
        out.write(
            f"{d['time']}  {a.get('severity', 'warning'):<8} {a.get('rule', '?'):<18} "
            f"{a.get('message', '')}\n"
        )
    return EXIT_OK
