"""``vaultui --batch`` rotation commands: ``rotate``, ``policy`` and ``rotation status``.

Registered with :func:`register`; each command runs as ``handler(args, manager)`` on
the unlocked SecretsManager, which hands its rotation manager to the command's
``rotation_handler`` (tests call that one directly)::

    args.rotation_handler(args, manager.rotation_manager)

Each handler takes the parsed arguments and a :class:`core.rotation.RotationManager`,
prints to ``out`` (stdout by default; JSON with ``--json``) and returns the exit code.
Core errors (NotFoundError, ValidationError, RotationError, ConflictError) propagate so
the CLI prints them with their title and hint and exits with their ``exit_code``.
No command takes a secret value: rotation makes the values.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime
from typing import Any, TextIO

from core.errors import EXIT_ERROR, EXIT_OK, ValidationError
from core.service.members import exposed_secrets
from core.service.rotation import (
    HOW_HOOKS_RUN,
    VIA_CHOICES,
    RotationManager,
    RotationResult,
    RotationStatus,
    format_duration,
    iso,
    needs_shell,
)
from core.text import plural
from vaultui.batch import output

__all__ = [
    "add_parser",
    "handle_policy",
    "handle_rotate",
    "handle_rotation_status",
    "register",
]


def add_parser(subparsers: Any) -> None:
    """Add ``rotate``, ``policy`` and ``rotation`` to an argparse subparsers object.

    Each sets ``rotation_handler`` to its handler (and ``handler`` to run it).
    """
    rotate = subparsers.add_parser(
        "rotate",
        help="rotate a secret now, every due secret, or run the rotation worker",
        description="Rotate NAME now (staged: PENDING -> apply/verify hooks -> CURRENT), "
        "rotate every due secret once (--due), or run the worker in the foreground "
        "(--daemon) until SIGTERM/SIGINT.",
    )
    rotate.add_argument("name", nargs="?", help="the secret to rotate now")
    mode = rotate.add_mutually_exclusive_group()
    mode.add_argument("--due", action="store_true", help="rotate every secret that is due")
    mode.add_argument("--daemon", action="store_true", help="run the rotation worker")
    rotate.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --daemon: seconds between checks (default VAULTUI_ROTATION_INTERVAL, 3600)",
    )
    _json_flag(rotate)
    rotate.set_defaults(
        rotation_handler=handle_rotate, handler=_on_rotation, agent_handler=agent_rotate
    )

    policy = subparsers.add_parser(
        "policy",
        help="show or set a secret's rotation policy, generator and hooks",
        description="POLICY is NEVER, HOURLY, DAILY, WEEKLY, MONTHLY, ON_ACCESS or an "
        "interval such as 90d or 12h. Without POLICY the current settings are shown. "
        "Hook commands receive values on stdin / in the environment, never in argv; "
        "they run without a shell (split like shlex) unless written sh:COMMAND, which "
        "runs /bin/sh -c COMMAND ($VAR, pipes, exit). "
        "An empty string removes a hook or the generator.",
    )
    policy.add_argument("name", help="the secret")
    policy.add_argument("policy", nargs="?", help="the rotation policy")
    policy.add_argument("--generator", metavar="SPEC", help="e.g. password:length=32")
    policy.add_argument(
        "--apply", metavar="CMD", help="command that installs the new value (sh:CMD for a shell)"
    )
    policy.add_argument(
        "--verify", metavar="CMD", help="command that tests the new value (sh:CMD for a shell)"
    )
    policy.add_argument("--timeout", type=float, metavar="SECONDS", help="per-hook time limit")
    policy.add_argument("--via", choices=VIA_CHOICES, help="how hooks get values (both)")
    _json_flag(policy)
    policy.set_defaults(
        rotation_handler=handle_policy, handler=_on_rotation, agent_handler=agent_policy
    )

    rotation = subparsers.add_parser("rotation", help="rotation schedule and worker state")
    rotation_sub = rotation.add_subparsers(dest="rotation_command", required=True)
    status = rotation_sub.add_parser(
        "status", help="every secret with a policy: last rotated, next due, state; workers"
    )
    _json_flag(status)
    status.set_defaults(
        rotation_handler=handle_rotation_status,
        handler=_on_rotation,
        agent_handler=agent_rotation_status,
    )


def _on_rotation(args: argparse.Namespace, manager: Any) -> int:
    """Run the parsed command's ``rotation_handler`` on the manager's rotation engine."""
    return args.rotation_handler(args, manager.rotation_manager)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``rotate``, ``policy`` and ``rotation`` to the CLI
    (through :func:`vaultui.batch.commands.register_handlers`)."""
    from vaultui.batch.commands import register_handlers

    register_handlers(sub, add_parser)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a global --json given before the command is not reset by this default
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def _emit(out: TextIO, data: Any) -> None:
    output.emit(data, out=out, sort_keys=True)


