"""Provider mode with secrets the provider has never seen (stored while the provider was
``local``, or pulled by a sealed sync): ``list`` shows them, so ``get`` and the facade's
``retrieve_secret`` must find them too, and say where the value came from. Against moto."""

from __future__ import annotations

import json
from pathlib import Path

from core.secrets_manager import SecretsManager
from tests.batch.conftest import run_vaultui
from tests.conftest import clean_env
from tests.servers.moto_server import ENV as AWS_ENV
from tests.trail import home_events

LOCAL_VALUE = "only-in-the-local-vault-4242"
AWS_VALUE = "on-aws-too-9191"


def test_list_and_get_agree_on_secrets_only_in_the_local_vault(factory, moto_server, tmp_path):
    factory.reset("aws_secrets_manager")
    home = tmp_path / "home"
    local_env = clean_env(home)
    aws_env = clean_env(
        home,
        **AWS_ENV,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=moto_server.endpoint,
        FEDZK_SECRETS_PROVIDER="aws_secrets_manager",
    )
    # stored while the provider was local: the provider never saw it
    r = run_vaultui(home, "--batch", "set", "old/token", stdin=LOCAL_VALUE.encode(), env=local_env)
    assert r.code == 0, r.err
    r = run_vaultui(home, "--batch", "set", "new/token", stdin=AWS_VALUE.encode(), env=aws_env)
    assert r.code == 0, r.err

    r = run_vaultui(home, "--batch", "list", env=aws_env)
    assert r.out.split() == ["new/token", "old/token"]

    r = run_vaultui(home, "--batch", "get", "old/token", "-n", env=aws_env)
    assert (r.code, r.out) == (0, LOCAL_VALUE)
    assert "old/token: from the local vault; not on aws_secrets_manager" in r.err
    r = run_vaultui(home, "--batch", "--json", "get", "old/token", env=aws_env)
    doc = json.loads(r.out)
    assert (doc["value"], doc["origin"], doc["provider"]) == (
        LOCAL_VALUE,
        "local-only",
        "aws_secrets_manager",
    )

    # the provider's own secrets read as before, without a note
    r = run_vaultui(home, "--batch", "get", "new/token", "-n", env=aws_env)
    assert (r.code, r.out, r.err) == (0, AWS_VALUE, "")

    # a name on neither side is still not found
    assert run_vaultui(home, "--batch", "get", "nowhere", env=aws_env).code == 3


def test_the_facade_reads_local_only_secrets_and_audits_where_from(factory, moto_server):
    factory.reset("aws_secrets_manager")
    local = factory.settings("local")
    mgr = SecretsManager(local)
    try:
        mgr.store_secret("legacy_key", LOCAL_VALUE, "stored before the provider")
    finally:
        mgr.close()
    settings = factory.settings("aws_secrets_manager", FEDZK_SECRETS_PROVIDER="aws_secrets_manager")
    mgr = SecretsManager(settings)
    try:
        assert "legacy_key" in mgr.list_secrets()
        assert mgr.retrieve_secret("legacy_key") == LOCAL_VALUE
        assert mgr.read_origin == "local-only"
        mgr.store_secret("api_key", AWS_VALUE)
        assert mgr.retrieve_secret("api_key") == AWS_VALUE
        assert mgr.read_origin == "provider"
        # deleted locally: gone, even though only the local vault ever held it
        assert mgr.delete_secret("legacy_key")
        assert mgr.retrieve_secret("legacy_key") is None
    finally:
        mgr.close()
    reads = [e for e in home_events(Path(settings.home)) if e["operation"] == "read"]
    legacy = [e for e in reads if e["secret_name"] == "legacy_key" and e["success"]]
    assert legacy and legacy[0]["origin"] == "local-only"
    assert LOCAL_VALUE not in Path(settings.audit_log_path).read_text()
