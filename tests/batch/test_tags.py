"""Tags are read one way wherever they are typed: ``set --tag``, ``tag``, ``list --tag``,
the fast path's ``set``, the app's editor line and KeePass imports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.tags import parse_tag_text, parse_tags, split_tag
from tests.batch.test_keepass import DATA, FIXTURE_PASSWORD
from vaultui.batch.fast import set_args
from vaultui.screens.editor_form import parse_tags as editor_tags


def test_one_syntax_for_cli_items_and_the_editor_line() -> None:
    items = [" env =prod", "team=pay=ments", "pci"]
    expected = {"env": "prod", "team": "pay=ments", "pci": ""}
    assert parse_tags(items) == expected
    # the fast path's `set` reads --tag as the full CLI does (the key trimmed)
    assert set_args({"name": "a", "tag": items})["tags"] == expected
    assert (
        editor_tags("env=prod, team=pay=ments pci")
        == expected
        == parse_tag_text("env=prod team=pay=ments,pci")
    )
    assert split_tag("pci") == ("pci", None) and split_tag("k=") == ("k", "")


@pytest.mark.parametrize("bad", ["=x", " =x", "  "])
def test_a_tag_without_a_name_is_refused_on_every_path(bad: str) -> None:
    with pytest.raises(ValidationError, match="has no name"):
        parse_tags([bad])
    with pytest.raises(ValidationError, match="has no name"):
        set_args({"name": "a", "tag": [bad]})
    if bad.strip():
        with pytest.raises(ValidationError, match="has no name"):
            editor_tags(bad)


def test_list_filters_by_a_tag_written_with_spaces_and_refuses_a_nameless_one(cli) -> None:
    cli("--batch", "set", "app/two", "--tag", "env=dev", stdin=b"other-value-2")
    cli("--batch", "set", "zeta", stdin=b"third-value-3")
    assert cli("--batch", "list", "--tag", " env=dev").out.split() == ["app/two"]
    r = cli("--batch", "list", "--tag", "=dev")
    assert r.code != 0 and "has no name" in r.err


def test_keepass_tags_written_key_value_become_tags_with_values(cli, tmp_path: Path) -> None:
    from pykeepass import PyKeePass

    path = tmp_path / "tags.kdbx"
    shutil.copy(DATA / "empty-lowkdf.kdbx", path)
    db = PyKeePass(str(path), password=FIXTURE_PASSWORD)
    db.add_entry(db.root_group, "svc", "u", "pw-kdbx-1", tags=["env=prod", "pci", "=junk"])
    db.save()
    pw = tmp_path / "kp.txt"
    pw.write_text(FIXTURE_PASSWORD + "\n")
    assert cli("--batch", "import", str(path), "--password-file", str(pw)).code == 0
    listed = json.loads(cli("--batch", "--json", "list").out)
    assert listed[0]["tags"] == {"env": "prod", "pci": ""}
