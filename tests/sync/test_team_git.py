"""A team vault in git: alice (the owner, a passphrase) commits the vault with bob as a
member; bob clones the repository and, with only ``VAULTUI_IDENTITY`` (his SSH key),
reads it, writes, and both sides' ``git pull`` merge the file field by field through
vaultui's merge driver, run by real git with each person's own key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sync.test_git_driver import IGNORE, Machine

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def test_a_member_clones_reads_writes_and_merges_with_their_own_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f", keys / "bob"],
        check=True,
    )
    pw = tmp_path / "alice.pw"
    pw.write_text("alice owner passphrase\n")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)

    alice = Machine(tmp_path / "alice" / "vaults", None)
    alice.env["VAULTUI_PASSPHRASE_FILE"] = str(pw)
    alice.repo.mkdir(parents=True)
    alice.git("init", "-q", "-b", "main")
    alice.ok("set", "db/password", stdin=b"db-pw-PLOVER")
    alice.ok("members", "add", "bob", "--ssh-key", str(keys / "bob.pub"))
    (alice.repo / ".gitignore").write_text(IGNORE)
    alice.ok("git", "setup")
    alice.git("add", "-A")
    alice.git("commit", "-q", "-m", "team vault")
    alice.git("remote", "add", "origin", str(origin))
    alice.git("push", "-q", "origin", "main")

    bob = Machine(tmp_path / "bob" / "vaults", None)
    bob.env["VAULTUI_IDENTITY"] = str(keys / "bob")
    bob.repo.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(bob.repo)], check=True, env=bob.env)
    bob.ok("git", "setup")  # the drivers live in each clone's own config
    assert bob.get("db/password") == "db-pw-PLOVER"

    # both write; bob pushes first, alice's pull merges with her passphrase
    bob.ok("set", "bob/deploy-key", stdin=b"bob-wrote-AVOCET")
    bob.git("commit", "-q", "-am", "bob's key")
    bob.git("push", "-q", "origin", "main")
    alice.ok("set", "api/token", stdin=b"tok-TERN")
    alice.git("commit", "-q", "-am", "token")
    alice.git("pull", "-q", "--no-rebase", "origin", "main")
    assert alice.get("bob/deploy-key") == "bob-wrote-AVOCET"
    alice.git("push", "-q", "origin", "main")

    # and bob's pull merges with his identity alone
    bob.ok("set", "bob/other", stdin=b"bob-second")
    bob.git("commit", "-q", "-am", "bob again")
    bob.git("pull", "-q", "--no-rebase", "origin", "main")
    assert bob.get("api/token") == "tok-TERN"
    assert bob.get("bob/other") == "bob-second"
