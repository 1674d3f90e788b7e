"""Secret commands: get, set, list, delete, undelete, history, rollback, describe, tag."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.tags import parse_tags, split_tag
from vaultui.batch import output
from vaultui.batch.context import Context
from vaultui.batch.fast import VALUE_TYPES, print_get, print_set, read_value, set_args


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the secret commands to the ``--batch`` parser."""
    p = sub.add_parser("get", parents=[common], help="print a secret's value")
    p.add_argument("name")
    p.add_argument("--field", help="one field of a dict secret (a.b for nested)")
    p.add_argument("--version", type=int, help="a past version")
    p.add_argument("--stage", help="CURRENT, PREVIOUS or PENDING")
    p.add_argument("-n", "--no-newline", action="store_true", help="no newline after a text value")
    p.add_argument(
        "-c",
        "--clip",
        action="store_true",
        help="copy to the clipboard instead of printing; cleared after "
        "VAULTUI_CLIPBOARD_CLEAR seconds (45)",
    )
    p.set_defaults(command_fn=cmd_get)

    p = sub.add_parser(
        "set",
        parents=[common],
        help="store a new version (value from stdin, --file or --generate; never argv)",
    )
    p.add_argument("name")
    p.add_argument("value_in_argv", nargs="?", help=argparse.SUPPRESS)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--file", type=Path, help="read the value from this file (as is)")
    src.add_argument(
        "--generate", metavar="SPEC", help="generate it: password:length=32, token:hex:32, uuid ..."
    )
    p.add_argument("--type", choices=VALUE_TYPES, default="str", help="value type (default str)")
    p.add_argument("--description")
    p.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="add a tag (repeatable)"
    )
    p.add_argument(
        "--expected-version",
        type=int,
        help="check-and-set: fail (exit 7) unless at this version; 0 = new",
    )
    p.set_defaults(command_fn=cmd_set)

    p = sub.add_parser(
        "list", parents=[common], help="list secrets (names and metadata, never values)"
    )
    p.add_argument("--filter", help="substring of the name or description (any case)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="K[=V]", help="only secrets with this tag"
    )
    p.add_argument("--deleted", action="store_true", help="include deleted secrets")
    p.add_argument("-l", "--long", action="store_true", help="type, version, updated, description")
    p.set_defaults(command_fn=cmd_list)

    for name, helptext in (
        ("delete", "delete a secret (undo with undelete until purged)"),
        ("undelete", "bring back a deleted secret"),
    ):
        p = sub.add_parser(name, parents=[common], help=helptext)
        p.add_argument("name")
        p.set_defaults(command_fn=cmd_simple, op=name)

    p = sub.add_parser(
        "history",
        parents=[common],
        help="show a secret's versions, or what changed between two (--diff A B)",
    )
    p.add_argument("name")
    p.add_argument(
        "--diff",
        nargs=2,
        type=int,
        metavar=("A", "B"),
        help="compare versions A and B: fields added, removed, changed (values masked)",
    )
    p.add_argument(
        "--reveal", action="store_true", help="with --diff: show the values and a line diff"
    )
    p.set_defaults(command_fn=cmd_history)

    p = sub.add_parser("rollback", parents=[common], help="make an old version current again")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.set_defaults(command_fn=cmd_rollback)

    p = sub.add_parser("describe", parents=[common], help="set a secret's description")
    p.add_argument("name")
    p.add_argument("--text", required=True)
    p.set_defaults(command_fn=cmd_describe)

    p = sub.add_parser("tag", parents=[common], help="add, change or remove tags")
    p.add_argument("name")
    p.add_argument("tags", nargs="*", metavar="K=V")
    p.add_argument("--remove", action="append", default=[], metavar="K", help="drop a tag")
    p.set_defaults(command_fn=cmd_tag)


def cmd_get(ctx: Context) -> int:
    """``get NAME [--field F] [--version N] [--stage S] [-n]``."""
    a = ctx.args
    args: dict[str, Any] = {"name": a.name}
    for key in ("field", "version", "stage"):
        if getattr(a, key) is not None:
            args[key] = getattr(a, key)
    result = ctx.session().call("get", **args)
    if a.clip:
        from vaultui.batch.clipboard import clip_result

        output.note(clip_result(result, ctx.settings.clipboard_clear_seconds))
        return 0
    print_get(result, json_mode=ctx.json, newline=not a.no_newline)
    return 0


def cmd_set(ctx: Context) -> int:
    """``set NAME`` with the value from stdin, ``--file`` or ``--generate``."""
    a = ctx.args
    if a.value_in_argv is not None:
        raise ValidationError(
            "Values are never taken from the command line (ps and shell history would show them)",
            hint="pipe the value on stdin, or use --file or --generate",
        )
    args = set_args(vars(a))
    if a.generate is None:
        args["value"] = _value(ctx)
    result = ctx.session(create=True).call("put", **args)
    print_set(result, json_mode=ctx.json)
    return 0


