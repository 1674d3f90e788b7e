"""Control characters never reach the terminal: labels with them are refused on every
write path, and text already stored (an older vault, another copy) is shown escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import EXIT_USAGE, ValidationError

# OSC 52 (set the clipboard), a screen clear and an 8-bit CSI
OSC52 = "deploy key \x1b]52;c;ZXZpbA==\x07 done"
CLEAR = "\x1b[2J"
CSI8 = "\x9b31m"


def _old_style_write(vault, monkeypatch: pytest.MonkeyPatch, name: str, **meta) -> None:
    """Write labels as a vault from before the check would have: bypass the check."""
    with monkeypatch.context() as m:
        m.setattr("core.vault.metadata.check_label", lambda text, what: text)
        m.setattr("core.vault.metadata.check_tags", lambda tags: tags)
        vault.put(name, "value-of-" + name, **meta)


@pytest.fixture
def old_vault(cli, settings, monkeypatch) -> None:
    """A vault holding a description and tags with raw control characters."""
    from core.unlock import open_vault

    assert cli("--batch", "set", "plain", stdin=b"plain-value").code == 0
    vault = open_vault(settings)
    try:
        _old_style_write(
            vault, monkeypatch, "evil", description=OSC52, tags={"t" + CLEAR: "v" + CSI8}
        )
    finally:
        vault.close()


def test_list_long_shows_escapes_never_raw_control_characters(cli, old_vault) -> None:
    r = cli("--batch", "list", "-l")
    assert r.code == 0
    for byte in (b"\x1b", b"\x07", b"\xc2\x9b"):
        assert byte not in r.outb and byte not in r.errb
    assert "deploy key \\x1b]52;c;ZXZpbA==\\x07 done" in r.out
    assert "t\\x1b[2J=v\\x9b31m" in r.out
    js = cli("--batch", "list", "--json")
    assert b"\x1b" not in js.outb and b"\xc2\x9b" not in js.outb
    evil = next(e for e in json.loads(js.out) if e["name"] == "evil")
    assert evil["description"] == OSC52  # --json is lossless: the same text, escaped JSON


def test_set_describe_and_tag_refuse_control_characters(cli) -> None:
    r = cli("--batch", "set", "a", "--description", OSC52, stdin=b"value-a")
    assert r.code == EXIT_USAGE
    assert "control character" in r.err and "\\x1b at position 12" in r.err
    assert b"\x1b" not in r.errb
    assert cli("--batch", "get", "a").code != 0  # nothing was written
    assert cli("--batch", "set", "a", stdin=b"value-a").code == 0
    for argv in (
        ("describe", "a", "--text", "line one\nline two"),
        ("describe", "a", "--text", CSI8),
        ("tag", "a", "env=prod" + CLEAR),
        ("tag", "a", "k\x7fey=v"),
    ):
        r = cli("--batch", *argv)
        assert r.code == EXIT_USAGE and "control character" in r.err, argv
        assert b"\x1b" not in r.errb
    record = json.loads(cli("--batch", "list", "--json").out)[0]
    assert record["description"] == "" and record["tags"] == {}
    # ordinary text, non-ASCII included, is fine
    assert cli("--batch", "describe", "a", "--text", "Zugangsdaten für äöü ✓").code == 0


def test_a_value_may_hold_newlines_and_tabs(cli) -> None:
    assert cli("--batch", "set", "multi", stdin=b"line1\n\tline2\n").code == 0
    assert cli("--batch", "get", "multi").outb == b"line1\n\tline2\n"


def test_import_refuses_an_entry_with_control_characters(cli, tmp_path: Path) -> None:
    data = {
        "format": "vaultui-export/1",
        "secrets": [
            {"name": "good", "type": "str", "value": "good-value"},
            {"name": "bad", "type": "str", "value": "v", "description": OSC52},
        ],
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    r = cli("--batch", "import", str(path))
    assert r.code == EXIT_USAGE
    assert "Entry 2 ('bad')" in r.err and "control character" in r.err
    assert b"\x1b" not in r.errb
    assert json.loads(cli("--batch", "list", "--json").out) == []  # nothing written
    data["secrets"][1] = {"name": "bad", "type": "str", "value": "v", "tags": {"x": CSI8}}
    path.write_text(json.dumps(data))
    assert cli("--batch", "import", str(path)).code == EXIT_USAGE


def test_the_facade_refuses_control_characters(manager) -> None:
    with pytest.raises(ValidationError, match="control character"):
        manager.store_secret("a", "value", OSC52)
    assert not manager.list_secrets()


def test_merge_writes_another_copys_control_characters_escaped(
    cli, settings, home: Path, monkeypatch
) -> None:
    import shutil

    from core.vault import KeySource, Vault

    assert cli("--batch", "set", "shared", stdin=b"v1").code == 0
    copy = home.parent / "copy.db"
    shutil.copy(home / "vault.db", copy)
    with Vault.open(copy, KeySource.from_key_file(home / "vault.key")) as other:
        _old_style_write(other, monkeypatch, "from-copy", description=OSC52)
    from core.secrets_manager import SecretsManager

    mgr = SecretsManager(settings)
    try:
        mgr.merge(str(copy))
        rec = mgr.vault.record("from-copy")
        assert rec is not None and "\x1b" not in rec.description
        assert rec.description == "deploy key \\x1b]52;c;ZXZpbA==\\x07 done"
    finally:
        mgr.close()
