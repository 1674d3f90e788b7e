"""Team vaults: alice (the owner, a passphrase) adds bob (an ssh-ed25519 key made with
ssh-keygen) and carol (an age key), each opens the vault in their own home with
``VAULTUI_IDENTITY`` in a real process; removing carol rekeys, marks every secret she
could read exposed until rotated, and her key reads nothing written afterwards."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from core.errors import EXIT_WRONG_KEY
from tests.batch.conftest import run_vaultui
from tests.conftest import clean_env
from tests.trail import home_events

PASSPHRASE = "alice owner passphrase"
LATE = b"written-after-carol-left-7f3a"


@pytest.fixture
def team(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, cli) -> dict[str, Path]:
    """alice's vault (two live secrets, one deleted) with bob (ssh) and carol (age)."""
    import pyrage

    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f", keys / "bob"],
        check=True,
    )
    carol = pyrage.x25519.Identity.generate()
    (keys / "carol.key").write_text(f"# carol's age identity\n{carol}\n")
    (keys / "carol.key").chmod(0o600)
    (keys / "carol.pub").write_text(str(carol.to_public()))
    pw = tmp_path / "alice.pw"
    pw.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    assert cli("--batch", "set", "db/password", stdin=b"db-first").code == 0
    assert cli("--batch", "set", "api/token", stdin=b"tok-first").code == 0
    assert cli("--batch", "set", "old/thing", stdin=b"gone").code == 0
    assert cli("--batch", "delete", "old/thing").code == 0
    r = cli("--batch", "members", "add", "bob", "--ssh-key", str(keys / "bob.pub"))
    assert r.code == 0, r.err
    r = cli(
        "--batch", "members", "add", "carol", "--age-recipient", (keys / "carol.pub").read_text()
    )
    assert r.code == 0, r.err
    return {"keys": keys, "pw": pw, "tmp": tmp_path}


def member_home(tmp: Path, who: str, vault_file: Path) -> Path:
    """A member's own home holding a copy of the shared vault file (a synced folder)."""
    h = tmp / f"home-{who}"
    h.mkdir(exist_ok=True)
    shutil.copy(vault_file, h / "vault.db")
    return h


def as_member(h: Path, identity: Path, *argv: str, stdin: bytes = b""):
    """A real vaultui process with only the member's identity: no passphrase, no key file."""
    return run_vaultui(
        h, "--batch", *argv, stdin=stdin, env=clean_env(h, VAULTUI_IDENTITY=str(identity))
    )


def test_members_list_and_open_the_vault_with_their_own_keys(cli, home, team):
    keys = team["keys"]
    listed = json.loads(cli("--batch", "--json", "members", "list").out)
    assert [(m["name"], m["kind"]) for m in listed] == [("bob", "ssh-ed25519"), ("carol", "age")]
    # the fingerprint is the one ssh-keygen prints for bob's public key
    ssh_fp = subprocess.run(
        ["ssh-keygen", "-lf", keys / "bob.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert listed[0]["fingerprint"] == ssh_fp
    assert listed[1]["fingerprint"] == (keys / "carol.pub").read_text()
    assert "bob@laptop" not in json.dumps(listed)  # the key's comment is not kept
    assert all(m["added_at"] and "passphrase" in m["added_by"] for m in listed)
    text = cli("--batch", "members", "list").out
    assert "bob" in text and ssh_fp in text

    for who, identity in (("bob", keys / "bob"), ("carol", keys / "carol.key")):
        h = member_home(team["tmp"], who, home / "vault.db")
        r = as_member(h, identity, "get", "db/password", "-n")
        assert (r.code, r.out) == (0, "db-first"), r.err
        # a member writes too: the vault is theirs to use
        assert as_member(h, identity, "set", f"from/{who}", stdin=b"x").code == 0

    # a key that is no member's opens nothing
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys / "mallory"], check=True
    )
    r = as_member(member_home(team["tmp"], "mallory", home / "vault.db"), keys / "mallory", "list")
    assert r.code == EXIT_WRONG_KEY and "not the key of any member" in r.err


