"""Import and export formats: ``.env``, JSON, KeePass KDBX and KeePassXC CSV.

Parsers turn a file into *entries*: dicts with ``name``, ``value`` (str, bytes or
dict) and optionally ``description`` and ``tags``. Renderers turn exported entries
(the same keys plus ``type``) into text. Nothing here touches the vault; writing the
entries is :func:`core.service.ops.import_entries`. Errors name entries by line or
name, never by value.

=============== ========= ========= ============================================
format          import    export    notes
=============== ========= ========= ============================================
dotenv          yes       yes       KEY=value; dicts as JSON, bytes as base64
json            yes       yes       ``vaultui-export/1`` round-trips types/tags
keepass         yes       no        KDBX 3/4 via pykeepass (``vaultui[keepass]``)
keepassxc-csv   yes       no        KeePassXC "Export to CSV"
pass            yes       no        a pass/gopass store folder, decrypted by gpg
=============== ========= ========= ============================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ValidationError

IMPORT_FORMATS = ("dotenv", "json", "keepass", "keepassxc-csv", "pass")
EXPORT_FORMATS = ("dotenv", "json")


def guess_format(path: Path) -> str | None:
    """The import format a file name suggests, or None."""
    name = path.name.lower()
    if path.is_dir():
        from core.importexport.pass_store import is_store

        return "pass" if is_store(path) else None
    if name.endswith(".kdbx"):
        return "keepass"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "keepassxc-csv"
    if name.startswith(".env") or name.endswith(".env"):
        return "dotenv"
    return None


MAX_IMPORT_BYTES = 256 * 1024 * 1024  # 100,000s of secrets; never an endless stream


def read_text(path: Path) -> str:
    """A text file's content (UTF-8, BOM dropped); ValidationError if unreadable,
    ValueTooLargeError past MAX_IMPORT_BYTES (read no further)."""
    from core.input_limits import read_bounded

    try:
        with open(path, "rb") as f:
            data = read_bounded(f, MAX_IMPORT_BYTES, str(path), "split the file into parts")
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read: {exc.strerror}") from None


def parse_file(
    path: Path,
    fmt: str,
    *,
    prefix: str = "",
    password: str | None = None,
    keyfile: Path | None = None,
) -> list[dict[str, Any]]:
    """The entries in ``path`` read as ``fmt`` (see IMPORT_FORMATS).

    ``password``/``keyfile`` open a KDBX database; ``prefix`` is put before every name.
    """
    if fmt == "keepass":
        from core.importexport.keepass import parse_kdbx

        return parse_kdbx(path, password, keyfile, prefix)
    if fmt == "pass":
        from core.importexport.pass_store import parse_store

        return parse_store(path, prefix)
    text = read_text(path)
    if fmt == "dotenv":
        from core.importexport.dotenv import parse

        return parse(text, prefix)
    if fmt == "json":
        from core.importexport.jsonfile import parse as parse_json

        return parse_json(text, prefix)
    if fmt == "keepassxc-csv":
        from core.importexport.keepass import parse_keepassxc_csv

        return parse_keepassxc_csv(text, prefix)
    raise ValidationError(f"Unknown import format {fmt!r}: use " + ", ".join(IMPORT_FORMATS))


def render(entries: list[dict[str, Any]], fmt: str) -> str:
    """Exported entries as ``fmt`` text (see EXPORT_FORMATS)."""
    if fmt == "dotenv":
        from core.importexport.dotenv import render as render_env

        return render_env(entries)
    if fmt == "json":
        from core.importexport.jsonfile import render as render_json

        return render_json(entries)
    raise ValidationError(f"Unknown export format {fmt!r}: use " + ", ".join(EXPORT_FORMATS))
