"""Benchmark of backups: ``python -m tests.bench.bench_backup [--secrets N]``.

Builds a vault of N secrets (default 100,000) in a temporary folder, then measures:

- a full backup (target < 2 s) and its size;
- verify of that backup;
- restore of the full backup when nothing changed (read, check, compare: no writes);
- an incremental backup after changing 1% of the secrets (target < 10% of the full
  backup's time and size);
- restore of the full backup over those 1% changes (target < 3 s);
- restore when EVERY secret changed, and disaster recovery into a new vault file:
  these write N new versions, with ``Vault.put`` (~150-250 µs per put) and with the
  ``Vault.put_many`` batch path proposed to the vault's owner (prototype below,
  ``--no-put-many`` to skip it).

Prints a table; nothing here is a pytest test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.backup import BackupManager, restore_backup_file
from core.vault import Argon2Params, KeySource, Vault

PASSPHRASE = "bench passphrase"


# ---------------------------------------------------------------------------------------
# PROTOTYPE proposed for core/vault/store.py (owned by the vault's author): a batch
# version of ``put`` with exactly the effect of calling ``put`` for each item in order
# inside one transaction, without per-call overhead: one lookup query per 500 names,
# executemany for the rows, and each record's row written (and its digest folded) once
# per batch however many versions the batch adds. core/backup uses ``vault.put_many``
# when the vault has it. Checked here by ``vault.verify()`` after use.
# ---------------------------------------------------------------------------------------


def proposed_put_many(vault: Vault, items: Iterable[tuple[str, Any, dict[str, Any]]]) -> int:
    """Store many (name, value, put-options) in order; returns how many were stored."""
    import json

    from core.vault import store
    from core.vault.codec import encode_value, type_of_encoded
    from core.vault.names import validate_name
    from core.vault.records import utcnow

    items = list(items)
    for name, _value, options in items:
        validate_name(name)
        if options.get("expected_version") is not None:
            raise ValueError("put_many does not do check-and-set")
    encoded_all = [encode_value(value) for _n, value, _o in items]
    with vault.transaction():
        conn, keys = vault._conn, vault._keys
        hashes = {name: vault._name_hash(name) for name, _v, _o in items}
        rows: dict[bytes, tuple] = {}
        wanted = list(set(hashes.values()))
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {vault._REC_COLS} FROM records WHERE name_hash IN ({marks})", chunk
            ):
                rows[row[1]] = row
        state: dict[str, dict[str, Any]] = {}  # name -> m (latest), with _orig row
        versions = []
        default_now = utcnow().timestamp()
        for (name, _value, options), encoded in zip(items, encoded_all, strict=True):
            m = state.get(name)
            if m is None:
                row = rows.get(hashes[name])
                if row is None:
                    m = {"_uid": os.urandom(16), "_rev": 0, "_seq": 0, "_del": 0, "n": name,
                         "mv": 0, "_orig": None, "_puts": 0}  # fmt: skip
                else:
                    m = vault._open_meta(row)
                    m.update(_orig=row, _puts=0)
                state[name] = m
            at = options.get("at")
            now = at.timestamp() if at is not None else default_now
            if m["_orig"] is None and m["_puts"] == 0:
                m["c"] = now
            previous = m.get("v") if (m["_orig"] is not None or m["_puts"]) else None
            version = int(m.get("mv", m.get("v", 0)) or 0) + 1
            m.update(v=version, mv=version, t=type_of_encoded(encoded), s=len(encoded) - 1,
                     u=now, dev=vault.device_id, _del=0)  # fmt: skip
            m.pop("x", None)
            if options.get("description") is not None:
                m["d"] = str(options["description"])
            m.setdefault("d", "")
            if options.get("tags") is not None:
                m["g"] = store._clean_tags(options["tags"])
            for opt, key in (("rotation", "r"), ("extra", "e")):
                if options.get(opt) is not None:
                    m[key] = options[opt]
            st = dict(m.get("st") or {})
            if previous:
                st["PREVIOUS"] = previous
            m["st"] = st
            info = vault._info(
                encoded, options.get("who"), options.get("why"), options.get("source"), now
            )
            versions.append((m["_uid"], version, encoded, info))
            m["_puts"] += 1
            m["_seq"] = vault._next_seq()
        seal = keys.sealer.seal
        version_rows = []
        for uid, version, encoded, info in versions:
            value_ct = seal(encoded, vault._value_aad(uid, version))
            info_ct = seal(
                json.dumps(info, separators=(",", ":")).encode(), vault._info_aad(uid, version)
            )
            version_rows.append((uid, version, value_ct, info_ct))
            vault._fold(vault._ver_digest(value_ct, info_ct))
        conn.executemany("INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)",
                         version_rows)  # fmt: skip
        inserts, updates = [], []
        for name, m in state.items():
            uid, nh, orig = m["_uid"], hashes[name], m["_orig"]
            rev = (orig[2] if orig else 0) + m["_puts"]
            body = [m.get(k) for k in store._META_KEYS]
            meta_ct = seal(
                json.dumps(body, separators=(",", ":")).encode(),
                vault._meta_aad(uid, rev, m["_seq"], 0, nh),
            )
            if orig is None:
                name_ct = seal(name.encode(), vault._name_aad(uid, nh))
                inserts.append((uid, nh, rev, m["_seq"], 0, name_ct, meta_ct, m["v"]))
            else:
                name_ct = orig[6]
                vault._fold(vault._rec_digest(name_ct, orig[5]))
                updates.append((rev, m["_seq"], 0, meta_ct, m["v"], uid))
            vault._fold(vault._rec_digest(name_ct, meta_ct))
        conn.executemany(
            "INSERT INTO records(uid, name_hash, rev, seq, deleted, name_ct, meta, cur) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        conn.executemany(
            "UPDATE records SET rev = ?, seq = ?, deleted = ?, meta = ?, cur = ? WHERE uid = ?",
            updates,
        )
    return len(items)


# ---------------------------------------------------------------------------------------


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _fill(vault: Vault, n: int) -> None:
    with vault.transaction():
        for i in range(n):
            vault.put(
                f"app/service{i:06d}/password",
                os.urandom(16).hex(),
                description=f"password of service {i}",
                tags={"env": "prod"},
            )


def _change(vault: Vault, names: list[str], value: Callable[[int], str]) -> None:
    with vault.transaction():
        for i, name in enumerate(names):
            vault.put(name, value(i))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=100_000)
    parser.add_argument("--no-put-many", action="store_true")
    args = parser.parse_args(argv)
    n = args.secrets
    rows: list[tuple[str, str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="vaultui-bench-backup-"))
    try:
        vault_path = work / "vault.db"
        ks = KeySource.passphrase(PASSPHRASE)
        vault = Vault.create(vault_path, ks, kdf=Argon2Params.fast())
        t, _ = _timed(lambda: _fill(vault, n))
        print(f"setup: {n:,} secrets written in {t:.1f} s")
        backups = BackupManager(vault, work / "backups")

        t_full, path = _timed(lambda: backups.create_backup("full"))
        full_size = path.stat().st_size
        rows.append(("full backup", f"{t_full:.2f} s", f"{full_size / 1e6:.2f} MB", "< 2 s"))
        t, report = _timed(lambda: backups.verify_backup("full"))
        assert report["valid"]
        rows.append(("verify full", f"{t:.2f} s", "", ""))
        t, result = _timed(lambda: backups.restore_backup("full"))
        assert result["counts"]["unchanged"] == n
        rows.append(("restore, nothing changed", f"{t:.2f} s", "0 writes", "< 3 s"))

        names = vault.names()
        one_percent = names[::100]
        _change(vault, one_percent, lambda i: f"changed-{i}")
        t_inc, inc = _timed(lambda: backups.create_backup("inc", incremental=True))
        inc_size = inc.stat().st_size
        rows.append(
            (
                "incremental after 1% changed",
                f"{t_inc:.3f} s ({t_inc / t_full:.1%})",
                f"{inc_size / 1e6:.3f} MB ({inc_size / full_size:.1%})",
                "< 10% of full",
            )
        )
        t, result = _timed(lambda: backups.restore_backup("full"))
        assert result["counts"]["changed"] == len(one_percent)
        rows.append(("restore full over 1% changes", f"{t:.2f} s",
                     f"{len(one_percent):,} writes", "< 3 s"))  # fmt: skip

        _change(vault, names, lambda i: "all-changed")
        t, result = _timed(lambda: backups.restore_backup("full"))
        assert result["counts"]["changed"] == n
        rows.append(("restore, all changed (put)", f"{t:.2f} s", f"{n:,} writes", "< 3 s"))
        t, _ = _timed(lambda: restore_backup_file(path, work / "new1.db", ks))
        rows.append(("recovery into new vault (put)", f"{t:.2f} s", f"{n:,} records", ""))

        if not args.no_put_many:
            Vault.put_many = proposed_put_many  # type: ignore[attr-defined]
            try:
                _change(vault, names, lambda i: "all-changed-again")
                t, result = _timed(lambda: backups.restore_backup("full"))
                assert result["counts"]["changed"] == n
                vault.verify()
                rows.append(("restore, all changed (put_many)", f"{t:.2f} s",
                             f"{n:,} writes", "< 3 s"))  # fmt: skip
                t, _ = _timed(lambda: restore_backup_file(path, work / "new2.db", ks))
                with Vault.open(work / "new2.db", ks) as copy:
                    copy.verify()
                    assert copy.count() == n
                rows.append(("recovery into new vault (put_many)", f"{t:.2f} s",
                             f"{n:,} records", ""))  # fmt: skip
            finally:
                del Vault.put_many  # type: ignore[attr-defined]
        vault.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = ("operation", "time", "size / work", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