def handle_rotate(
    args: argparse.Namespace, manager: RotationManager, out: TextIO | None = None
) -> int:
    """``rotate NAME`` / ``rotate --due`` / ``rotate --daemon``."""
    out = out or sys.stdout
    as_json = getattr(args, "json", False)
    if args.daemon:
        if args.name:
            raise ValidationError("rotate --daemon takes no NAME")
        return _run_daemon(args, manager, out, as_json)
    if args.due:
        if args.name:
            raise ValidationError("rotate --due takes no NAME")
        return _print_due(manager.rotate_due(), out, as_json)
    if not args.name:
        raise ValidationError("rotate needs a NAME, --due or --daemon")
    return _print_rotated(manager.rotate(args.name, reason="manual"), out, as_json)


def _print_due(results: list[RotationResult], out: TextIO, as_json: bool) -> int:
    failed = [r for r in results if r.error]
    if as_json:
        _emit(out, {"results": [r.to_dict() for r in results]})
    else:
        if not results:
            out.write("Nothing is due.\n")
        for r in results:
            if r.rotated:
                out.write(f"rotated  {r.name} -> version {r.version}\n")
            elif r.error:
                out.write(f"FAILED   {r.name}: {r.error}\n")
            else:
                out.write(f"skipped  {r.name}: {r.skipped}\n")
    _warn(results)
    return EXIT_ERROR if failed else EXIT_OK


def _print_rotated(result: RotationResult, out: TextIO, as_json: bool) -> int:
    if as_json:
        _emit(out, result.to_dict())
    else:
        out.write(
            f"Rotated {result.name}: version {result.previous_version} -> {result.version} "
            "(the old value stays readable as PREVIOUS)\n"
        )
    _warn([result])
    return EXIT_OK


def agent_rotate(args: argparse.Namespace, session: Any) -> int | None:
    """``rotate NAME`` and ``rotate --due`` run by the unlock agent (None: ``--daemon``
    and usage errors run here)."""
    as_json = getattr(args, "json", False)
    if args.daemon or (args.due and args.name) or not (args.due or args.name):
        return None
    if args.due:
        results = [RotationResult(**r) for r in session.call("rotate_due")]
        return _print_due(results, sys.stdout, as_json)
    return _print_rotated(
        RotationResult(**session.call("rotate", name=args.name)), sys.stdout, as_json
    )


def agent_policy(args: argparse.Namespace, session: Any) -> int:
    """``policy NAME ...`` (show or set) run by the unlock agent."""
    hooks = _hooks_of(args)
    changing = bool(args.policy is not None or args.generator is not None or hooks)
    data = session.call(
        "rotation_policy",
        name=args.name,
        policy=args.policy,
        generator=args.generator,
        hooks=hooks or None,
    )
    if changing:
        _note_shell(hooks)
    return _print_policy(args, RotationStatus.from_dict(data), changing, sys.stdout)


def agent_rotation_status(args: argparse.Namespace, session: Any) -> int:
    """``rotation status`` run by the unlock agent."""
    data = session.call("rotation_status")
    return _print_schedule(
        args,
        sys.stdout,
        datetime.fromisoformat(data["now"]),
        [RotationStatus.from_dict(r) for r in data["secrets"]],
        data["workers"],
        data["rotation_active"],
        data["exposed"],
    )


def _warn(results: list[RotationResult]) -> None:
    """Say on stderr, JSON or not, which rotations left the real credential unchanged."""
    for r in results:
        if r.warning:
            sys.stderr.write(f"warning: {r.name}: {r.warning}\n")


def _run_daemon(
    args: argparse.Namespace, manager: RotationManager, out: TextIO, as_json: bool
) -> int:
    if args.interval is not None:
        if args.interval <= 0:
            raise ValidationError("--interval must be positive")
        manager.interval_seconds = float(args.interval)
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: manager.request_stop())
    try:
        sys.stderr.write(
            f"rotation worker {manager.owner} running: checks every "
            f"{format_duration(manager.interval_seconds)} ±{manager.jitter:.0%}; "
            "stop with SIGTERM or Ctrl-C\n"
        )
        sys.stderr.flush()
        cycles = manager.run_daemon()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    status = manager.get_status()
    if as_json:
        _emit(out, {"cycles": cycles, **status})
    else:
        out.write(
            f"rotation worker stopped after {plural(cycles, 'check')}: "
            f"{status['rotated']} rotated, {status['failed']} failed\n"
        )
    return EXIT_OK


