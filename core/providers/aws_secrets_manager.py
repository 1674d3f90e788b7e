"""AWS Secrets Manager, through boto3.

Configuration: ``AWS_REGION`` (default ``us-east-1``) and boto3's usual credential
chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, config files, SSO, container or instance roles).
``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (or ``AWS_ENDPOINT_URL``) points at another
endpoint (a VPC endpoint, LocalStack, moto).

Layout: the secret ``db/password`` is the AWS secret named ``db/password``. A ``str`` is
its ``SecretString``, ``bytes`` its ``SecretBinary``, a ``dict`` a JSON ``SecretString``
in a version whose id starts with ``vaultui-dict-`` (that is how a dict is told from a
string that happens to be JSON, per version). AWS refuses empty values, so an empty
string or bytes value is stored as a single space in a version whose id starts with
``vaultui-empty-str-`` / ``vaultui-empty-bytes-``. New secrets are tagged
``managed-by=vaultui``. Every write sends its own ``ClientRequestToken``, so a retried
write never creates a second version.

``expected_version`` is atomic: the new version is written with the private staging
label ``VAULTUI_PENDING`` and then ``AWSCURRENT`` is moved to it with
``UpdateSecretVersionStage(RemoveFromVersionId=expected)``, which AWS refuses when
``AWSCURRENT`` is no longer on the expected version.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderAuthError,
    ProviderError,
    ProviderThrottledError,
    ProviderUnavailableError,
    VaultError,
)
from core.providers.base import (
    ABSENT,
    BulkResult,
    Provider,
    ProviderEntry,
    ProviderLimits,
    ProviderSecret,
    ProviderVersion,
    page_budget,
)
from core.providers.codec import check_size, from_text, parse_time, to_bytes
from core.providers.error_tables import aws_facts, aws_rules
from core.providers.errors import map_error
from core.providers.retry import (
    RateLimits,
    error_code,
    guard_malformed,
    provider_error,
)

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault.codec import SecretValue

log = logging.getLogger(__name__)

MAX_VALUE_BYTES = 65536
DICT_PREFIX = "vaultui-dict-"
EMPTY_STR_PREFIX = "vaultui-empty-str-"
EMPTY_BYTES_PREFIX = "vaultui-empty-bytes-"
_PREFIXES = {
    "dict": DICT_PREFIX,
    "empty-str": EMPTY_STR_PREFIX,
    "empty-bytes": EMPTY_BYTES_PREFIX,
}
PENDING_STAGE = "VAULTUI_PENDING"
AWS_STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING", PENDING_STAGE)
BATCH_SIZE = 20  # BatchGetSecretValue takes at most 20 ids
CONNECT_HINT = (
    "check AWS_REGION and network access to Secrets Manager "
    "(and AWS_ENDPOINT_URL_SECRETS_MANAGER if set)"
)
AUTH_HINT = (
    "check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or "
    "the IAM role) and their secretsmanager:* permissions"
)


def _env(settings: Settings, name: str) -> str | None:
    return settings.env.get(name) or None


_LOADER: Any = None
_USER_AGENT: str | None = None


def _user_agent() -> str:
    """``vaultui/<v> Boto3/<v> Botocore/<v> Python/<v>``, computed once."""
    global _USER_AGENT
    if _USER_AGENT is None:
        import platform
        from importlib import metadata

        import boto3
        import botocore

        try:
            ours = metadata.version("vaultui")
        except metadata.PackageNotFoundError:
            ours = "dev"
        _USER_AGENT = (
            f"vaultui/{ours} Boto3/{boto3.__version__} Botocore/{botocore.__version__} "
            f"Python/{platform.python_version()}"
        )
    return _USER_AGENT


def _shared_loader() -> Any:
    """One botocore model loader per process: building a client then takes ~20 ms, not 250."""
    global _LOADER
    if _LOADER is None:
        import botocore.loaders

        _LOADER = botocore.loaders.create_loader()
    return _LOADER


class AwsSecretsManagerProvider(Provider):
    """Native secrets in AWS Secrets Manager (one AWS secret per vault secret).

    Extra constructor keywords: ``endpoint_url`` (overrides the environment's).
    """

    name = "aws_secrets_manager"
    display_name = "AWS Secrets Manager"
    extra = "aws"
    sdk_modules = ("boto3",)
    limits = ProviderLimits(
        max_value_bytes=MAX_VALUE_BYTES,
        name_alphabet="letters, digits and / _ + = . @ -",
        max_name_length=512,
    )
    # Published quotas: 50 writes/s (PutSecretValue, CreateSecret, UpdateSecretVersionStage,
    # DeleteSecret...), 10,000 GetSecretValue/DescribeSecret per second.
    default_rate_limits = RateLimits(read=10000, write=50)
    default_workers = 8
    default_page_size = 100
    bulk_prefetch = True

    def __init__(self, settings: Settings, *, endpoint_url: str | None = None, **kwargs: Any):
        super().__init__(settings, **kwargs)
        self._import_sdk()
        self.region = settings.aws_region or "us-east-1"
        self.endpoint_url = (
            endpoint_url
            or _env(settings, "AWS_ENDPOINT_URL_SECRETS_MANAGER")
            or _env(settings, "AWS_ENDPOINT_URL")
        )
        self._client = self._make_client()

    @classmethod
    def _session(cls, settings: Settings) -> Any:
        import boto3
        import botocore.exceptions
        import botocore.session

        key, secret = _env(settings, "AWS_ACCESS_KEY_ID"), _env(settings, "AWS_SECRET_ACCESS_KEY")
        explicit = bool(key and secret)
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())  # parse API models once
        try:
            return boto3.session.Session(
                botocore_session=core,
                aws_access_key_id=key if explicit else None,
                aws_secret_access_key=secret if explicit else None,
                aws_session_token=_env(settings, "AWS_SESSION_TOKEN") if explicit else None,
                profile_name=None if explicit else _env(settings, "AWS_PROFILE"),
                region_name=settings.aws_region or "us-east-1",
            )
        except botocore.exceptions.ProfileNotFound:
            raise ConfigError(
                "AWS_PROFILE names a profile that does not exist",
                hint="check AWS_PROFILE and ~/.aws/config",
            ) from None

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        try:
            creds = cls._session(settings).get_credentials()
        except ConfigError as exc:
            return False, str(exc)
        except Exception as exc:  # credential providers raise many types
            return False, f"AWS credentials could not be loaded ({type(exc).__name__})"
        if creds is None:
            return False, "no AWS credentials: " + AUTH_HINT
        return True, f"ready: region {settings.aws_region}"

    def _make_client(self) -> Any:
        from botocore.config import Config

        config = Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            retries={"mode": "standard", "total_max_attempts": 1},  # retries are ours
            max_pool_connections=max(10, self.max_workers),
            # A fixed User-Agent naming vaultui. botocore otherwise rebuilds its own
            # (some 30 sanitized components) twice per request: a sixth of a call's CPU.
            user_agent=_user_agent(),
        )
        return self._session(self.settings).client(
            "secretsmanager", endpoint_url=self.endpoint_url, config=config
        )

    def _describe(self) -> str:
        where = f" endpoint={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"region={self.region!r}{where}"

    def close(self) -> None:
        """Close the HTTP connections."""
        try:
            self._client.close()
        except Exception:  # best effort
            log.debug("closing the boto3 client failed", exc_info=True)

    # ------------------------------------------------------------------ values

    def _value_args(self, name: str, value: SecretValue) -> tuple[dict[str, Any], str]:
        payload, kind = to_bytes(value)
        check_size(self.display_name, name, len(payload), MAX_VALUE_BYTES)
        if not payload:  # AWS refuses empty values: store a space, mark the version
            return {"SecretString": " "}, f"empty-{kind}"
        if kind == "bytes":
            return {"SecretBinary": payload}, kind
        return {"SecretString": payload.decode("utf-8")}, kind

    @staticmethod
    def _token(kind: str) -> str:
        return _PREFIXES.get(kind, "") + uuid.uuid4().hex

    @staticmethod
    def _decode(resp: dict[str, Any]) -> tuple[SecretValue, str]:
        version = str(resp.get("VersionId", ""))
        if version.startswith(EMPTY_STR_PREFIX):
            return "", "str"
        if version.startswith(EMPTY_BYTES_PREFIX):
            return b"", "bytes"
        if resp.get("SecretBinary") is not None:
            return bytes(resp["SecretBinary"]), "bytes"
        text = resp.get("SecretString") or ""
        if version.startswith(DICT_PREFIX):
            value = from_text(text, "dict")
            return value, "dict" if isinstance(value, dict) else "str"
        return text, "str"

    def _secret_from(self, name: str, resp: dict[str, Any]) -> ProviderSecret:
        value, kind = self._decode(resp)
        return ProviderSecret(
            name=name,
            value=value,
            version=str(resp.get("VersionId", "")),
            updated_at=parse_time(resp.get("CreatedDate")),
            type=kind,
            stages=tuple(resp.get("VersionStages") or ()),
        )

    # ------------------------------------------------------------------ interface

    @guard_malformed
    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        sid = self.names.encode(name)
        args: dict[str, Any] = {"SecretId": sid}
        if version is None:
            args["VersionStage"] = "AWSCURRENT"
        elif version in AWS_STAGES:
            args["VersionStage"] = version
        else:
            args["VersionId"] = version
        try:
            resp = self._call("read", "get", lambda: self._client.get_secret_value(**args))
        except NotFoundError:
            return None
        except ProviderError as exc:
            if error_code(exc) in ("InvalidRequestException:deleted", "InvalidParameterException"):
                return None  # scheduled for deletion, or not a valid version id
            raise
        return self._secret_from(name, resp)

    @guard_malformed
    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        sid = self.names.encode(name)
        args, kind = self._value_args(name, value)
        token = self._token(kind)
        if expected_version is None:
            exists = None if known is None else name in known
            return self._upsert(sid, args, token, exists)
        if expected_version == ABSENT:
            try:
                return self._create(sid, args, token)
            except ConflictError:
                raise ConflictError(
                    f"Secret {name!r} already exists in AWS Secrets Manager; nothing was written"
                ) from None
        return self._check_and_set(name, sid, args, token, expected_version)

    def _create(self, sid: str, args: dict[str, Any], token: str) -> str:
        resp = self._call(
            "write",
            "create",
            lambda: self._client.create_secret(
                Name=sid,
                ClientRequestToken=token,
                Tags=[{"Key": "managed-by", "Value": "vaultui"}],
                **args,
            ),
        )
        return str(resp.get("VersionId") or token)

    def _put_value(self, sid: str, args: dict[str, Any], token: str, **extra: Any) -> str:
        resp = self._call(
            "write",
            "put",
            lambda: self._client.put_secret_value(
                SecretId=sid, ClientRequestToken=token, **args, **extra
            ),
        )
        return str(resp.get("VersionId") or token)

    def _restore(self, sid: str) -> None:
        """Cancel a scheduled deletion; waits (bounded) while a purge is still running."""
        for attempt in range(self.retry.attempts):
            try:
                self._call("write", "restore", lambda: self._client.restore_secret(SecretId=sid))
                return
            except NotFoundError:
                time.sleep(self.retry.delay(attempt))  # purged, name not free yet
        raise provider_error(
            ProviderUnavailableError,
            "AWS Secrets Manager is still deleting a secret with this name",
            hint="try again in a minute",
            code="deleting",
            retryable=True,
        )

    def _upsert(self, sid: str, args: dict[str, Any], token: str, exists: bool | None) -> str:
        if exists is False:
            try:
                return self._create(sid, args, token)
            except ConflictError:
                pass  # created meanwhile: write a new version instead
            except ProviderError as exc:
                if error_code(exc) != "InvalidRequestException:deleted":
                    raise
                self._restore(sid)
        try:
            return self._put_value(sid, args, token)
        except NotFoundError:
            try:
                return self._create(sid, args, token)
            except ConflictError:
                return self._put_value(sid, args, token)
            except ProviderError as exc:
                if error_code(exc) != "InvalidRequestException:deleted":
                    raise
                self._restore(sid)
                return self._put_value(sid, args, token)
        except ProviderError as exc:
            if error_code(exc) != "InvalidRequestException:deleted":
                raise
            self._restore(sid)
            return self._put_value(sid, args, token)

    def _check_and_set(
        self, name: str, sid: str, args: dict[str, Any], token: str, expected: str
    ) -> str:
        conflict = ConflictError(
            f"Secret {name!r} in AWS Secrets Manager is no longer at version {expected}: "
            "it changed since you read it; nothing was made current"
        )
        try:
            self._put_value(sid, args, token, VersionStages=[PENDING_STAGE])
        except NotFoundError:
            raise conflict from None
        except ProviderError as exc:
            if error_code(exc) == "InvalidRequestException:deleted":
                raise conflict from None
            raise
        try:
            self._call(
                "write",
                "move AWSCURRENT",
                lambda: self._client.update_secret_version_stage(
                    SecretId=sid,
                    VersionStage="AWSCURRENT",
                    MoveToVersionId=token,
                    RemoveFromVersionId=expected,
                ),
            )
        except ProviderError as exc:
            if error_code(exc) not in ("InvalidParameterException", "ResourceNotFoundException"):
                raise
            self._drop_pending(sid, token)
            raise conflict from None
        except NotFoundError:
            self._drop_pending(sid, token)
            raise conflict from None
        self._drop_pending(sid, token)
        return token

    def _drop_pending(self, sid: str, token: str) -> None:
        try:
            self._call(
                "write",
                "drop VAULTUI_PENDING",
                lambda: self._client.update_secret_version_stage(
                    SecretId=sid, VersionStage=PENDING_STAGE, RemoveFromVersionId=token
                ),
            )
        except VaultError:  # only tidies a label; the outcome is already decided
            log.debug("could not remove the %s label", PENDING_STAGE)

    @guard_malformed
    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Schedule deletion (recoverable for AWS's 30-day window; a later :meth:`put`
        restores it); ``purge`` deletes without recovery."""
        sid = self.names.encode(name)
        args: dict[str, Any] = {"SecretId": sid}
        if purge:
            args["ForceDeleteWithoutRecovery"] = True
        try:
            self._call("write", "delete", lambda: self._client.delete_secret(**args))
        except NotFoundError:
            return False
        except ProviderError as exc:
            if error_code(exc) != "InvalidRequestException:deleted":
                raise
            if not purge:
                return False  # already scheduled for deletion
            self._restore(sid)
            self._call("write", "delete", lambda: self._client.delete_secret(**args))
        return True

    @guard_malformed
    def versions(self, name: str) -> list[ProviderVersion]:
        """Every version AWS keeps (labelled ones and up to 100 unlabelled), by age."""
        sid = self.names.encode(name)
        out: list[ProviderVersion] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {
                "SecretId": sid,
                "IncludeDeprecated": True,
                "MaxResults": min(100, self.page_size),
            }
            if token:
                args["NextToken"] = token
            try:
                resp = self._call(
                    "read",
                    "versions",
                    functools.partial(self._client.list_secret_version_ids, **args),
                )
            except NotFoundError:
                return []
            for v in resp.get("Versions") or []:
                stages = tuple(v.get("VersionStages") or ())
                out.append(
                    ProviderVersion(
                        version=str(v["VersionId"]),
                        created_at=parse_time(v.get("CreatedDate")),
                        current="AWSCURRENT" in stages,
                        stages=stages,
                    )
                )
            token = resp.get("NextToken")
            if not token:
                break
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return sorted(out, key=lambda pv: (pv.created_at or epoch, pv.current))

    @guard_malformed
    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        token: str | None = None
        pages = 0
        while True:
            pages += 1
            page_budget(max_pages, pages)
            args: dict[str, Any] = {"MaxResults": min(100, self.page_size)}
            if token:
                args["NextToken"] = token
            resp = self._call(
                "read", "list page", functools.partial(self._client.list_secrets, **args)
            )
            for item in resp.get("SecretList") or []:
                if item.get("DeletedDate"):
                    continue
                name = self.names.decode(str(item.get("Name", "")))
                if name is None:
                    continue
                stages = item.get("SecretVersionsToStages") or {}
                current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
                yield ProviderEntry(
                    name=name,
                    version=current,
                    updated_at=parse_time(item.get("LastChangedDate")),
                )
            token = resp.get("NextToken")
            if not token:
                return

    def get_many(
        self, names: Iterable[str], *, max_workers: int | None = None
    ) -> BulkResult[ProviderSecret | None]:
        """Read many secrets with ``BatchGetSecretValue`` (20 per call), concurrently.

        Falls back to one ``GetSecretValue`` per secret when the batch call is refused
        (it needs the ``secretsmanager:BatchGetSecretValue`` permission).
        """
        wanted = list(dict.fromkeys(names))
        chunks = [wanted[i : i + BATCH_SIZE] for i in range(0, len(wanted), BATCH_SIZE)]
        per_chunk = self._run_bulk(
            chunks,
            self._batch_get,
            key_name=lambda chunk: chunk[0],
            max_workers=max_workers,
        )
        result: BulkResult[ProviderSecret | None] = BulkResult(
            self.display_name,
            total=len(wanted),
            seconds=per_chunk.seconds,
            workers=per_chunk.workers,
        )
        for chunk in chunks:
            key = chunk[0]
            if key in per_chunk.done:
                result.done.update(per_chunk.done[key])
            else:
                err = per_chunk.failed[key]
                for n in chunk:
                    result.failed[n] = err
                if key in per_chunk.not_attempted:
                    result.not_attempted.extend(chunk)
        return result

    @guard_malformed
    def _batch_get(self, chunk: list[str]) -> dict[str, ProviderSecret | None]:
        ids = {self.names.encode(n): n for n in chunk}
        try:
            resp = self._call(
                "read",
                "batch get",
                lambda: self._client.batch_get_secret_value(SecretIdList=list(ids)),
            )
        except (ProviderAuthError, ProviderError) as exc:
            if isinstance(exc, ProviderUnavailableError | ProviderThrottledError):
                raise
            return {n: self._get(n, None, None) for n in chunk}  # batch not allowed here
        out: dict[str, ProviderSecret | None] = dict.fromkeys(chunk)
        for item in resp.get("SecretValues") or []:
            name = ids.get(str(item.get("Name"))) or ids.get(str(item.get("ARN")))
            if name is None:
                continue
            if "AWSCURRENT" not in (item.get("VersionStages") or ()):
                out[name] = self._get(name, None, None)  # a stale default version: re-read
            else:
                out[name] = self._secret_from(name, item)
        for err in resp.get("Errors") or []:
            code = err.get("ErrorCode")
            if code not in ("ResourceNotFoundException", "InvalidRequestException"):
                name = ids.get(str(err.get("SecretId")))
                if name is not None:
                    out[name] = self._get(name, None, None)  # surfaces the real error
        return out

    def _health(self) -> str:
        self._call("read", "health", lambda: self._client.list_secrets(MaxResults=1))
        where = self.endpoint_url or f"secretsmanager.{self.region}.amazonaws.com"
        return f"{where} (region {self.region})"

    # ------------------------------------------------------------------ errors

    def _map_error(self, exc: Exception) -> VaultError:
        """The core error for an SDK exception: the first matching row of the table."""
        return map_error(self.display_name, aws_rules(), aws_facts(exc))
