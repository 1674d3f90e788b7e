"""Finding providers by name (entry points, without importing them), viability checks,
and import hygiene: no provider SDK is imported until a provider is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ConfigError
from core.providers import get_provider, provider_class, provider_info, provider_names
from core.providers.base import Provider
from core.providers.registry import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("hvac", "boto3", "botocore", "azure", "google", "textual", "vaultui")


def run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_names_come_from_entry_points_without_importing_providers() -> None:
    code = (
        "import sys\n"
        "from core.providers.registry import provider_names\n"
        "names = provider_names()\n"
        f"builtin = {tuple(BUILTIN)!r}\n"
        "loaded = [m for m in sys.modules\n"
        "          if m.startswith('core.providers.') and m.split('.')[-1] in builtin]\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {SDKS!r}]\n"
        "print(','.join(names), '|', ','.join(loaded), '|', ','.join(heavy))\n"
    )
    names, loaded, heavy = (part.strip() for part in run(code).split("|"))
    assert names.split(",") == sorted(BUILTIN)
    assert loaded == "" and heavy == ""


def test_provider_modules_import_no_sdk() -> None:
    modules = ", ".join(
        f"core.providers.{m}" for m in (*BUILTIN, "base", "names", "codec", "retry", "http")
    )
    code = (
        f"import sys, {modules}\n"
        f"print(','.join(m for m in sys.modules if m.split('.')[0] in {SDKS!r}))\n"
    )
    assert run(code) == ""


def test_unknown_provider_lists_the_valid_ones(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VAULTUI_HOME": str(tmp_path), "FEDZK_SECRETS_PROVIDER": "hashicorp"}
    )
    with pytest.raises(ConfigError) as err:
        settings.validate_provider()
    assert "'hashicorp'" in str(err.value) and "hashicorp_vault" in str(err.value)
    with pytest.raises(ConfigError) as err2:
        get_provider("nope", settings)
    assert all(name in str(err2.value) for name in BUILTIN)


def test_every_builtin_provider_is_registered_and_loadable() -> None:
    assert set(BUILTIN) <= set(provider_names())
    for name in BUILTIN:
        cls = provider_class(name)
        assert issubclass(cls, Provider) and cls.name == name


def test_missing_sdk_says_which_extra_to_install(tmp_path: Path) -> None:
    class Phantom(Provider):
        name = "phantom"
        display_name = "Phantom Store"
        extra = "phantom"
        sdk_modules = ("vaultui_no_such_sdk_module",)

    ok, reason = Phantom.viable(Settings.from_env({"VAULTUI_HOME": str(tmp_path)}))
    assert not ok and "install vaultui[phantom]" in reason


def test_missing_settings_are_named(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAULTUI_HOME": str(tmp_path)})
    reasons = {
        name: provider_class(name).viable(settings)
        for name in ("hashicorp_vault", "azure_key_vault", "gcp_secret_manager")
    }
    assert reasons["hashicorp_vault"][0] is False and "VAULT_ADDR" in reasons["hashicorp_vault"][1]
    assert (
        reasons["azure_key_vault"][0] is False
        and "AZURE_VAULT_URL" in reasons["azure_key_vault"][1]
    )
    assert (
        reasons["gcp_secret_manager"][0] is False
        and "GOOGLE_CLOUD_PROJECT" in reasons["gcp_secret_manager"][1]
    )
    partial = Settings.from_env(
        {
            "VAULTUI_HOME": str(tmp_path),
            "AZURE_VAULT_URL": "https://v.vault.azure.net",
            "AZURE_CLIENT_ID": "id",
        }
    )
    ok, reason = provider_class("azure_key_vault").viable(partial)
    assert not ok and "AZURE_CLIENT_SECRET" in reason
    for name in ("hashicorp_vault", "azure_key_vault", "gcp_secret_manager"):
        with pytest.raises(ConfigError):
            get_provider(name, settings)


def test_provider_info_for_the_cli(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAULTUI_HOME": str(tmp_path), "FEDZK_SECRETS_PROVIDER": "local"})
    rows = {row["name"]: row for row in provider_info(settings)}
    assert set(rows) >= set(BUILTIN)
    assert rows["local"]["active"] is True and rows["local"]["viable"] is True
    assert (
        rows["hashicorp_vault"]["viable"] is False and rows["hashicorp_vault"]["extra"] == "vault"
    )
    assert rows["aws_secrets_manager"]["display_name"] == "AWS Secrets Manager"