def _hooks_of(args: argparse.Namespace) -> dict[str, Any]:
    return {
        key: getattr(args, key)
        for key in ("apply", "verify", "timeout", "via")
        if getattr(args, key, None) is not None
    }


def _note_shell(hooks: dict[str, Any]) -> None:
    for step in ("apply", "verify"):
        if needs_shell(hooks.get(step)):
            sys.stderr.write(f"vaultui: note: the {step} hook looks like shell: {HOW_HOOKS_RUN}\n")


def handle_policy(
    args: argparse.Namespace, manager: RotationManager, out: TextIO | None = None
) -> int:
    """``policy NAME [POLICY] [--generator SPEC] [--apply CMD] [--verify CMD] ...``."""
    hooks = _hooks_of(args)
    changing = bool(args.policy is not None or args.generator is not None or hooks)
    if changing:
        policy = args.policy if args.policy is not None else manager.info(args.name).policy
        manager.set_policy(args.name, policy, generator=args.generator, hooks=hooks or None)
        _note_shell(hooks)
    return _print_policy(args, manager.status(args.name), changing, out or sys.stdout)


def _print_policy(
    args: argparse.Namespace, status: RotationStatus, changing: bool, out: TextIO
) -> int:
    if getattr(args, "json", False):
        _emit(out, status.to_dict())
        return EXIT_OK
    verb = "Set" if changing else "Rotation of"
    out.write(f"{verb} {status.name}: policy {status.policy}\n")
    guessed = " (guessed: none set)" if status.generator_guessed else ""
    out.write(f"  generator  {status.generator}{guessed}\n")
    out.write(f"  apply      {status.hooks.apply or '-'}\n")
    out.write(f"  verify     {status.hooks.verify or '-'}\n")
    if status.hooks.configured:
        out.write(
            f"  hooks      timeout {status.hooks.timeout:g}s, values via {status.hooks.via}\n"
        )
    out.write(f"  next due   {_when(status.next_due)}\n")
    return EXIT_OK


def handle_rotation_status(
    args: argparse.Namespace, manager: RotationManager, out: TextIO | None = None
) -> int:
    """``rotation status [--json]``: the schedule, live workers and last failures."""
    now = manager.clock()
    workers = manager.workers()
    return _print_schedule(
        args,
        out or sys.stdout,
        now,
        manager.schedule(now),
        workers,
        bool(workers) or manager.is_running,
        exposed_secrets(manager.vault),
    )


def _print_schedule(
    args: argparse.Namespace,
    out: TextIO,
    now: datetime,
    rows: list[RotationStatus],
    workers: dict[str, Any],
    active: bool,
    exposed: list[dict[str, Any]],
) -> int:
    if getattr(args, "json", False):
        _emit(
            out,
            {
                "now": iso(now),
                "rotation_active": active,
                "workers": workers,
                "due": [r.name for r in rows if r.state in ("due", "overdue")],
                "secrets": [r.to_dict() for r in rows],
                "exposed": exposed,
            },
        )
        return EXIT_OK
    if not rows:
        out.write("No secret has a rotation policy. Set one with: policy NAME DAILY\n")
    else:
        width = max(len("NAME"), *(len(r.name) for r in rows))
        out.write(
            f"{'NAME':<{width}}  {'POLICY':<9}  {'LAST ROTATED':<20}  {'NEXT DUE':<20}  STATE\n"
        )
        for r in rows:
            due = _when(r.next_due)
            if r.next_due is not None:
                due += f" ({format_duration((r.next_due - now).total_seconds())})"
            out.write(
                f"{r.name:<{width}}  {r.policy:<9}  {_when(r.last_rotated):<20}  "
                f"{due:<20}  {r.state}\n"
            )
    if workers:
        for owner, info in workers.items():
            out.write(
                f"worker {owner}: running, last check {info.get('last_check') or '-'}, "
                f"next check {info.get('next_check') or '-'}\n"
            )
    else:
        out.write("worker: not running (start one with: rotate --daemon)\n")
    failed = [r for r in rows if r.last_error]
    for r in failed:
        out.write(f"last failure of {r.name}: {r.last_error}\n")
    _write_exposed(out, exposed)
    return EXIT_OK


def _write_exposed(out: TextIO, exposed: list[dict[str, Any]]) -> None:
    """The secrets a removed member could read, until each gets a new value."""
    if not exposed:
        return
    out.write(
        f"EXPOSED: {len(exposed)} secret(s) a removed member could read; rotate each "
        "(a new value clears the mark):\n"
    )
    width = max(len(e["name"]) for e in exposed)
    for e in exposed:
        out.write(
            f"  {e['name']:<{width}}  exposed to {', '.join(e['members'])} "
            f"(removed {e['exposed_at']})\n"
        )


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "-"
