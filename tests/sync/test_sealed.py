"""Sealed sync: nothing readable reaches the provider; a new machine with only the
passphrase and the provider settings gets the whole vault; large records are split
within the provider's limits or refused clearly."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from core.sync.sealed import bootstrap, sync_sealed
from core.vault import Argon2Params, KeySource, Vault
from tests.sync.conftest import ProviderFactory

SECRETS = {
    "prod/database/password": "Pa55-word-ZEBRA-91",
    "payments/stripe_api_key": "sk_live_QUOKKA_4242",
    "team.ops/pager": {"webhook": "https://hooks.example/OCELOT", "retries": 3},
    "binary-blob": b"\x00BINARY-PANGOLIN\xff",
}
DESCRIPTION = "Description-Mentions-LEMUR"
TAG = "tag-value-NARWHAL"


def _needles() -> list[bytes]:
    out = []
    for name, value in SECRETS.items():
        out += [name.encode(), name.split("/")[-1].encode()]
        if isinstance(value, dict):
            out += [str(v).encode() for v in value.values() if len(str(v)) > 3]
            out += [k.encode() for k in value]
        elif isinstance(value, bytes):
            out.append(b"BINARY-PANGOLIN")
        else:
            out.append(value.encode())
    return [*out, DESCRIPTION.encode(), TAG.encode(), b"LEMUR", b"NARWHAL"]


def _expand(blob: bytes) -> list[bytes]:
    """The stored bytes plus every base64-looking run in them, decoded, and anything in
    those that zlib can inflate (at any small offset)."""
    out = [blob]
    for run in re.findall(rb"[A-Za-z0-9+/=_-]{16,}", blob):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(ValueError):
                out.append(decode(run + b"=" * (-len(run) % 4)))
    for piece in list(out):
        for offset in range(min(48, len(piece))):
            try:
                out.append(zlib.decompressobj().decompress(piece[offset:]))
            except zlib.error:
                continue
    return out


def _assert_opaque(objects: dict[str, bytes]) -> None:
    needles = _needles()
    assert objects, "nothing was stored"
    for name, blob in objects.items():
        assert name.startswith("vaultui-sealed"), f"unexpected object name {name!r}"
        for piece in [name.encode(), *_expand(blob)]:
            for needle in needles:
                assert needle not in piece, f"{needle!r} readable in {name}"


def _vault_objects(bao: Any, mount: str) -> dict[str, bytes]:
    """Every KV object under ``mount``: data and metadata, as the server returns them."""
    import hvac

    client = hvac.Client(url=bao.addr, token=bao.token)
    kv = client.secrets.kv.v2
    out: dict[str, bytes] = {}
    folders = [""]
    while folders:
        folder = folders.pop()
        keys = kv.list_secrets(path=folder, mount_point=mount)["data"]["keys"]
        for key in keys:
            path = folder + key
            if key.endswith("/"):
                folders.append(path)
                continue
            data = kv.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=False
            )
            meta = kv.read_secret_metadata(path=path, mount_point=mount)
            out[path] = json.dumps([data["data"], meta["data"]]).encode()
    return out


def _aws_objects(moto: Any) -> dict[str, bytes]:
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    out: dict[str, bytes] = {}
    for page in client.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            name = entry["Name"]
            versions = client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
            parts = [json.dumps(entry, default=str)]
            for v in versions["Versions"]:
                got = client.get_secret_value(SecretId=name, VersionId=v["VersionId"])
                parts.append(
                    got.get("SecretString") or base64.b64encode(got["SecretBinary"]).decode()
                )
            out[name] = "\n".join(parts).encode()
    return out


def _fill(vault: Vault) -> None:
    for name, value in SECRETS.items():
        vault.put(name, value, description=DESCRIPTION, tags={"team": TAG})
    vault.put("prod/database/password", "Pa55-word-ZEBRA-92")  # a second version
    vault.delete("binary-blob")  # and a tombstone


@pytest.mark.parametrize("kind", ["hashicorp_vault", "aws_secrets_manager"])
def test_nothing_readable_reaches_the_provider(
    factory: ProviderFactory, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    vault = Vault.create(
        tmp_path / "a" / "vault.db", KeySource.passphrase("pw"), kdf=Argon2Params.fast()
    )
    _fill(vault)
    provider = factory.make(kind)
    report = sync_sealed(vault, provider)
    assert report.ok and len(report.pushed) == 4
    if kind == "hashicorp_vault":
        objects = _vault_objects(request.getfixturevalue("openbao"), factory.vault_mount())
    else:
        objects = _aws_objects(request.getfixturevalue("moto_server"))
    _assert_opaque(objects)
    # record objects are padded: equal-size secrets are indistinguishable by length
    sizes = {len(v) for k, v in objects.items() if "/r-" in k}
    assert len(sizes) <= 2


def test_a_new_machine_gets_the_whole_vault_with_only_the_passphrase(
    factory: ProviderFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from vaultui.cli import main

    vault = Vault.create(
        tmp_path / "a" / "vault.db", KeySource.passphrase("pw one"), kdf=Argon2Params.fast()
    )
    _fill(vault)
    settings = factory.settings("hashicorp_vault")
    assert sync_sealed(vault, factory.make("hashicorp_vault")).ok
    passfile = tmp_path / "pass.txt"
    passfile.write_text("pw one\n")
    for k in list(os.environ):
        if k.startswith(("VAULTUI_", "VAULT_", "FEDZK_", "AWS_")):
            monkeypatch.delenv(k)
    home = tmp_path / "new-machine"
    monkeypatch.setenv("VAULTUI_HOME", str(home))
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(passfile))
    monkeypatch.setenv("VAULTUI_ARGON2", "t=1,m=1024,p=1")
    monkeypatch.setenv("VAULT_ADDR", settings.vault_addr or "")
    monkeypatch.setenv("VAULT_TOKEN", settings.vault_token or "")
    monkeypatch.setenv("VAULT_MOUNT_POINT", settings.vault_mount_point)
    assert main(["--batch", "sync", "--provider", "hashicorp_vault", "--sealed", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["pulled"]) == [
        "payments/stripe_api_key",
        "prod/database/password",
        "team.ops/pager",
    ]
    assert main(["--batch", "get", "payments/stripe_api_key"]) == 0
    assert capsys.readouterr().out.strip() == "sk_live_QUOKKA_4242"
    rebuilt = Vault.open(home / "vault.db", KeySource.passphrase("pw one"))
    assert rebuilt.vault_id == vault.vault_id
    assert [v for _, v in rebuilt.history_values("prod/database/password")] == [
        "Pa55-word-ZEBRA-91",
        "Pa55-word-ZEBRA-92",
    ]
    assert rebuilt.get("binary-blob") is None and rebuilt.record(
        "binary-blob", include_deleted=True
    )
    assert rebuilt.record("team.ops/pager").description == DESCRIPTION
    # the wrong passphrase opens nothing, and says so
    passfile.write_text("wrong\n")
    monkeypatch.setenv("VAULTUI_HOME", str(tmp_path / "third"))
    assert main(["--batch", "sync", "--provider", "hashicorp_vault", "--sealed"]) == 4
    assert "passphrase" in capsys.readouterr().err


def test_large_records_are_split_within_aws_limits_and_huge_ones_refused(
    factory: ProviderFactory, tmp_path: Path
) -> None:
    key = KeySource.passphrase("pw")
    vault = Vault.create(tmp_path / "a" / "vault.db", key, kdf=Argon2Params.fast())
    big = [os.urandom(45_000) for _ in range(3)]  # incompressible: ~180 KB sealed
    for value in big:
        vault.put("certs/bundle", value)
    vault.put("small", "s")
    huge = os.urandom(1024 * 1024 - 16)
    for i in range(4):
        vault.put("huge", huge[:-i] if i else huge)  # 4 MiB of history
    provider = factory.make("aws_secrets_manager")
    report = sync_sealed(vault, provider)
    assert sorted(report.pushed) == ["certs/bundle", "small"]
    assert list(report.failed) == ["huge"]
    assert "parts" in report.failed["huge"] and "provider" in report.failed["huge"]
    other = bootstrap(
        factory.make("aws_secrets_manager", reset=False), tmp_path / "b" / "vault.db", key
    )
    pulled = sync_sealed(other, factory.make("aws_secrets_manager", reset=False))
    assert sorted(pulled.pulled) == ["certs/bundle", "small"]
    assert [v for _, v in other.history_values("certs/bundle")] == big
    # a new version replaces the parts; the old parts are removed
    vault.put("certs/bundle", b"short now")
    assert "certs/bundle" in sync_sealed(vault, provider).pushed
    sync_sealed(other, factory.make("aws_secrets_manager", reset=False))
    assert other.get("certs/bundle").value == b"short now"


def test_noop_sync_is_one_call_and_reads_no_value(factory: ProviderFactory, tmp_path: Path) -> None:
    vault = Vault.create(
        tmp_path / "a" / "vault.db", KeySource.passphrase("pw"), kdf=Argon2Params.fast()
    )
    for i in range(50):
        vault.put(f"s/{i}", f"v{i}")
    provider = factory.make("hashicorp_vault")
    assert len(sync_sealed(vault, provider).pushed) == 50
    seq = vault.seq
    again = sync_sealed(vault, provider)
    assert (again.remote_calls, again.values_read, again.pushed, again.pulled) == (1, 0, [], [])
    assert vault.seq == seq
    vault.update_meta("s/3", description="only metadata")
    one = sync_sealed(vault, provider)
    assert one.pushed == ["s/3"] and one.values_read == 0
