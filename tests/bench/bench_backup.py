"""Benchmark of backups: ``python -m tests.bench.bench_backup [--quick]`` (or as part of
``python -m tests.bench``).

On a vault of N secrets (100,000; 10,000 with ``--quick``; the filled vault is cached
under ``.bench/``) it measures:

- a full backup (target < 2 s) and its size;
- verify of that backup;
- restore of the full backup when nothing changed (read, check, compare: no writes);
- an incremental backup after changing 1% of the secrets (target < 10% of the full
  backup's time and size);
- restore of the full backup over those 1% changes (target < 3 s);
- restore when EVERY secret changed, and disaster recovery into a new vault file:
  these write N new versions, with ``Vault.put`` (~150-250 µs per put) and with the
  ``Vault.put_many`` batch path proposed to the vault's owner (prototype below).

Wall times are medians of 3 runs where a run leaves the vault as it was; on a busy
machine (load above the core count) the targets are judged on CPU time, shown in the
notes. Nothing here is a pytest test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.backup import BackupManager, restore_backup_file
from core.vault import Argon2Params, KeySource, Vault
from tests.bench.common import Row, busy_warning, cache_dir, cli_main, log, median_wall_cpu

GROUP = "backup"
FIXTURE_VERSION = 1

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
                    m = {
                        "_uid": os.urandom(16),
                        "_rev": 0,
                        "_seq": 0,
                        "_del": 0,
                        "n": name,
                        "mv": 0,
                        "_orig": None,
                        "_puts": 0,
                    }
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
            m.update(
                v=version,
                mv=version,
                t=type_of_encoded(encoded),
                s=len(encoded) - 1,
                u=now,
                dev=vault.device_id,
                _del=0,
            )
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
        conn.executemany(
            "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)", version_rows
        )
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


def _fill(vault: Vault, n: int) -> None:
    with vault.transaction():
        for i in range(n):
            vault.put(
                f"app/service{i:06d}/password",
                os.urandom(16).hex(),
                description=f"password of service {i}",
                tags={"env": "prod"},
            )


def _fixture(n: int) -> Path:
    """A vault file holding ``n`` secrets (built once, cached under .bench/)."""
    path = cache_dir("backup", f"n{n}", FIXTURE_VERSION) / "vault.db"
    if not path.exists():
        log(f"backup: building a vault of {n:,} secrets (cached for later runs)")
        tmp = path.with_name(f"building-{os.getpid()}.db")  # concurrent runs do not clash
        with Vault.create(tmp, KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast()) as v:
            _fill(v, n)
        tmp.rename(path)
    return path


def _change(vault: Vault, names: list[str], value: Callable[[int], str]) -> None:
    with vault.transaction():
        for i, name in enumerate(names):
            vault.put(name, value(i))


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time, CPU time and result of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, time.process_time() - c0, result


def _judge(wall: float, cpu: float, limit: float) -> bool:
    return (cpu if busy_warning() else wall) < limit


def run(quick: bool) -> list[Row]:
    """Measure backup, incremental, verify, restore and recovery; see the docstring."""
    n = 10_000 if quick else 100_000
    label = f"N={n:,}"
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="vaultui-bench-backup-"))
    ks = KeySource.passphrase(PASSPHRASE)
    try:
        shutil.copy(_fixture(n), work / "vault.db")
        vault = Vault.open(work / "vault.db", ks)
        backups = BackupManager(vault, work / "backups")
        counter = itertools.count()
        made: list[Path] = []

        def full() -> None:
            made.append(backups.create_backup(f"full{next(counter)}"))

        full_s, full_cpu = median_wall_cpu(full, 3)
        path = made[0]
        full_size = path.stat().st_size
        for extra in made[1:]:
            extra.unlink()
        rows.append(
            Row(
                GROUP,
                f"full backup, {label}",
                full_s,
                unit="s",
                target="< 2 s",
                ok=_judge(full_s, full_cpu, 2.0),
                note=f"CPU {full_cpu:.2f} s; {full_size / 1e6:.1f} MB file",
            )
        )
        verify_s, verify_cpu = median_wall_cpu(lambda: backups.verify_backup(path.stem), 3)
        rows.append(
            Row(
                GROUP,
                f"verify full backup, {label}",
                verify_s,
                unit="s",
                note=f"CPU {verify_cpu:.2f} s; MAC, decrypt, parse",
            )
        )
        noop_s, noop_cpu = median_wall_cpu(lambda: backups.restore_backup(path.stem), 3)
        rows.append(
            Row(
                GROUP,
                f"restore full backup, nothing changed, {label}",
                noop_s,
                unit="s",
                target="< 3 s",
                ok=_judge(noop_s, noop_cpu, 3.0),
                note=f"CPU {noop_cpu:.2f} s; read, verify, compare; no writes",
            )
        )

        names = vault.names()
        changed = names[::100]
        _change(vault, changed, lambda i: f"changed-{i}")
        inc_s, inc_cpu, inc = _timed(lambda: backups.create_backup("inc", incremental=True))
        inc_size = inc.stat().st_size
        time_ratio = (inc_cpu / full_cpu) if busy_warning() else (inc_s / full_s)
        rows.append(
            Row(
                GROUP,
                f"incremental after 1% changed, {label}",
                inc_s,
                unit="s",
                target="< 10% of full",
                ok=time_ratio < 0.10,
                note=f"{time_ratio:.1%} of the full backup's time",
            )
        )
        rows.append(
            Row(
                GROUP,
                f"incremental size after 1% changed, {label}",
                inc_size / 1e6,
                unit="MB",
                target="< 10% of full",
                ok=inc_size < full_size / 10,
                note=f"{inc_size / full_size:.1%} of {full_size / 1e6:.1f} MB",
            )
        )
        one_s, one_cpu, result = _timed(lambda: backups.restore_backup(path.stem))
        assert result["counts"]["changed"] == len(changed)
        rows.append(
            Row(
                GROUP,
                f"restore full over 1% changes, {label}",
                one_s,
                unit="s",
                target="< 3 s",
                ok=_judge(one_s, one_cpu, 3.0),
                note=f"CPU {one_cpu:.2f} s; {len(changed):,} new versions",
            )
        )

        # the put path, then Vault.put_many: the vault's own if it has one, else the prototype
        real = Vault.__dict__.get("put_many")
        modes = {
            "put": None,
            "put_many" if real else "put_many prototype": real or proposed_put_many,
        }
        for mode, many in modes.items():
            Vault.put_many = many  # type: ignore[attr-defined]  # None: core uses put
            try:
                _change(vault, names, lambda i, m=mode: f"all-changed-{m}")
                all_s, all_cpu, result = _timed(lambda: backups.restore_backup(path.stem))
                assert result["counts"]["changed"] == n
                vault.verify()
                rows.append(
                    Row(
                        GROUP,
                        f"restore, every secret changed ({mode}), {label}",
                        all_s,
                        unit="s",
                        target="< 3 s",
                        ok=_judge(all_s, all_cpu, 3.0),
                        note=f"CPU {all_cpu:.1f} s; {n:,} new versions",
                    )
                )
                target = work / f"recovered-{len(rows)}.db"
                rec_s, rec_cpu, _ = _timed(lambda t=target: restore_backup_file(path, t, ks))
                with Vault.open(target, ks) as copy:
                    copy.verify()
                    assert copy.count() == n
                rows.append(
                    Row(
                        GROUP,
                        f"recovery into a new vault ({mode}), {label}",
                        rec_s,
                        unit="s",
                        note=f"CPU {rec_cpu:.1f} s; every record and its "
                        "history; includes one Argon2id",
                    )
                )
            finally:
                if real is None:
                    del Vault.put_many  # type: ignore[attr-defined]
                else:
                    Vault.put_many = real  # type: ignore[attr-defined]
        vault.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(cli_main(run))
