"""Team members benchmark: adding and removing a member of a 10,000-secret vault.

``python -m tests.bench.bench_members [--quick]`` (or ``python -m tests.bench``).

The vault is :func:`tests.bench.bench_vault.vault_fast_kdf`'s fixture (N = 10,000
secrets, a key-file slot and a passphrase slot at the near-free KDF), copied fresh for
each run. **add**: :func:`core.vault.members.add_member_slot` for an ssh-ed25519 key
(the data key encrypted to it with age, one slot written durably). **remove**:
:func:`core.members.revoke` of an age member: every live secret marked exposed, the
slot removed and the data key replaced (every record and version re-encrypted, the
other slots rewrapped), one durable transaction. Target: each under 2 s.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from core.members import revoke
from core.vault import KeySource, Vault
from core.vault.members import add_member_slot, parse_recipient
from tests.bench.bench_vault import PASSPHRASE, vault_fast_kdf, work_dir
from tests.bench.common import Row, cli_main, log, median

GROUP = "members"
N = 10_000
TARGET_S = 2.0


def _ssh_public_key(work: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", work / "bob"], check=True)
    return (work / "bob.pub").read_text()


def _one_run(src: Path, key_file: Path, scratch: Path, bob: str) -> tuple[float, float, int]:
    import pyrage

    shutil.copyfile(src, scratch)
    sources = [KeySource.from_key_file(key_file), KeySource.passphrase(PASSPHRASE)]
    carol = parse_recipient(str(pyrage.x25519.Identity.generate().to_public()))
    with Vault.open(scratch, sources[0]) as v:
        add_member_slot(v, "carol", carol, "now", "bench")
        start = time.perf_counter()
        add_member_slot(v, "bob", parse_recipient(bob), "now", "bench")
        added = time.perf_counter() - start
        start = time.perf_counter()
        result, live = revoke(v, "carol", sources)
        removed = time.perf_counter() - start
    assert len(live) == result.records
    with Vault.open(scratch, sources[1]) as v:  # the rewrapped passphrase slot opens it
        assert v.count() == len(live)
    return added, removed, result.records


def run(quick: bool) -> list[Row]:
    """The members rows (see the module docs)."""
    runs = 1 if quick else 3
    work = work_dir()
    try:
        log(f"  members fixture N={N:,} ...")
        src = vault_fast_kdf(N)
        key_file = src.parent / "vault.key"
        bob = _ssh_public_key(work)
        adds, removes = [], []
        for r in range(runs):
            added, removed, records = _one_run(src, key_file, work / f"run-{r}.db", bob)
            adds.append(added)
            removes.append(removed)
            log(f"  members run {r + 1}/{runs}: add {added:.3f} s, remove {removed:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    add_s, remove_s = median(adds), median(removes)
    return [
        Row(
            GROUP,
            f"add a member (ssh-ed25519), {records:,} secrets",
            round(add_s, 3),
            unit="s",
            target=f"< {TARGET_S:.0f} s",
            ok=add_s < TARGET_S,
            note=f"median of {runs}; age-encrypt the data key, one durable slot write",
        ),
        Row(
            GROUP,
            f"remove a member (rekey + mark exposed), {records:,} secrets",
            round(remove_s, 2),
            unit="s",
            target=f"< {TARGET_S:.0f} s",
            ok=remove_s < TARGET_S,
            note=f"median of {runs}; every record re-encrypted, {records:,} exposures",
        ),
    ]


def main() -> int:
    """Entry point of ``python -m tests.bench.bench_members``."""
    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
