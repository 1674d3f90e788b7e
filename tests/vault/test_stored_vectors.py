"""A vault file written by an earlier version of the code (``vectors/format1.db``, made
with the steps of ``vector_ops.build``) still opens, verifies and reads the same; and
today's code seals, for the same steps, the very same metadata and history bytes.

``format1.json`` holds what that earlier code read back (records, every version's
value) and the plaintexts it sealed (metadata arrays, history entries).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from core.vault import KeySource, Vault, encode_value
from core.vault.metadata import Metadata, decode_array
from tests.vault import vector_ops as ops

VECTORS = Path(__file__).parent / "vectors"
EXPECTED = json.loads((VECTORS / "format1.json").read_text())


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    path = tmp_path / "vault.db"
    shutil.copy(VECTORS / "format1.db", path)
    path.chmod(0o600)
    return path


def test_a_stored_vault_opens_verifies_and_reads_the_same(stored: Path) -> None:
    with Vault.open(stored, KeySource.data_key(ops.DATA_KEY), device_id=ops.DEVICE) as v:
        assert v.verify()["records"] == len(EXPECTED["records"])
        listed = {rec.name: rec._asdict() for rec in v.list(include_deleted=True)}
        for name, want in EXPECTED["records"].items():
            values = want.pop("values", None)
            assert json.loads(json.dumps(listed[name])) == want
            assert json.loads(json.dumps(v.record(name, include_deleted=True)._asdict())) == want
            if values is not None:
                got = {
                    str(info.version): base64.b64encode(encode_value(value)).decode()
                    for info, value in v.history_values(name)
                }
                assert got == values
        assert v.get("tmp/purged") is None
        assert v.get("config/database", stage="PENDING").value == {
            "host": "db2.internal",
            "port": 5432,
        }


def test_stored_metadata_round_trips_byte_for_byte(stored: Path) -> None:
    metas, _infos = ops.plaintexts(stored)
    assert metas == EXPECTED["metas"]
    for plain in metas.values():
        meta = Metadata.from_array(decode_array(plain.encode()), b"u" * 16, 1, 1, False)
        assert meta.encode() == plain.encode()


def test_todays_writes_seal_the_same_bytes_as_the_stored_vault(tmp_path: Path) -> None:
    path = tmp_path / "vault.db"
    with ops.create(path) as v:
        ops.build(v)
    metas, infos = ops.plaintexts(path)
    assert set(metas) == set(EXPECTED["metas"])
    for name, plain in metas.items():
        if name not in ops.CLOCKED:
            assert plain == EXPECTED["metas"][name], name
    assert set(infos) == set(EXPECTED["infos"])
    for key, plain in infos.items():
        name, version = key.rsplit("#", 1)
        if (name, int(version)) not in ops.CLOCKED_VERSIONS:
            assert plain == EXPECTED["infos"][key], key


def test_a_merge_writing_a_record_back_unchanged_seals_the_same_metadata(stored: Path) -> None:
    from core.vault.sync_access import sync_read, sync_rows, sync_write

    with Vault.open(stored, KeySource.data_key(ops.DATA_KEY), device_id=ops.DEVICE) as v:
        for raw in sync_read(v, list(sync_rows(v))):
            sync_write(
                v,
                raw["uid"],
                raw["name"],
                raw["meta"],
                [],
                deleted=raw["deleted"],
                expected_rev=raw["rev"],
            )
        v.verify()
    metas, _infos = ops.plaintexts(stored)
    assert metas == EXPECTED["metas"]
