"""``vaultui --batch audit export [--plain] [-o FILE]``: the trail as JSON lines.

Without ``--plain`` the lines go out as the trail holds them: secret names sealed, chain
fields intact (a copy that ``audit verify`` logic can still check). With ``--plain``
each event is decrypted (names, error messages, details) for a SIEM; that needs the
vault key. Either way the export is itself audited (operation ``audit_export``), and
``-o FILE`` is created new with mode 0600: an existing file is never replaced or
followed through a symlink.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from core.errors import EXIT_OK, KeyMissingError, StorageError, ValidationError
from core.service.audit import AuditLog, Filters

EXPORT_OP = "audit_export"
_STEP = 2000


Opener = Callable[[list[str]], list[Any]]
"""Opens a batch of raw trail lines elsewhere (the unlock agent's ``audit_open``)."""


def export_events(
    args: argparse.Namespace,
    log: AuditLog,
    filters: Filters,
    out: TextIO,
    opener: Opener | None = None,
) -> int:
    """Write the events matching ``filters`` to ``args.output`` (or ``out``); return the
    exit code. ``--plain`` opens names with the log's key or, without one, through
    ``opener``; raises :class:`KeyMissingError` when neither is at hand."""
    plain = bool(getattr(args, "plain", False))
    if plain and log.sealer is not None:
        opener = None
    elif plain and opener is None:
        raise KeyMissingError(
            "export --plain needs the vault key to decrypt secret names",
            hint="unlock with the agent, VAULTUI_PASSPHRASE_FILE, VAULTUI_KEY_FILE or a terminal",
        )
    target = getattr(args, "output", None)
    fh = _create(target) if target is not None else None
    count = 0
    try:
        count = _write(log, filters, fh if fh is not None else out, plain, opener)
    except BaseException:
        log.log(EXPORT_OP, success=False, plain=plain, count=count, error_message="interrupted")
        raise
    finally:
        if fh is not None:
            fh.close()
    log.log(
        EXPORT_OP,
        success=True,
        plain=plain,
        count=count,
        to="file" if target is not None else "stdout",
    )
    if target is not None:
        sys.stderr.write(f"wrote {count:,} events to {target}\n")
    return EXIT_OK


def _create(path: os.PathLike[str]) -> TextIO:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ValidationError(
            f"{os.fspath(path)} already exists", hint="export writes a new file; pick another name"
        ) from None
    except OSError as exc:
        raise StorageError(
            f"Cannot create {os.fspath(path)}: {exc.strerror or type(exc).__name__}"
        ) from None
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def _write(log: AuditLog, filters: Filters, out: TextIO, plain: bool, opener: Opener | None) -> int:
    view = log.view(filters)
    total = view.reload()
    count = 0
    for pos in range(0, total, _STEP):
        raws = [raw for raw in view.raw_lines(pos, _STEP) if raw]
        if plain and opener is not None:
            for event in opener(raws):
                if isinstance(event, dict):
                    out.write(json.dumps(event) + "\n")
                    count += 1
            continue
        for raw in raws:
            if plain:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                out.write(json.dumps(log.open(event)) + "\n")
            else:
                out.write(raw + "\n")
            count += 1
    out.flush()
    return count
