"""``grep PATTERN`` (which secrets hold a matching value) and ``scan PATH ...`` (which
files hold a stored value). Both print names, never values."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import EXIT_NOT_FOUND, ValidationError
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``grep`` and ``scan``."""
    p = sub.add_parser(
        "grep",
        parents=[common],
        help="names of secrets whose value matches a pattern (exit 3 if none)",
    )
    p.add_argument(
        "pattern",
        nargs="?",
        help="a Python regular expression (or text with -F); visible in ps: prefer -f",
    )
    p.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="read the patterns from FILE, one per line ('-' for stdin); any may match",
    )
    p.add_argument("-F", "--fixed", action="store_true", help="the pattern is plain text")
    p.add_argument("-i", "--ignore-case", action="store_true")
    p.set_defaults(command_fn=cmd_grep)

    p = sub.add_parser(
        "scan",
        parents=[common],
        help="search files for any stored value (file, line, secret name; exit 1 on a hit)",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument(
        "--min-length", type=int, default=6, help="ignore values shorter than this (default 6)"
    )
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    p.add_argument(
        "--max-size", type=int, default=10 * 1024 * 1024, help="skip larger files (bytes)"
    )
    p.add_argument(
        "--exit-code", type=int, default=1, help="exit code when something is found (default 1)"
    )
    p.set_defaults(command_fn=cmd_scan)


def cmd_grep(ctx: Context) -> int:
    """Print the names (with matching fields of dict secrets) whose value matches."""
    a = ctx.args
    pattern, fixed = _pattern(a)
    hits = ctx.session().call(
        "grep",
        pattern=pattern,
        ignore_case=a.ignore_case,
        fixed=fixed,
        progress=output.Progress("grep"),
    )
    if ctx.json:
        output.emit({"matches": hits})
    else:
        output.lines(
            h["name"] + (f"  (fields: {', '.join(h['fields'])})" if h["fields"] else "")
            for h in hits
        )
    return 0 if hits else EXIT_NOT_FOUND


def _pattern(a: argparse.Namespace) -> tuple[str, bool]:
    """The one pattern to search for, and whether it is literal text.

    ``-f FILE`` (or ``-f -``: stdin) keeps the pattern out of argv, where ``ps`` and
    shell history would show it; its lines are alternatives, as in grep.
    """
    import re
    import sys

    from core.input_limits import read_bounded, read_file_bounded

    if a.file is None:
        if a.pattern is None:
            raise ValidationError(
                "Give a pattern", hint="use -f FILE or -f - (stdin) to keep it out of ps"
            )
        return a.pattern, a.fixed
    if a.pattern is not None:
        raise ValidationError("Give the pattern either on the command line or with -f, not both")
    hint = "a pattern file holds at most 1 MiB"
    if a.file == "-":
        data = read_bounded(sys.stdin.buffer, 1 << 20, "stdin", hint)
    else:
        data = read_file_bounded(a.file, 1 << 20, hint)
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValidationError(f"The patterns in {a.file} are not UTF-8 text") from None
    patterns = [line for line in lines if line]
    if not patterns:
        raise ValidationError(f"No pattern in {'stdin' if a.file == '-' else a.file}")
    if not a.fixed:
        for n, p in enumerate(patterns, 1):
            try:
                re.compile(p)
            except re.error as exc:
                raise ValidationError(f"Bad pattern on line {n}: {exc.msg}") from None
    if len(patterns) == 1:
        return patterns[0], a.fixed
    if a.fixed:
        return "|".join(re.escape(p) for p in patterns), False
    return "|".join(f"(?:{p})" for p in patterns), False


def cmd_scan(ctx: Context) -> int:
    """Print ``file:line: secret`` for every stored value found; exit non-zero on a hit."""
    from vaultui.batch.scanner import ValueMatcher, scan

    a = ctx.args
    if a.min_length < 1:
        raise ValidationError("--min-length must be at least 1")
    missing = [str(p) for p in a.paths if not p.exists()]
    if missing:
        raise ValidationError("No such file or folder: " + ", ".join(missing))
    values = ctx.session().call("scan_values", min_length=a.min_length)
    ctx.close()
    matcher = ValueMatcher(values)
    del values
    progress = output.Progress("files scanned")
    hits, files, skipped = scan(
        matcher, a.paths, excludes=a.exclude, max_size=a.max_size, progress=progress
    )
    progress.done()
    if ctx.json:
        output.emit(
            {
                "hits": [
                    {"path": h.path, "line": h.line, "secret": h.secret, "field": h.field}
                    for h in hits
                ],
                "files_scanned": files,
                "values_searched": len(matcher),
                "skipped": skipped,
            }
        )
    else:
        output.lines(
            f"{h.path}:{h.line}: {h.secret}" + (f" (field {h.field})" if h.field else "")
            for h in hits
        )
        for item in skipped:
            output.note(f"vaultui: skipped {item}")
        where = len({h.path for h in hits})
        output.note(
            f"scan: {len(hits)} stored value(s) found in {where} file(s); "
            f"{files} file(s) scanned for {len(matcher)} value(s)"
        )
    return a.exit_code if hits else 0
