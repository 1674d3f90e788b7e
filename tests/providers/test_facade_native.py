"""FEDZK_SECRETS_PROVIDER through the seed facade: native secrets in the provider, the
local vault as an encrypted cache, and a fallback to it that is reported."""

from __future__ import annotations

import json

import hvac

from core.secrets_manager import SecretsManager
from tests.servers.moto_server import ENV as AWS_ENV


def test_vault_native_write_through_read_and_fallback(factory, openbao) -> None:
    settings = factory.settings("hashicorp_vault")
    mgr = SecretsManager(settings)
    try:
        mgr.store_secret("db_password", "s3cret-native", "Database password")
        mgr.store_secret("database_config", {"host": "h", "port": 5432})
        # another tool sees a native secret under the same name
        client = hvac.Client(url=openbao.addr, token=openbao.token)
        data = client.secrets.kv.v2.read_secret_version(
            path="database_config",
            mount_point=settings.vault_mount_point,
            raise_on_deleted_version=True,
        )["data"]["data"]
        assert data["host"] == "h" and data["port"] == 5432
        assert mgr.retrieve_secret("database_config") == {"host": "h", "port": 5432}
        # a value changed in the provider by someone else is what a read returns
        client.secrets.kv.v2.create_or_update_secret(
            path="database_config",
            mount_point=settings.vault_mount_point,
            secret={"host": "h2", "port": 5432},
        )
        assert mgr.retrieve_secret("database_config") == {"host": "h2", "port": 5432}
        assert mgr.get_status()["provider_fallback"] is False
        openbao.pause()
        try:
            # unreachable: the encrypted local cache answers, and says so
            assert mgr.retrieve_secret("db_password") == "s3cret-native"
            status = mgr.get_status()
            assert status["provider"] == "hashicorp_vault"
            assert status["provider_fallback"] is True
            assert "HashiCorp Vault" in status["provider_error"]
        finally:
            openbao.resume()
        lines = [
            mgr.audit_log.open(json.loads(x))
            for x in settings.audit_log_path.read_text().splitlines()
        ]
        fallback = [e for e in lines if e["operation"] == "provider_fallback"]
        assert fallback and fallback[-1]["secret_name"] == "db_password"
        assert fallback[-1]["success"] is False
        assert mgr.retrieve_secret("database_config") == {"host": "h2", "port": 5432}
        assert mgr.get_status()["provider_fallback"] is False
        assert mgr.get_status(health=True)["provider_health"]["ok"] is True
    finally:
        mgr.close()


def test_aws_native_round_trip_and_delete(factory, moto_server) -> None:
    import boto3

    factory.reset("aws_secrets_manager")
    settings = factory.settings("aws_secrets_manager")
    mgr = SecretsManager(settings)
    try:
        mgr.store_secret("api_key", "sk-123456789", "Production API key")
        sm = boto3.client(
            "secretsmanager",
            endpoint_url=moto_server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        got = sm.get_secret_value(SecretId="api_key", VersionStage="AWSCURRENT")
        assert got["SecretString"] == "sk-123456789"
        assert mgr.retrieve_secret("api_key") == "sk-123456789"
        assert mgr.list_secrets()["api_key"].provider == "aws_secrets_manager"
        assert mgr.delete_secret("api_key")
        assert mgr.retrieve_secret("api_key") is None
    finally:
        mgr.close()
