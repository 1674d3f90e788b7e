"""The vault file in git: two clones edit concurrently, `git pull` merges field by field.

Real git, two clones of one bare repository, vaultui started by git itself as its merge
and diff driver (``vaultui --batch git setup``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.vault import write_new_key_file
from tests.batch.conftest import Result, run_vaultui
from tests.conftest import clean_env

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

IGNORE = "vault.key\ndevice.id\nlogs/\nbackups/\n*.lock\n"


class Machine:
    """One clone of the repository, which is also that machine's vault home."""

    def __init__(self, repo: Path, key_file: Path | None) -> None:
        self.repo = repo
        self.env = clean_env(repo)
        if key_file is not None:
            self.env["VAULTUI_KEY_FILE"] = str(key_file)
        for k, v in {
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(repo.parent),
        }.items():
            self.env[k] = v

    def vaultui(self, *argv: str, stdin: bytes = b"") -> Result:
        return run_vaultui(self.repo, "--batch", *argv, stdin=stdin, env=self.env)

    def ok(self, *argv: str, stdin: bytes = b"") -> str:
        r = self.vaultui(*argv, stdin=stdin)
        assert r.code == 0, r.err
        return r.out

    def git(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            ["git", *argv], cwd=self.repo, env=self.env, capture_output=True, text=True
        )
        if check:
            assert out.returncode == 0, out.stderr + out.stdout
        return out

    def get(self, name: str) -> str:
        return self.ok("get", name, "-n")

    def get_dict(self, name: str) -> dict[str, object]:
        return json.loads(self.ok("get", name, "--json"))["value"]


@pytest.fixture
def machines(tmp_path: Path) -> tuple[Machine, Machine, Path]:
    key_file = write_new_key_file(tmp_path / "shared.key")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    a = Machine(tmp_path / "a" / "vaults", key_file)
    a.repo.mkdir(parents=True)
    a.git("init", "-q", "-b", "main")
    a.ok("set", "app/x", stdin=b"x0")
    a.ok("set", "app/y", stdin=b"y0")
    a.ok("set", "app/z", stdin=b"z0")
    a.ok("set", "app/w", stdin=b"w0")
    a.ok("set", "db/conf", "--type", "dict", stdin=b'{"host": "h0", "port": 5432}')
    (a.repo / ".gitignore").write_text(IGNORE)
    assert "added to .gitattributes" in a.ok("git", "setup")
    assert "already in .gitattributes" in a.ok("git", "setup")  # idempotent
    assert (a.repo / ".gitattributes").read_text().count("merge=vaultui") == 1
    a.git("add", "-A")
    a.git("commit", "-q", "-m", "vault")
    a.git("remote", "add", "origin", str(origin))
    a.git("push", "-q", "origin", "main")
    tracked = a.git("ls-files").stdout.split()
    assert "vault.key" not in tracked and "device.id" not in tracked

    b = Machine(tmp_path / "b" / "vaults", key_file)
    b.repo.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(b.repo)], check=True, env=b.env)
    b.ok("git", "setup")  # git config is per clone; .gitattributes came with the clone
    return a, b, key_file


def test_git_pull_merges_concurrent_edits_field_by_field(
    machines: tuple[Machine, Machine, Path],
) -> None:
    a, b, _ = machines
    # machine A: one secret, one field of the dict, a new secret, and the contested one
    a.ok("set", "app/x", stdin=b"x-from-a")
    a.ok("set", "db/conf", "--type", "dict", stdin=b'{"host": "h-a", "port": 5432}')
    a.ok("set", "app/new-a", stdin=b"na")
    a.ok("set", "app/w", stdin=b"w-from-a")
    a.git("commit", "-q", "-am", "a")
    a.git("push", "-q", "origin", "main")
    # machine B, concurrently: another secret, the other field, a delete, the same one
    b.ok("set", "app/y", stdin=b"y-from-b")
    b.ok("set", "db/conf", "--type", "dict", stdin=b'{"host": "h0", "port": 6543}')
    b.ok("delete", "app/z")
    b.ok("set", "app/w", stdin=b"w-from-b")
    b.git("commit", "-q", "-am", "b")

    pulled = b.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert "merged vault.db field by field" in pulled.stderr
    assert b.git("status", "--porcelain").stdout.strip() == ""  # clean merge, committed

    assert b.get("app/x") == "x-from-a"
    assert b.get("app/y") == "y-from-b"
    assert b.get("app/new-a") == "na"
    assert b.get_dict("db/conf") == {"host": "h-a", "port": 6543}
    assert b.vaultui("get", "app/z").code == 3  # the delete held (nobody edited it)
    # the true conflict: one side won by the merge rule, the other is kept for review
    assert b.get("app/w") in ("w-from-a", "w-from-b")
    conflicts = json.loads(b.ok("sync", "--conflicts", "--json"))
    assert [c["name"] for c in conflicts] == ["app/w"]
    # the merged file is a sound vault
    from core.vault import KeySource, Vault

    vault = Vault.open(b.repo / "vault.db", KeySource.from_key_file(machines[2]))
    try:
        vault.verify()
    finally:
        vault.close()

    # and it travels back: A pulls a fast-forward with everything
    b.git("push", "-q", "origin", "main")
    a.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert a.get("app/y") == "y-from-b"
    assert a.get_dict("db/conf") == {"host": "h-a", "port": 6543}