def test_removing_carol_rekeys_and_queues_every_secret_she_could_read(cli, home, team, monkeypatch):
    keys, tmp = team["keys"], team["tmp"]
    carol_key = keys / "carol.key"
    old_copy = tmp / "before-removal.db"
    shutil.copy(home / "vault.db", old_copy)  # what carol may have kept

    r = cli("--batch", "--json", "members", "remove", "carol")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["member"] == "carol"
    assert result["exposed"] == ["api/token", "db/password"]  # live ones, not the deleted
    assert [s["label"] for s in result["slots_removed"]] == ["member carol"]
    assert result["slots_dropped"] == []
    listed = json.loads(cli("--batch", "--json", "members", "list").out)
    assert [m["name"] for m in listed] == ["bob"]
    assert cli("--batch", "set", "late", stdin=LATE).code == 0

    events = [e for e in home_events(home, _passphrase()) if e["operation"] == "member_remove"]
    assert len(events) == 1
    assert events[0]["success"] and events[0]["exposed"] == 2
    assert not [e for e in home_events(home, _passphrase()) if e["operation"] == "rekey"]
    assert events[0]["member"] == "carol" and "api/token" not in json.dumps(events)

    # queued for rotation until each gets a new value
    status = json.loads(cli("--batch", "rotation", "status", "--json").out)
    assert [(e["name"], e["members"]) for e in status["exposed"]] == [
        ("api/token", ["carol"]),
        ("db/password", ["carol"]),
    ]
    assert "EXPOSED: 2 secret(s)" in cli("--batch", "rotation", "status").out
    assert cli("--batch", "set", "db/password", stdin=b"db-rotated").code == 0
    status = json.loads(cli("--batch", "rotation", "status", "--json").out)
    assert [e["name"] for e in status["exposed"]] == ["api/token"]

    # carol's key no longer opens the current file ...
    r = as_member(member_home(tmp, "carol", home / "vault.db"), carol_key, "get", "late")
    assert r.code == EXIT_WRONG_KEY and LATE not in r.outb + r.errb
    # ... nor the new file with her old slot put back in (her key unwraps the OLD data
    # key, which reads nothing written after the removal)
    attacked = member_home(tmp, "carol-attack", home / "vault.db")
    with sqlite3.connect(old_copy) as src:
        rows = src.execute("SELECT kind, params, wrapped FROM key_slots").fetchall()
    conn = sqlite3.connect(attacked / "vault.db")
    with conn:
        conn.execute("DELETE FROM key_slots")
        conn.executemany("INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)", rows)
    conn.close()
    for argv in (("get", "late"), ("get", "db/password"), ("list",), ("export",)):
        r = as_member(attacked, carol_key, *argv)
        assert r.code != 0, argv
        assert LATE not in r.outb + r.errb and b"db-rotated" not in r.outb
    assert LATE not in (attacked / "vault.db").read_bytes()
    # the data key her old slot yields is not the new file's: every row written after
    # the removal is sealed under a key she never held
    from core.errors import WrongKeyError
    from core.vault import KeySource, Vault
    from core.vault.keys import KeySlot, unwrap

    with sqlite3.connect(old_copy) as src:
        vault_id = src.execute("SELECT value FROM header WHERE key = 'vault_id'").fetchone()[0]
        slots = [
            KeySlot(i, k, json.loads(p), w)
            for i, k, p, w in src.execute("SELECT id, kind, params, wrapped FROM key_slots")
        ]
    carols_key = unwrap(vault_id, slots, KeySource.identity(carol_key))
    with Vault.open(home / "vault.db", _passphrase()) as current:
        kept_key = current.data_key_for_agent() == carols_key  # never printed
    assert not kept_key, "the removal kept the data key carol holds"
    with pytest.raises(WrongKeyError):
        Vault.open(home / "vault.db", KeySource.data_key(carols_key))
    # the copy she kept still opens for her, as of the removal (documented)
    kept = member_home(tmp, "carol-kept", old_copy)
    r = as_member(kept, carol_key, "get", "db/password", "-n")
    assert (r.code, r.out) == (0, "db-first")
    assert as_member(kept, carol_key, "get", "late").code != 0

    # bob, still a member, reads what was written after (his slot was rewrapped from
    # his public key: nobody needed his private key)
    r = as_member(member_home(tmp, "bob", home / "vault.db"), keys / "bob", "get", "late", "-n")
    assert (r.code, r.outb) == (0, LATE), r.err


def _passphrase():
    from core.vault import KeySource

    return KeySource.passphrase(PASSPHRASE)


def test_only_an_owner_manages_members_and_keys(home, team):
    from core.vault import Vault

    keys, tmp = team["keys"], team["tmp"]
    h = member_home(tmp, "bob", home / "vault.db")
    r = as_member(h, keys / "bob", "members", "remove", "carol")
    assert r.code != 0 and "Only an owner" in r.err
    r = as_member(h, keys / "bob", "members", "add", "eve", "--age-recipient", "age1x")
    assert r.code != 0
    r = as_member(h, keys / "bob", "members", "list")
    assert r.code == 0 and "carol" in r.out
    # nor may a member drop the owner's slots or add a passphrase of their own
    r = as_member(h, keys / "bob", "rekey", "--drop-unavailable-slots")
    assert r.code != 0 and "Only an owner" in r.err
    new_pw = h / "new.pw"
    new_pw.write_text("bob's own passphrase\n")
    r = run_vaultui(
        h,
        "--batch",
        "passwd",
        env=clean_env(
            h, VAULTUI_IDENTITY=str(keys / "bob"), VAULTUI_NEW_PASSPHRASE_FILE=str(new_pw)
        ),
    )
    assert r.code != 0 and "Only an owner" in r.err
    assert Vault.slot_kinds(h / "vault.db") == ["passphrase", "age", "age"]


