from __future__ import annotations

from pathlib import Path

import pytest

from core.vault import Argon2Params, KeySource, Vault


@pytest.fixture
def key_source(tmp_path: Path) -> KeySource:
    from core.vault import write_new_key_file

    return KeySource.from_key_file(write_new_key_file(tmp_path / "test.key"))


@pytest.fixture
def vault(tmp_path: Path, key_source: KeySource):
    v = Vault.create(tmp_path / "vault.db", key_source, kdf=Argon2Params.fast())
    yield v
    v.close()
