"""A team member joins from nothing through sealed sync: alice (the owner, a passphrase)
adds bob by his SSH public key and pushes the vault to OpenBao; bob, on an empty home
with only ``VAULTUI_IDENTITY`` and the provider settings, gets the vault, reads it,
writes, and syncs back; alice's next sync has bob's writes. Every step is a real
vaultui process against the real OpenBao server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from core.errors import EXIT_INTEGRITY, EXIT_WRONG_KEY
from tests.batch.conftest import run_vaultui
from tests.conftest import clean_env
from tests.sync.conftest import ProviderFactory

PROVIDER = "hashicorp_vault"


def _env(factory: ProviderFactory, home: Path, **extra: str) -> dict[str, str]:
    s = factory.settings(PROVIDER)
    return clean_env(
        home,
        VAULT_ADDR=s.vault_addr or "",
        VAULT_TOKEN=s.vault_token or "",
        VAULT_MOUNT_POINT=s.vault_mount_point,
        **extra,
    )


def _ok(result) -> str:
    assert result.code == 0, result.err
    return result.out


@pytest.fixture
def people(tmp_path: Path, factory: ProviderFactory) -> dict[str, dict[str, str]]:
    """Environments for alice (owner), bob (member by SSH key) and carol (no member)."""
    import pyrage

    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f", keys / "bob"],
        check=True,
    )
    carol = pyrage.x25519.Identity.generate()
    (keys / "carol.key").write_text(f"{carol}\n")
    (keys / "carol.key").chmod(0o600)
    pw = tmp_path / "alice.pw"
    pw.write_text("alice owner passphrase\n")
    return {
        "alice": _env(factory, tmp_path / "alice", VAULTUI_PASSPHRASE_FILE=str(pw)),
        "bob": _env(factory, tmp_path / "bob", VAULTUI_IDENTITY=str(keys / "bob")),
        "carol": _env(factory, tmp_path / "carol", VAULTUI_IDENTITY=str(keys / "carol.key")),
        "bob_pub": str(keys / "bob.pub"),
    }


def vaultui(env: dict[str, str], *argv: str, stdin: bytes = b""):
    return run_vaultui(Path(env["VAULTUI_HOME"]), "--batch", *argv, stdin=stdin, env=env)


def test_a_member_joins_on_an_empty_home_reads_writes_and_syncs_back(people) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    sync = ("sync", "--provider", PROVIDER, "--sealed")
    _ok(vaultui(alice, "set", "db/password", stdin=b"db-pw-OSPREY"))
    _ok(vaultui(alice, "set", "api/token", stdin=b"tok-first"))
    _ok(vaultui(alice, "members", "add", "bob", "--ssh-key", people["bob_pub"]))
    _ok(vaultui(alice, *sync))

    # bob has nothing but his SSH key and the provider's address
    bob_home = Path(bob["VAULTUI_HOME"])
    assert not (bob_home / "vault.db").exists()
    joined = vaultui(bob, "--json", *sync)
    assert joined.code == 0, joined.err
    assert sorted(json.loads(joined.out)["pulled"]) == ["api/token", "db/password"]
    assert "joined the team vault" in joined.err
    assert _ok(vaultui(bob, "get", "db/password")).strip() == "db-pw-OSPREY"
    # his file opens with his key only: he is a member there, not an owner
    assert "Only an owner" in vaultui(bob, "members", "add", "x", "--age-recipient", "a").err
    listed = json.loads(_ok(vaultui(bob, "--json", "members", "list")))
    assert [m["name"] for m in listed] == ["bob"]

    # bob writes; a normal sealed sync carries it back to alice
    _ok(vaultui(bob, "set", "bob/deploy-key", stdin=b"bob-wrote-HERON"))
    _ok(vaultui(bob, "set", "api/token", stdin=b"tok-rotated-by-bob"))
    _ok(vaultui(bob, *sync))
    pulled = json.loads(_ok(vaultui(alice, "--json", *sync)))["pulled"]
    assert sorted(pulled) == ["api/token", "bob/deploy-key"]
    assert _ok(vaultui(alice, "get", "bob/deploy-key")).strip() == "bob-wrote-HERON"
    assert _ok(vaultui(alice, "get", "api/token")).strip() == "tok-rotated-by-bob"

    # and alice's later writes reach bob
    _ok(vaultui(alice, "set", "db/password", stdin=b"db-pw-KESTREL"))
    _ok(vaultui(alice, *sync))
    _ok(vaultui(bob, *sync))
    assert _ok(vaultui(bob, "get", "db/password")).strip() == "db-pw-KESTREL"

    # someone who is no member gets nothing, and no file is left behind
    refused = vaultui(carol, *sync)
    assert refused.code == EXIT_WRONG_KEY, refused.err
    assert "not the key of a member" in refused.err
    carol_home = Path(carol["VAULTUI_HOME"])
    assert not carol_home.exists() or not any(carol_home.glob("*vault.db*"))


def test_after_removing_a_member_sealed_sync_says_the_copy_predates_the_rekey(people) -> None:
    """The provider's copy is sealed under the data key the removal replaced: the owner
    is told so, and not told to restore a backup (which would let the member back in)."""
    alice, bob = people["alice"], people["bob"]
    sync = ("sync", "--provider", PROVIDER, "--sealed")
    _ok(vaultui(alice, "set", "db/password", stdin=b"db-pw-OSPREY"))
    _ok(vaultui(alice, "members", "add", "bob", "--ssh-key", people["bob_pub"]))
    _ok(vaultui(alice, *sync))
    _ok(vaultui(bob, *sync))
    _ok(vaultui(alice, "members", "remove", "bob"))
    refused = vaultui(alice, *sync)
    assert refused.code == EXIT_INTEGRITY, refused.err
    assert "before this vault was rekeyed" in refused.err
    assert "do not restore a backup" in refused.err and "backup recover" not in refused.err