def test_hostile_or_wrong_keys_are_refused_clearly(cli, home, team):
    keys = team["keys"]
    # a private key where the public one belongs: refused without quoting it
    r = cli("--batch", "members", "add", "x", "--ssh-key", str(keys / "bob"))
    assert r.code != 0 and "private key" in r.err and "OPENSSH" not in r.err
    for bad in ("age1notakey", "ssh-dss AAAA", "ssh-ed25519 !!notbase64", "x" * 5000):
        r = cli("--batch", "members", "add", "x", "--age-recipient", bad)
        assert r.code != 0 and "unexpected" not in r.err, bad
    for name in ("", "-rf", "a b", "x" * 65, "bad\x1bname"):
        r = cli(
            "--batch", "members", "add", name, "--age-recipient", (keys / "carol.pub").read_text()
        )
        assert r.code != 0 and "unexpected" not in r.err, name
    r = cli(
        "--batch", "members", "add", "carol2", "--age-recipient", (keys / "carol.pub").read_text()
    )
    assert r.code != 0 and "already member 'carol'" in r.err
    r = cli("--batch", "members", "remove", "nobody")
    assert r.code != 0 and "No member named" in r.err

    # a passphrase-protected SSH key: said so, with the way out
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "dave pass", "-f", keys / "dave"], check=True
    )
    assert cli("--batch", "members", "add", "dave", "--ssh-key", str(keys / "dave.pub")).code == 0
    r = as_member(member_home(team["tmp"], "dave", home / "vault.db"), keys / "dave", "list")
    assert r.code != 0 and "protected by a passphrase" in r.err and "ssh-keygen -p" in r.err


def test_members_count_against_the_slot_bound(tmp_path):
    import pyrage

    from core.errors import ValidationError
    from core.vault import Argon2Params, KeySource, Vault
    from core.vault.kdf_bounds import MAX_KEY_SLOTS
    from core.vault.members import add_member_slot, parse_recipient

    vault = Vault.create(
        tmp_path / "v.db", KeySource.passphrase("owner pass"), kdf=Argon2Params.fast()
    )
    with vault:
        for i in range(MAX_KEY_SLOTS - 1):
            rec = parse_recipient(str(pyrage.x25519.Identity.generate().to_public()))
            add_member_slot(vault, f"m{i}", rec, "now", "test")
        rec = parse_recipient(str(pyrage.x25519.Identity.generate().to_public()))
        with pytest.raises(ValidationError, match="at most 32 key slots"):
            add_member_slot(vault, "one-too-many", rec, "now", "test")
    # and the file still opens with the owner's passphrase and with a member's key
    Vault.open(tmp_path / "v.db", KeySource.passphrase("owner pass")).close()


def test_an_identity_never_creates_a_vault(tmp_path, team):
    h = tmp_path / "empty-home"
    r = run_vaultui(
        h,
        "--batch",
        "set",
        "x",
        stdin=b"v",
        env=clean_env(h, VAULTUI_IDENTITY=str(team["keys"] / "carol.key")),
    )
    assert r.code != 0 and "cannot create one" in r.err
    assert not (h / "vault.db").exists()


def test_removal_is_all_or_nothing_when_an_owner_slot_cannot_be_rewrapped(cli, home, team):
    from core.vault import Argon2Params, KeySource, Vault

    with Vault.open(home / "vault.db", _passphrase()) as v:
        v.add_key_slot(KeySource.passphrase("a second owner's"), kdf=Argon2Params.fast())
    r = cli("--batch", "members", "remove", "carol")
    assert r.code != 0 and "Cannot rewrap 1 key slot" in r.err
    # nothing changed: carol is a member, her key opens the file, nothing is exposed
    names = [m["name"] for m in json.loads(cli("--batch", "--json", "members", "list").out)]
    assert names == ["bob", "carol"]
    h = member_home(team["tmp"], "carol", home / "vault.db")
    assert as_member(h, team["keys"] / "carol.key", "get", "api/token", "-n").out == "tok-first"
    assert json.loads(cli("--batch", "rotation", "status", "--json").out)["exposed"] == []

    r = cli("--batch", "--json", "members", "remove", "carol", "--drop-unavailable-slots")
    assert r.code == 0, r.err
    assert [s["kind"] for s in json.loads(r.out)["slots_dropped"]] == ["passphrase"]
