"""KeePass imports: KDBX databases (through pykeepass) and KeePassXC's CSV export.

Each entry becomes one dict secret named ``GROUP/SUBGROUP/TITLE`` (the root group left
out, labels made valid: ``Web Sites/GitHub (work)`` -> ``Web_Sites/GitHub_work``,
repeats numbered ``-2``, ``-3``) holding the non-empty fields among ``username``,
``password`` (always present), ``url``, ``notes``, ``totp`` and every custom
attribute. The original title is the description; KeePass tags become tags.
Entries in the recycle bin and attachments are not imported.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from core.errors import ConfigError, IntegrityError, ValidationError, WrongKeyError
from core.importexport.kdbx_header import check_kdbx_kdf
from core.importexport.names import dedupe, join
from core.tags import parse_tags

_FIELDS = ("username", "password", "url", "notes", "totp")


def _entry(
    groups: list[str], title: str, fields: dict[str, Any], tags: list[str], prefix: str
) -> dict[str, Any]:
    value = {k: v for k, v in fields.items() if v not in (None, "") or k == "password"}
    value["password"] = value.get("password") or ""
    return {
        "name": join([*groups, title or "entry"], prefix),
        "value": value,
        "description": title or "",
        # KeePass tags are words; "env=prod" is read as in the CLI, nameless ones dropped
        "tags": parse_tags(t for t in tags if t.partition("=")[0].strip()),
    }


def _finish(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for entry, name in zip(entries, dedupe([e["name"] for e in entries]), strict=True):
        entry["name"] = name
    return entries


def parse_kdbx(
    path: Path, password: str | None, keyfile: Path | None = None, prefix: str = ""
) -> list[dict[str, Any]]:
    """Entries of a KDBX 3/4 database. WrongKeyError for a wrong password or key file,
    IntegrityError for a damaged file, ConfigError if pykeepass is missing."""
    try:
        from pykeepass import PyKeePass
        from pykeepass.exceptions import (
            CredentialsError,
            HeaderChecksumError,
            PayloadChecksumError,
        )
    except ImportError:
        raise ConfigError(
            "KeePass import needs pykeepass", hint="pip install 'vaultui[keepass]'"
        ) from None
    try:
        check_kdbx_kdf(path)
    except FileNotFoundError:
        raise ValidationError(f"{path} does not exist") from None
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read ({exc.strerror})") from None
    try:
        db = PyKeePass(str(path), password=password, keyfile=str(keyfile) if keyfile else None)
    except CredentialsError:
        raise WrongKeyError(f"Wrong password or key file for the KeePass database {path}") from None
    except (HeaderChecksumError, PayloadChecksumError):
        raise IntegrityError(
            f"{path} is damaged or not a KeePass database",
            hint="check the file; vaultui reads KDBX 3.1 and 4",
        ) from None
    except FileNotFoundError:
        raise ValidationError(f"{path} does not exist") from None
    except Exception as exc:  # pykeepass raises construct/lxml errors for non-KDBX files
        raise ValidationError(f"{path} is not a KeePass database ({type(exc).__name__})") from None
    bin_group = db.recyclebin_group
    entries = []
    for item in db.entries:
        group = item.group
        if bin_group is not None and _inside(group, bin_group):
            continue
        fields: dict[str, Any] = {
            "username": item.username,
            "password": item.password,
            "url": item.url,
            "notes": item.notes,
            "totp": getattr(item, "otp", None),
        }
        props = dict(item.custom_properties or {})
        if not fields["totp"] and props.get("TOTP Seed"):
            # KeePassXC before 2.6 kept TOTP in two attributes instead of an otp URI
            from core.otp import legacy_keepassxc_uri

            uri = legacy_keepassxc_uri(props["TOTP Seed"], props.get("TOTP Settings"))
            if uri is not None:
                fields["totp"] = uri
                props.pop("TOTP Seed")
                props.pop("TOTP Settings", None)
        for key, value in props.items():
            if key.lower() not in _FIELDS and value:
                fields[key] = value
        groups = [g for g in (group.path or []) if g]
        entries.append(_entry(groups, item.title or "", fields, list(item.tags or []), prefix))
    return _finish(entries)


def _inside(group: Any, ancestor: Any) -> bool:
    while group is not None:
        if group.uuid == ancestor.uuid:
            return True
        group = group.parentgroup
    return False


def parse_keepassxc_csv(text: str, prefix: str = "") -> list[dict[str, Any]]:
    """Entries of a KeePassXC CSV export (``Group, Title, Username, Password, URL,
    Notes[, TOTP, ...]``). The first group segment (the root group) is left out."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    columns = {h.strip().lower(): i for i, h in enumerate(header)}
    if "title" not in columns or "password" not in columns:
        raise ValidationError(
            "Not a KeePassXC CSV export: the header needs Title and Password columns"
        )

    def col(row: list[str], name: str) -> str:
        i = columns.get(name)
        return row[i] if i is not None and i < len(row) else ""

    entries = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        groups = [g for g in col(row, "group").split("/") if g][1:]
        fields = {k: col(row, k) for k in _FIELDS}
        entries.append(_entry(groups, col(row, "title"), fields, [], prefix))
    return _finish(entries)
