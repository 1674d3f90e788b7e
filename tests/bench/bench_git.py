"""Benchmark: `git merge` of two diverged vault files through vaultui's merge driver.

    python -m tests.bench.bench_git            # 10,000 secrets, 1% changed on each side
    python -m tests.bench.bench_git --quick    # the same (the target is set at 10,000)

A repository holds a 10,000-secret vault; two branches each change a different 1% of
the secrets (100 each); `git merge` runs ``vaultui --batch git merge-driver`` as a real
child of git. The figure is the whole `git merge` command: git, the vaultui process, the
field-by-field merge and the verification of the result. Target: under 2 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.vault import Argon2Params, KeySource, Vault, write_new_key_file
from tests.bench.common import REPO, Row, child_env, cli_main, log, median

N = 10_000
STEP = 100  # 1% of the secrets on each side


def _git(repo: Path, env: dict[str, str], *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, env=env, check=True, capture_output=True)


def _change(path: Path, key: KeySource, names: list[str], value: str) -> None:
    vault = Vault.open(path, key)
    try:
        with vault.transaction():
            for name in names:
                vault.put(name, value)
    finally:
        vault.close()


def bench_git_merge(tmp: Path, runs: int) -> Row:
    """Time ``git merge`` of two branches that each changed 1% of N secrets."""
    repo = tmp / "repo"
    repo.mkdir()
    key_file = write_new_key_file(tmp / "vault.key")
    key = KeySource.from_key_file(key_file)
    env = child_env(
        VAULTUI_HOME=str(repo),
        VAULTUI_KEY_FILE=str(key_file),
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@example.invalid",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp),
    )
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    log(f"git merge: building a {N:,}-secret vault ...")
    vault = Vault.create(repo / "vault.db", key, kdf=Argon2Params.fast())
    with vault.transaction():
        for i in range(N):
            vault.put(f"app/service-{i // 100:04d}/secret-{i:06d}", f"value-{i}-{'x' * 24}")
    names = vault.names()
    vault.close()
    (repo / ".gitignore").write_text("device.id\nlogs/\n*.lock\n")
    _git(repo, env, "init", "-q", "-b", "main")
    subprocess.run(
        [sys.executable, "-m", "vaultui", "--batch", "git", "setup"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", "base")
    _git(repo, env, "branch", "other")
    ours, theirs = names[0::STEP], names[STEP // 2 :: STEP]  # 100 each, disjoint
    _change(repo / "vault.db", key, ours, "changed-on-main")
    _git(repo, env, "commit", "-q", "-am", "main side")
    _git(repo, env, "checkout", "-q", "other")
    _change(repo / "vault.db", key, theirs, "changed-on-other")
    _git(repo, env, "commit", "-q", "-am", "other side")
    _git(repo, env, "checkout", "-q", "main")
    _git(repo, env, "tag", "before")
    times = []
    for r in range(runs):
        if r:
            _git(repo, env, "reset", "-q", "--hard", "before")
        t0 = time.perf_counter()
        _git(repo, env, "merge", "-q", "--no-edit", "other")
        times.append(time.perf_counter() - t0)
    check = Vault.open(repo / "vault.db", key)
    try:
        check.verify()
        assert check.get(theirs[0]).value == "changed-on-other"
        assert check.get(ours[0]).value == "changed-on-main"
    finally:
        check.close()
    took = median(times)
    return Row(
        "merge",
        f"git merge of two {N:,}-secret vaults, {len(ours)} + {len(theirs)} changed (1% each)",
        round(took, 2),
        unit="s",
        target="< 2 s",
        ok=took < 2.0,
        note=f"whole `git merge` with vaultui's merge driver; median of {runs}",
    )


def run(quick: bool) -> list[Row]:
    """The rows for ``python -m tests.bench``."""
    with tempfile.TemporaryDirectory(prefix="vaultui-bench-git-") as tmp:
        return [bench_git_merge(Path(tmp), 3 if quick else 5)]


if __name__ == "__main__":
    sys.exit(cli_main(run))
