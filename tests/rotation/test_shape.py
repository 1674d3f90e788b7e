"""Rotation keeps a dict secret a dict, and says when only the vault's copy changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ValidationError
from core.rotation import RotationManager
from core.rotation.shape import NO_APPLY_HOOK_WARNING
from core.unlock import open_vault
from tests.batch.conftest import run_vaultui
from tests.rotation.conftest import RecordingAudit, make_vault

DEPLOY = {"access_key_id": "AKIAEXAMPLE0000", "secret_access_key": "old-secret-value-0000"}


def test_a_single_value_generator_on_a_dict_secret_is_refused(tmp_path: Path) -> None:
    vault, _key = make_vault(tmp_path / "v")
    try:
        vault.put("prod/aws/deploy", dict(DEPLOY))
        manager = RotationManager(vault, audit=RecordingAudit())
        with pytest.raises(ValidationError) as caught:
            manager.set_policy("prod/aws/deploy", "monthly", generator="token:urlsafe:30")
        assert "holds fields" in caught.value.message
        assert "field:secret_access_key:token:urlsafe:30" in caught.value.hint
        assert "old-secret-value" not in str(caught.value) + caught.value.hint
        assert manager.info("prod/aws/deploy").generator is None  # nothing stored

        manager.set_policy(
            "prod/aws/deploy", "monthly", generator="field:secret_access_key:token:urlsafe:30"
        )
        result = manager.rotate("prod/aws/deploy")
        value = vault.get("prod/aws/deploy").value
        assert isinstance(value, dict) and value["access_key_id"] == DEPLOY["access_key_id"]
        assert value["secret_access_key"] != DEPLOY["secret_access_key"]
        assert result.warning == NO_APPLY_HOOK_WARNING
    finally:
        vault.close()


def test_a_stored_single_value_generator_fails_the_rotation_and_keeps_the_dict(
    tmp_path: Path,
) -> None:
    vault, _key = make_vault(tmp_path / "v")
    try:
        vault.put("prod/aws/deploy", dict(DEPLOY))
        # as written by an older version, which did not check
        vault.update_meta(
            "prod/aws/deploy", rotation={"policy": "monthly", "generator": "token:urlsafe:30"}
        )
        manager = RotationManager(vault, audit=RecordingAudit())
        result = manager.rotate("prod/aws/deploy", raise_errors=False)
        assert not result.rotated and "holds fields" in (result.error or "")
        assert vault.get("prod/aws/deploy").value == DEPLOY
        assert vault.record("prod/aws/deploy").version == 1
    finally:
        vault.close()


def test_an_apply_hook_means_no_warning(tmp_path: Path) -> None:
    vault, _key = make_vault(tmp_path / "v")
    try:
        vault.put("api/token", "initial-value")
        manager = RotationManager(vault, audit=RecordingAudit())
        manager.set_policy("api/token", "daily", generator="token:hex:16", hooks={"apply": "true"})
        assert manager.rotate("api/token").warning is None
    finally:
        vault.close()


def test_batch_policy_refuses_and_rotate_warns_on_stderr_and_in_json(
    settings: Settings, home: Path
) -> None:
    vault = open_vault(settings)  # generates the home's key file
    vault.put("prod/aws/deploy", dict(DEPLOY))
    vault.close()

    refused = run_vaultui(
        home, "--batch", "policy", "prod/aws/deploy", "monthly", "--generator", "token:urlsafe:30"
    )
    assert refused.code == 2, refused.err
    assert "holds fields" in refused.err
    assert "field:secret_access_key:token:urlsafe:30" in refused.err

    spec = "field:secret_access_key:token:urlsafe:30"
    ok = run_vaultui(home, "--batch", "policy", "prod/aws/deploy", "monthly", "--generator", spec)
    assert ok.code == 0, ok.err

    plain = run_vaultui(home, "--batch", "rotate", "prod/aws/deploy")
    assert plain.code == 0, plain.err
    assert f"warning: prod/aws/deploy: {NO_APPLY_HOOK_WARNING}" in plain.err
    as_json = run_vaultui(home, "--batch", "rotate", "prod/aws/deploy", "--json")
    assert as_json.code == 0, as_json.err
    assert json.loads(as_json.out)["warning"] == NO_APPLY_HOOK_WARNING
    assert NO_APPLY_HOOK_WARNING in as_json.err

    field = run_vaultui(home, "--batch", "get", "prod/aws/deploy", "--field", "access_key_id")
    assert field.code == 0 and field.out.strip() == DEPLOY["access_key_id"]
    rotated = run_vaultui(home, "--batch", "get", "prod/aws/deploy", "--field", "secret_access_key")
    assert rotated.code == 0 and rotated.out.strip() != DEPLOY["secret_access_key"]


def test_every_demo_generator_fits_its_secret(settings: Settings) -> None:
    from core.rotation.generators import parse_generator
    from core.rotation.info import RotationInfo
    from core.rotation.shape import check_generator_fits
    from vaultui.demo import create_demo_home, remove_demo_home

    demo = create_demo_home(settings)
    try:
        vault = open_vault(demo)
        try:
            checked = 0
            for name in vault.names():
                info = RotationInfo.from_dict(vault.record(name).rotation)
                if info.generator:
                    secret = vault.get(name)
                    check_generator_fits(name, parse_generator(info.generator), secret.value)
                    checked += 1
            assert checked >= 5
        finally:
            vault.close()
    finally:
        remove_demo_home(demo)
