"""Each provider's error table maps the SDK's real exceptions to the core error a user
sees (class, code, hint, whether it is retried), and every row of every table is
reached by some failure: a row no failure can reach is a mapping nobody gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderAuthError,
    ProviderError,
    ProviderLimitError,
    ProviderThrottledError,
    ProviderUnavailableError,
    VaultError,
)
from core.providers import error_tables
from core.providers.errors import Facts, Rule, map_error
from core.providers.retry import error_code, is_retryable

Case = tuple[str, Callable[[], BaseException], type[VaultError], str, bool]
"""(what failed, the SDK exception, core error class, its code, retried)."""


def _hvac_cases() -> list[Case]:
    import hvac.exceptions as hx
    import urllib3

    return [
        ("missing path", lambda: hx.InvalidPath(), NotFoundError, "404", False),
        ("forbidden", lambda: hx.Forbidden(), ProviderAuthError, "403", False),
        ("bad token", lambda: hx.Unauthorized(), ProviderAuthError, "401", False),
        (
            "check-and-set",
            lambda: hx.InvalidRequest(errors=["check-and-set parameter did not match"]),
            ConflictError,
            "cas",
            False,
        ),
        ("bad request", lambda: hx.InvalidRequest(errors=["x"]), ProviderError, "400", False),
        ("rate limit", lambda: hx.RateLimitExceeded(), ProviderThrottledError, "429", True),
        ("sealed", lambda: hx.VaultDown(), ProviderUnavailableError, "503", True),
        ("500", lambda: hx.InternalServerError(), ProviderUnavailableError, "500", True),
        ("502", lambda: hx.BadGateway(), ProviderUnavailableError, "502", True),
        ("tls", lambda: requests.exceptions.SSLError(), ProviderUnavailableError, "tls", False),
        (
            "refused",
            lambda: requests.exceptions.ConnectionError(),
            ProviderUnavailableError,
            "ConnectionError",
            True,
        ),
        (
            "torn",
            lambda: urllib3.exceptions.ProtocolError(),
            ProviderUnavailableError,
            "ProtocolError",
            True,
        ),
        (
            "not initialized",
            lambda: hx.VaultNotInitialized(),
            ProviderUnavailableError,
            "501",
            False,
        ),
        ("unknown", lambda: RuntimeError("x"), ProviderError, "RuntimeError", False),
    ]


def _client_error(code: str, status: int, message: str = "m") -> BaseException:
    import botocore.exceptions as bx

    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bx.ClientError(response, "GetSecretValue")


def _aws_cases() -> list[Case]:
    import botocore.exceptions as bx

    ce = _client_error
    return [
        (
            "missing",
            lambda: ce("ResourceNotFoundException", 400),
            NotFoundError,
            "ResourceNotFoundException",
            False,
        ),
        (
            "exists",
            lambda: ce("ResourceExistsException", 400),
            ConflictError,
            "ResourceExistsException",
            False,
        ),
        (
            "throttled",
            lambda: ce("ThrottlingException", 400),
            ProviderThrottledError,
            "ThrottlingException",
            True,
        ),
        ("429", lambda: ce("", 429), ProviderThrottledError, "429", True),
        (
            "denied",
            lambda: ce("AccessDeniedException", 400),
            ProviderAuthError,
            "AccessDeniedException",
            False,
        ),
        (
            "503",
            lambda: ce("ServiceUnavailable", 503),
            ProviderUnavailableError,
            "ServiceUnavailable",
            True,
        ),
        # 501 never passes: asked once
        (
            "501",
            lambda: ce("NotImplemented", 501),
            ProviderUnavailableError,
            "NotImplemented",
            False,
        ),
        (
            "no status",
            lambda: ce("InternalFailure", 0),
            ProviderUnavailableError,
            "InternalFailure",
            True,
        ),
        (
            "scheduled for deletion",
            lambda: ce("InvalidRequestException", 400, "marked for deletion"),
            ProviderError,
            "InvalidRequestException:deleted",
            False,
        ),
        (
            "quota",
            lambda: ce("LimitExceededException", 400),
            ProviderLimitError,
            "LimitExceededException",
            False,
        ),
        (
            "kms",
            lambda: ce("DecryptionFailure", 400),
            ProviderAuthError,
            "DecryptionFailure",
            False,
        ),
        (
            "other",
            lambda: ce("ValidationException", 400),
            ProviderError,
            "ValidationException",
            False,
        ),
        ("no creds", lambda: bx.NoCredentialsError(), ProviderAuthError, "NoCredentials", False),
        (
            "creds",
            lambda: bx.CredentialRetrievalError(provider="p", error_msg="e"),
            ProviderAuthError,
            "CredentialRetrievalError",
            False,
        ),
        ("region", lambda: bx.NoRegionError(), ConfigError, "NoRegion", False),
        (
            "tls",
            lambda: bx.SSLError(endpoint_url="u", error="e"),
            ProviderUnavailableError,
            "tls",
            False,
        ),
        (
            "unreachable",
            lambda: bx.EndpointConnectionError(endpoint_url="u"),
            ProviderUnavailableError,
            "EndpointConnectionError",
            True,
        ),
        (
            "bad parameter",
            lambda: bx.ParamValidationError(report="r"),
            ProviderError,
            "ParamValidationError",
            False,
        ),
    ]


def _azure_error(status: int, code: str = "", inner: str = "", message: str = "m") -> Any:
    from azure.core import exceptions as ax

    exc = ax.HttpResponseError(message="m")
    exc.status_code = status
    body: dict[str, Any] = {"code": code, "message": message}
    if inner:
        body["innererror"] = {"code": inner}
    exc.error = ax.ODataV4Format(body)
    return exc


def _azure_cases() -> list[Case]:
    import ssl

    from azure.core import exceptions as ax

    az = _azure_error

    def untrusted() -> BaseException:
        exc = ax.ServiceRequestError("connect")
        exc.inner_exception = ssl.SSLError("CERTIFICATE_VERIFY_FAILED")
        return exc

    return [
        (
            "bad credential",
            lambda: ax.ClientAuthenticationError(message="m"),
            ProviderAuthError,
            "ClientAuthenticationError",
            False,
        ),
        ("missing", lambda: az(404), NotFoundError, "404", False),
        (
            "being deleted",
            lambda: az(409, "Conflict", "ObjectIsBeingDeleted"),
            ProviderUnavailableError,
            "ObjectIsBeingDeleted",
            True,
        ),
        ("conflict", lambda: az(409, "Conflict"), ConflictError, "Conflict", False),
        (
            "disabled",
            lambda: az(403, "Forbidden", "SecretDisabled"),
            NotFoundError,
            "disabled",
            False,
        ),
        ("denied", lambda: az(403, "Forbidden"), ProviderAuthError, "403", False),
        ("throttled", lambda: az(429), ProviderThrottledError, "429", True),
        ("503", lambda: az(503), ProviderUnavailableError, "503", True),
        ("501", lambda: az(501), ProviderUnavailableError, "501", False),
        (
            "too large",
            lambda: az(400, "BadParameter", message="value length exceeds"),
            ProviderLimitError,
            "BadParameter",
            False,
        ),
        ("untrusted", untrusted, ProviderUnavailableError, "tls", False),
        (
            "no answer",
            lambda: ax.ServiceResponseError("x"),
            ProviderUnavailableError,
            "ServiceResponseError",
            True,
        ),
        ("status 0", lambda: az(0), ProviderUnavailableError, "HttpResponseError", True),
        ("other", lambda: az(400, "BadParameter"), ProviderError, "BadParameter", False),
    ]


def _gcp_cases() -> list[Case]:
    import google.auth.exceptions as gauth
    from google.api_core import exceptions as gx

    return [
        (
            "disabled",
            lambda: gx.FailedPrecondition("x"),
            NotFoundError,
            "FAILED_PRECONDITION",
            False,
        ),
        ("missing", lambda: gx.NotFound("x"), NotFoundError, "404", False),
        ("exists", lambda: gx.AlreadyExists("x"), ConflictError, "409", False),
        ("quota", lambda: gx.ResourceExhausted("x"), ProviderThrottledError, "429", True),
        ("denied", lambda: gx.PermissionDenied("x"), ProviderAuthError, "403", False),
        ("503", lambda: gx.ServiceUnavailable("x"), ProviderUnavailableError, "503", True),
        ("deadline", lambda: gx.DeadlineExceeded("x"), ProviderUnavailableError, "504", True),
        ("501", lambda: gx.MethodNotImplemented("x"), ProviderUnavailableError, "501", False),
        (
            "too large",
            lambda: gx.InvalidArgument("Secret payload larger than 65536"),
            ProviderLimitError,
            "400",
            False,
        ),
        ("other", lambda: gx.BadRequest("x"), ProviderError, "400", False),
        (
            "refresh",
            lambda: gauth.RefreshError("x"),
            ProviderAuthError,
            "RefreshError",
            False,
        ),
        (
            "token endpoint",
            lambda: gauth.TransportError("x"),
            ProviderUnavailableError,
            "TransportError",
            True,
        ),
        ("tls", lambda: requests.exceptions.SSLError(), ProviderUnavailableError, "tls", False),
        (
            "timeout",
            lambda: requests.exceptions.ReadTimeout(),
            ProviderUnavailableError,
            "ReadTimeout",
            True,
        ),
    ]


TABLES: dict[str, tuple[str, Callable[[], list[Case]]]] = {
    "vault": ("HashiCorp Vault", _hvac_cases),
    "aws": ("AWS Secrets Manager", _aws_cases),
    "azure": ("Azure Key Vault", _azure_cases),
    "gcp": ("GCP Secret Manager", _gcp_cases),
}


def _table(kind: str) -> tuple[tuple[Rule, ...], Callable[[BaseException], Facts]]:
    return getattr(error_tables, f"{kind}_rules")(), getattr(error_tables, f"{kind}_facts")


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_each_failure_maps_to_the_error_a_user_sees(kind: str) -> None:
    display, cases = TABLES[kind]
    rules, facts = _table(kind)
    for what, make, cls, code, retried in cases():
        exc = make()
        err = map_error(display, rules, facts(exc))
        assert type(err) is cls, what
        assert error_code(err) == code, what
        assert is_retryable(err) is retried, what
        # the server's own text never reaches the message
        assert " m)" not in err.message and "payload larger" not in err.message, what
        assert display in err.message or "AWS" in err.message or "Google" in err.message


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_every_row_of_every_table_is_reached(kind: str) -> None:
    rules, facts = _table(kind)
    reached = set()
    for _what, make, *_ in TABLES[kind][1]():
        f = facts(make())
        reached.update(i for i, rule in enumerate(rules) if rule.when(f) and i == _first(rules, f))
    assert reached == set(range(len(rules)))


def _first(rules: tuple[Rule, ...], f: Facts) -> int:
    return next(i for i, rule in enumerate(rules) if rule.when(f))


def test_azure_passes_the_servers_retry_after_on() -> None:
    exc = _azure_error(429)
    exc.response = requests.Response()
    exc.response.headers["Retry-After"] = "7"
    rules, facts = _table("azure")
    err = map_error("Azure Key Vault", rules, facts(exc))
    assert err.retry_after == 7.0  # type: ignore[attr-defined]
