"""Rotation benchmark: due()/schedule() over many secrets and the cost of one rotation.

Run: python -m tests.bench.bench_rotation   (prints a table; not a pytest test)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.rotation import RotationManager
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file

START = datetime(2025, 1, 1, tzinfo=UTC)


def timed(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        key = write_new_key_file(folder / "k")
        vault = Vault.create(folder / "v.db", KeySource.from_key_file(key), kdf=Argon2Params.fast())
        clock = [START]
        mgr = RotationManager(vault, clock=lambda: clock[0], env={"PATH": "/usr/bin:/bin"})
        total = 0
        for size in (1_000, 10_000):
            with vault.transaction():
                for i in range(total, size):
                    vault.put(
                        f"svc/{i:06d}",
                        "value",
                        at=START,
                        rotation={"policy": "daily" if i % 2 else "weekly"},
                    )
            total = size
            clock[0] = START + timedelta(days=2)
            rows.append((f"due() over {size:,} secrets", timed(lambda: mgr.due(), 3)))
            rows.append((f"schedule() over {size:,} secrets", timed(lambda: mgr.schedule(), 3)))
        vault.put("bench/token", "v", at=START)
        mgr.set_policy("bench/token", "DAILY", generator="token:urlsafe:32")
        rows.append(("rotate(), no hooks", timed(lambda: mgr.rotate("bench/token"), 20)))
        mgr.set_policy("bench/token", "DAILY", hooks={"apply": "true", "verify": "true"})
        rows.append(
            ("rotate(), apply+verify = /bin/true", timed(lambda: mgr.rotate("bench/token"), 20))
        )
        mgr.set_policy("bench/token", "DAILY", generator="keypair:rsa:3072", hooks={})
        rows.append(("rotate(), keypair:rsa:3072", timed(lambda: mgr.rotate("bench/token"), 5)))
        vault.close()
    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  median")
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds * 1000:9.1f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
