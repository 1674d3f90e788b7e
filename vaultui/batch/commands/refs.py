"""Secret references, as 1Password's ``op`` has them.

    vaultui --batch read 'vaultui://NAME#FIELD'         print one value or field
    vaultui --batch inject -i TEMPLATE [-o FILE]        render {{ vaultui://NAME#FIELD }}

``inject`` resolves every reference of a template in one ``resolve`` operation (one agent
round trip) before writing anything: an unknown secret or field stops it with an error
naming that reference, and no output file is created. The output file is created
exclusively with mode 0600 (``--force`` replaces an existing one atomically).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.errors import ConflictError, NotFoundError, StorageError, ValidationError
from vaultui.batch import output
from vaultui.batch.commands.run import REFERENCE, env_text, parse_ref
from vaultui.batch.context import Context
from vaultui.batch.fast import print_get

MAX_TEMPLATE_BYTES = 16 * 1024 * 1024
# {{ vaultui://NAME }} or {{vaultui://NAME#FIELD}}: names use letters, digits and _ . - /
TEMPLATE_REF = re.compile(r"\{\{\s*vaultui://([A-Za-z0-9_./-]+)(?:#([^\s{}]+))?\s*\}\}")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``read`` and ``inject``."""
    p = sub.add_parser(
        "read",
        parents=[common],
        help="print the value a vaultui://NAME[#FIELD] reference points to",
    )
    p.add_argument("reference", metavar="vaultui://NAME[#FIELD]")
    p.add_argument("-n", "--no-newline", action="store_true", help="no newline after a text value")
    p.set_defaults(command_fn=cmd_read)

    p = sub.add_parser(
        "inject",
        parents=[common],
        help="render {{ vaultui://NAME#FIELD }} references in a template",
        description="Replace every {{ vaultui://NAME }} or {{ vaultui://NAME#FIELD }} in the "
        "template with the value. All references are resolved before anything is written.",
    )
    p.add_argument(
        "-i", "--in-file", required=True, metavar="TEMPLATE", help="the template ('-': stdin)"
    )
    p.add_argument(
        "-o", "--out-file", type=Path, metavar="FILE", help="a new file, mode 0600 (default stdout)"
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(command_fn=cmd_inject)


def reference_of(text: str) -> tuple[str, str | None]:
    """``vaultui://NAME[#FIELD]`` -> (name, field or None); ValidationError otherwise."""
    if not text.startswith(REFERENCE):
        raise ValidationError(
            f"Not a secret reference: {text[:80]!r}",
            hint="use vaultui://NAME or vaultui://NAME#FIELD",
        )
    return parse_ref(text[len(REFERENCE) :])


def cmd_read(ctx: Context) -> int:
    """``read vaultui://NAME[#FIELD] [-n]``: like ``get NAME --field FIELD``."""
    name, field = reference_of(ctx.args.reference)
    args: dict[str, Any] = {"name": name}
    if field is not None:
        args["field"] = field
    result = ctx.session().call("get", **args)
    print_get(result, json_mode=ctx.json, newline=not ctx.args.no_newline)
    return 0


def cmd_inject(ctx: Context) -> int:
    """``inject -i TEMPLATE [-o FILE] [--force]``."""
    a = ctx.args
    template = _read_template(a.in_file)
    if a.out_file is not None and not a.force and os.path.lexists(a.out_file):
        raise ConflictError(f"{a.out_file} exists", hint="use --force to replace it")
    refs: list[tuple[str, str | None]] = []
    lines: dict[tuple[str, str | None], int] = {}
    for m in TEMPLATE_REF.finditer(template):
        ref: tuple[str, str | None] = (m.group(1), m.group(2))
        if ref not in lines:
            refs.append(ref)
            lines[ref] = template.count("\n", 0, m.start()) + 1
    values: dict[tuple[str, str | None], str] = {}
    if refs:
        try:
            resolved = ctx.session().call("resolve", refs=refs)
        except NotFoundError as exc:
            culprit = _culprit(refs, exc.message)
            if culprit is None:
                raise
            shown = REFERENCE + culprit[0] + (f"#{culprit[1]}" if culprit[1] else "")
            raise NotFoundError(
                f"Unknown reference {shown} on line {lines[culprit]}: {exc.message}; "
                "nothing written"
            ) from None
        for ref, value in zip(refs, resolved, strict=True):
            values[ref] = env_text(ref[0], value)
    rendered = TEMPLATE_REF.sub(lambda m: values[(m.group(1), m.group(2))], template)
    data = rendered.encode("utf-8")
    if a.out_file is None:
        output.write_out(data)
    else:
        _write_new(a.out_file, data, replace=a.force)
        if not ctx.json:
            output.note(f"Wrote {a.out_file} ({len(refs)} reference(s) resolved)")
    if ctx.json and a.out_file is not None:
        output.emit({"file": str(a.out_file), "references": len(refs)})
    return 0


def _culprit(refs: list[tuple[str, str | None]], message: str) -> tuple[str, str | None] | None:
    """The first reference a NotFoundError message is about (it names the secret, and
    the field when the field is what is missing)."""
    missing_field = "no field" in message
    for name, field in refs:
        if repr(name) not in message:
            continue
        if missing_field and (field is None or repr(field) not in message):
            continue
        return name, field
    return None


def _read_template(source: str) -> str:
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
        else:
            with open(source, "rb") as f:
                data = f.read(MAX_TEMPLATE_BYTES + 1)
    except FileNotFoundError:
        raise ValidationError(f"{source} does not exist") from None
    except OSError as exc:
        raise ValidationError(f"{source} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ValidationError("The template is larger than 16 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The template is not UTF-8 text (byte {exc.start})") from None


def _write_new(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to a new file at ``path`` (0600, O_EXCL), or with ``replace`` to a
    temporary file beside it renamed over ``path``; never a half-written file."""
    try:
        if replace:
            fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=".vaultui-inject-")
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd, tmp = os.open(path, flags, 0o600), str(path)
    except FileExistsError:
        raise ConflictError(f"{path} exists", hint="use --force to replace it") from None
    except OSError as exc:
        raise StorageError(f"Cannot create {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StorageError(f"Cannot write {path}: {exc.strerror}") from None