def test_git_diff_and_log_show_names_never_values(
    machines: tuple[Machine, Machine, Path],
) -> None:
    a, _, _ = machines
    a.ok("set", "app/x", stdin=b"very-secret-value-x1")
    a.ok("set", "app/added", stdin=b"very-secret-value-a1")
    a.ok("delete", "app/z")
    diff = a.git("diff").stdout
    assert "+app/added  v1" in diff
    assert "-app/x  v1" in diff and "+app/x  v2" in diff
    assert "+app/z  v1  rev 2  deleted" in diff
    assert "very-secret" not in diff
    a.git("commit", "-q", "-am", "edits")
    log = a.git("log", "-p").stdout
    assert "+app/added  v1" in log and "very-secret" not in log


def test_without_a_key_diff_shows_counts_and_no_names(
    machines: tuple[Machine, Machine, Path],
) -> None:
    a, _, _ = machines
    a.ok("set", "app/added", stdin=b"v")
    nokey = dict(a.env)
    nokey.pop("VAULTUI_KEY_FILE")
    diff = subprocess.run(
        ["git", "diff"], cwd=a.repo, env=nokey, capture_output=True, text=True, check=True
    ).stdout
    assert "-vaultui vault: 5 record(s); names hidden" in diff
    assert "+vaultui vault: 6 record(s); names hidden" in diff
    assert "app/" not in diff


def test_without_a_key_the_merge_is_an_ordinary_conflict_and_nothing_is_lost(
    machines: tuple[Machine, Machine, Path],
) -> None:
    a, b, _ = machines
    a.ok("set", "app/x", stdin=b"x-from-a")
    a.git("commit", "-q", "-am", "a")
    a.git("push", "-q", "origin", "main")
    b.ok("set", "app/y", stdin=b"y-from-b")
    b.git("commit", "-q", "-am", "b")
    nokey = dict(b.env)
    nokey.pop("VAULTUI_KEY_FILE")
    pulled = subprocess.run(
        ["git", "pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
        cwd=b.repo,
        env=nokey,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pulled.returncode != 0
    assert "git merge of vault.db not done" in pulled.stderr
    assert "vaultui --batch merge" in pulled.stderr
    # ours is untouched; theirs is one `git show` away
    assert b.get("app/y") == "y-from-b"
    theirs = b.repo / "theirs.db"
    theirs.write_bytes(
        subprocess.run(
            ["git", "show", "MERGE_HEAD:vault.db"], cwd=b.repo, capture_output=True, check=True
        ).stdout
    )
    b.ok("merge", str(theirs))
    assert b.get("app/x") == "x-from-a"


def test_setup_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(home, GIT_CEILING_DIRECTORIES=str(tmp_path))
    run_vaultui(home, "--batch", "set", "a", stdin=b"v", env=env)
    r = run_vaultui(home, "--batch", "git", "setup", env=env)
    assert r.code != 0
    assert "inside the git repository" in r.err
    assert os.path.exists(home / "vault.db")


def test_status_warns_when_the_key_file_would_travel(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_vaultui(home, "--batch", "set", "a", stdin=b"v", env=clean_env(home))
    env = clean_env(home, GIT_CEILING_DIRECTORIES=str(tmp_path))

    def warnings() -> list[str]:
        r = run_vaultui(home, "--batch", "status", "--json", env=env)
        assert r.code == 0, r.err
        return json.loads(r.out)["warnings"]

    assert warnings() == []
    subprocess.run(["git", "init", "-q", str(home)], check=True)
    [w] = warnings()
    assert "vault.key" in w and "git work tree" in w
    (home / ".gitignore").write_text("vault.key\n")
    assert warnings() == []  # ignored by git: it does not travel
    syncthing = tmp_path / "sync"
    (syncthing / ".stfolder").mkdir(parents=True)
    shome = syncthing / "home"
    run_vaultui(shome, "--batch", "set", "a", stdin=b"v", env=clean_env(shome))
    r = run_vaultui(shome, "--batch", "status", env=clean_env(shome))
    assert "WARNING" in r.out and "Syncthing folder" in r.out
    (syncthing / ".stignore").write_text("**/vault.key\n")
    r = run_vaultui(shome, "--batch", "status", env=clean_env(shome))
    assert "WARNING" not in r.out