def _value(ctx: Context) -> Any:
    import sys

    a = ctx.args
    if a.file is not None:
        from core.input_limits import read_file_bounded

        return read_value(read_file_bounded(a.file), a.type, source=str(a.file))
    if ctx.preread_stdin is None and sys.stdin is not None and sys.stdin.isatty():
        if not ctx.can_prompt:
            raise ValidationError("No value: pipe it on stdin, or use --file or --generate")
        from vaultui.batch import context

        first = context.prompt_secret(f"Value for {a.name}: ")
        if context.prompt_secret("Again: ") != first:
            raise ValidationError("The two entries differ: nothing was stored")
        return read_value(first.encode("utf-8"), a.type, source="the prompt")
    return ctx.value_from_stdin(a.type)


def cmd_list(ctx: Context) -> int:
    """``list [--filter T] [--tag K[=V]] [--deleted] [-l]``."""
    a = ctx.args
    tags: dict[str, str | None] = {}
    for item in a.tag:
        key, value = split_tag(item)
        tags[key] = value
    records = ctx.session().call(
        "list", filter=a.filter, tags=tags or None, include_deleted=a.deleted
    )
    if ctx.json:
        output.emit(records)
    elif a.long:
        rows = [
            [
                r["name"] + (" (deleted)" if r["deleted"] else ""),
                r["type"],
                f"v{r['version']}",
                (r["updated_at"] or "")[:19].replace("T", " "),
                ",".join(f"{k}={v}" if v else k for k, v in sorted(r["tags"].items())),
                r["description"],
            ]
            for r in records
        ]
        output.table(rows, ["NAME", "TYPE", "VER", "UPDATED (UTC)", "TAGS", "DESCRIPTION"])
    else:
        # names alone stay pipeable; with --deleted a tombstone must not pass for a secret
        output.lines(r["name"] + ("  (deleted)" if r["deleted"] else "") for r in records)
    return 0


def cmd_history(ctx: Context) -> int:
    """``history NAME`` and ``history NAME --diff A B [--reveal]``."""
    a = ctx.args
    if a.diff is None:
        if a.reveal:
            raise ValidationError("--reveal goes with --diff A B")
        return cmd_simple(ctx)
    from core.version_diff import render_lines

    first, second = a.diff
    result = ctx.session().call(
        "history_diff", name=a.name, a=first, b=second, reveal=bool(a.reveal)
    )
    if ctx.json:
        output.emit(result)
    else:
        output.lines([f"{a.name}: v{first} -> v{second}", *render_lines(result, first, second)])
    return 0


def cmd_simple(ctx: Context) -> int:
    """``delete NAME``, ``undelete NAME``, ``history NAME``."""
    op = getattr(ctx.args, "op", "history")
    result = ctx.session().call(op, name=ctx.args.name)
    if ctx.json:
        output.emit(result)
    elif op == "history":
        rows = [
            [
                f"v{v['version']}",
                (v["created_at"] or "")[:19].replace("T", " "),
                v["who"],
                v["source"],
                v["stage"] or "",
                v["why"],
            ]
            for v in result
        ]
        output.table(rows, ["VER", "CREATED (UTC)", "WHO", "SOURCE", "STAGE", "WHY"])
    else:
        verb = "Deleted" if op == "delete" else "Restored"
        extra = (
            " (undo with `vaultui --batch undelete` until erased with `vaultui --batch purge`)"
            if op == "delete"
            else ""
        )
        output.note(f"{verb} {result['name']}{extra}")
    return 0


def cmd_rollback(ctx: Context) -> int:
    """``rollback NAME VERSION``."""
    a = ctx.args
    record = ctx.session().call("rollback", name=a.name, version=a.version)
    if ctx.json:
        output.emit(record)
    else:
        output.note(f"Rolled {a.name} back to version {a.version}: now version {record['version']}")
    return 0


def cmd_describe(ctx: Context) -> int:
    """``describe NAME --text TEXT``."""
    record = ctx.session().call("describe", name=ctx.args.name, text=ctx.args.text)
    if ctx.json:
        output.emit(record)
    else:
        output.note(f"Updated the description of {record['name']}")
    return 0


def cmd_tag(ctx: Context) -> int:
    """``tag NAME k=v ... [--remove K]``."""
    a = ctx.args
    if not a.tags and not a.remove:
        raise ValidationError("Give tags as key=value, or --remove KEY")
    record = ctx.session().call("tag", name=a.name, set=parse_tags(a.tags), remove=a.remove)
    if ctx.json:
        output.emit(record)
    else:
        shown = ", ".join(f"{k}={v}" if v else k for k, v in sorted(record["tags"].items()))
        output.note(f"Tags of {record['name']}: {shown or '(none)'}")
    return 0
