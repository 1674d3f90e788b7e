"""The four providers' error tables: which SDK failure is which core error.

One section per provider: ``*_facts(exc)`` reads an SDK exception into
:class:`~core.providers.errors.Facts`, ``*_rules()`` is the provider's table of
:class:`~core.providers.errors.Rule` rows (first match wins), and each provider's
``_map_error`` is ``map_error(display_name, rules, facts)``. The tables are built on
first use because they name SDK exception classes, and an SDK loads only when its
provider is used. Change a mapping here, row by row; the interpreter and the matchers
are in :mod:`core.providers.errors`.
"""

from __future__ import annotations

import functools
from typing import Any

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderAuthError,
    ProviderError,
    ProviderLimitError,
    ProviderThrottledError,
    ProviderUnavailableError,
)
from core.providers.errors import (
    Facts,
    Match,
    Rule,
    all_of,
    any_of,
    code_is,
    code_or_status,
    exc_name,
    is_a,
    is_tls_error,
    retry_after_header,
    service_code,
    status_from,
    status_is,
    text_has,
)
from core.providers.retry import retryable_status, shown_code

# ---------------------------------------------------------------------- HashiCorp Vault


def vault_facts(exc: BaseException) -> Facts:
    import hvac.exceptions as hx

    if isinstance(exc, hx.InvalidRequest):
        return Facts(exc, text=" ".join(str(e) for e in (exc.errors or [])).lower())
    return Facts(exc)


@functools.cache
def vault_rules() -> tuple[Rule, ...]:
    """HashiCorp Vault's (and OpenBao's) failures, first match wins."""
    import hvac.exceptions as hx
    import requests
    import urllib3

    from core.providers.hashicorp_vault import AUTH_HINT, CONNECT_HINT

    server = {hx.InternalServerError: "500", hx.BadGateway: "502", hx.PreconditionFailed: "412"}

    def server_code(f: Facts) -> str:
        return server.get(type(f.exc), "5xx")

    unavailable = ProviderUnavailableError
    return (
        Rule(is_a(hx.InvalidPath), NotFoundError, "Not found in HashiCorp Vault", code="404"),
        Rule(
            is_a(hx.Forbidden),
            ProviderAuthError,
            "HashiCorp Vault denied access",
            hint=AUTH_HINT,
            code="403",
        ),
        Rule(
            is_a(hx.Unauthorized),
            ProviderAuthError,
            "HashiCorp Vault denied access",
            hint=AUTH_HINT,
            code="401",
        ),
        Rule(
            all_of(is_a(hx.InvalidRequest), text_has("check-and-set")),
            ConflictError,
            "HashiCorp Vault check-and-set failed",
            code="cas",
        ),
        Rule(
            is_a(hx.InvalidRequest),
            ProviderError,
            "HashiCorp Vault rejected the request (400)",
            code="400",
        ),
        Rule(
            is_a(hx.RateLimitExceeded),
            ProviderThrottledError,
            "HashiCorp Vault is rate limiting requests",
            hint="slow down or raise the Vault rate limit quota",
            code="429",
            retryable=True,
        ),
        Rule(
            is_a(hx.VaultDown),
            unavailable,
            "HashiCorp Vault is sealed or unavailable (503)",
            hint="unseal Vault or " + CONNECT_HINT,
            code="503",
            retryable=True,
        ),
        Rule(
            is_a(*server),
            unavailable,
            lambda f: f"HashiCorp Vault server error ({server_code(f)})",
            hint=CONNECT_HINT,
            code=server_code,
            retryable=True,
        ),
        Rule(
            is_a(requests.exceptions.SSLError),
            unavailable,
            "HashiCorp Vault connection failed (TLS)",
            hint="check VAULT_ADDR and VAULT_CACERT",
            code="tls",
        ),
        Rule(
            is_a(
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,
            ),
            unavailable,
            "HashiCorp Vault connection failed",
            hint=CONNECT_HINT,
            code=exc_name,
            retryable=True,
        ),
        Rule(
            is_a(hx.VaultNotInitialized),
            unavailable,
            "HashiCorp Vault is not initialized",
            hint=CONNECT_HINT,
            code="501",
        ),
    )


# ---------------------------------------------------------------------- AWS Secrets Manager


AWS = "AWS Secrets Manager"
_AWS_THROTTLE = (
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
)
_AWS_AUTH = (
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
)
_AWS_SERVER = ("InternalServiceError", "InternalFailure", "ServiceUnavailable")


def aws_facts(exc: BaseException) -> Facts:
    import botocore.exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error") or {}
        return Facts(
            exc,
            status=int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0),
            code=str(err.get("Code") or ""),
            text=str(err.get("Message") or "").lower(),
        )
    return Facts(exc)


def _aws_server_retryable(f: Facts) -> bool:
    # 501 NotImplemented and the like fail the same way on every attempt
    return retryable_status(f.status) if f.status else f.code in _AWS_SERVER


@functools.cache
def aws_rules() -> tuple[Rule, ...]:
    """AWS Secrets Manager's (and botocore's) failures, first match wins."""
    import botocore.exceptions as bx

    from core.providers.aws_secrets_manager import AUTH_HINT, CONNECT_HINT

    def api(match: Match) -> Match:  # a row about the service's answer
        return all_of(is_a(bx.ClientError), match)

    unavailable = ProviderUnavailableError
    return (
        Rule(
            api(code_is("ResourceNotFoundException")),
            NotFoundError,
            f"Not found in {AWS}",
            code=service_code,
        ),
        Rule(
            api(code_is("ResourceExistsException")),
            ConflictError,
            f"The secret already exists in {AWS}",
            code=service_code,
        ),
        Rule(
            api(any_of(code_is(*_AWS_THROTTLE), status_is(429))),
            ProviderThrottledError,
            f"{AWS} is throttling requests",
            hint="slow down, or ask AWS for a higher Secrets Manager quota",
            code=lambda f: f.code or "429",
            retryable=True,
        ),
        Rule(
            api(any_of(code_is(*_AWS_AUTH), status_is(401, 403))),
            ProviderAuthError,
            f"{AWS} denied access",
            hint=AUTH_HINT,
            code=code_or_status,
        ),
        Rule(
            api(any_of(code_is(*_AWS_SERVER), status_from(500))),
            unavailable,
            lambda f: f"{AWS} server error ({shown_code(f.code or f.status)})",
            hint=CONNECT_HINT,
            code=code_or_status,
            retryable=_aws_server_retryable,
        ),
        Rule(
            api(all_of(code_is("InvalidRequestException"), text_has("delet"))),
            ProviderError,
            f"The secret is scheduled for deletion in {AWS}",
            hint="restore it or wait until it is deleted",
            code="InvalidRequestException:deleted",
        ),
        Rule(
            api(code_is("LimitExceededException")),
            ProviderLimitError,
            f"{AWS} quota exceeded (secrets or versions)",
            hint="delete unused secrets or versions, or ask AWS for a higher quota",
            code=service_code,
        ),
        Rule(
            api(code_is("DecryptionFailure", "EncryptionFailure")),
            ProviderAuthError,
            f"{AWS} could not use the secret's KMS key",
            hint="check the KMS key policy for these credentials",
            code=service_code,
        ),
        Rule(
            is_a(bx.ClientError),
            ProviderError,
            lambda f: f"{AWS} rejected the request ({shown_code(f.code)})",
            code=service_code,
        ),
        Rule(
            is_a(bx.NoCredentialsError, bx.PartialCredentialsError),
            ProviderAuthError,
            "No AWS credentials found",
            hint=AUTH_HINT,
            code="NoCredentials",
        ),
        Rule(
            is_a(bx.CredentialRetrievalError, bx.TokenRetrievalError),
            ProviderAuthError,
            "AWS credentials could not be retrieved",
            hint=AUTH_HINT,
            code=exc_name,
        ),
        Rule(
            is_a(bx.NoRegionError),
            ConfigError,
            "No AWS region configured",
            hint="set AWS_REGION",
            code="NoRegion",
        ),
        Rule(
            is_a(bx.SSLError),
            unavailable,
            f"{AWS} connection failed (TLS)",
            hint=CONNECT_HINT + "; check AWS_CA_BUNDLE",
            code="tls",
        ),
        Rule(
            is_a(bx.EndpointConnectionError, bx.ConnectionError, bx.HTTPClientError),
            unavailable,
            f"{AWS} connection failed",
            hint=CONNECT_HINT,
            code=exc_name,
            retryable=True,
        ),
        Rule(
            is_a(bx.ParamValidationError),
            ProviderError,
            f"{AWS} request rejected by boto3 (invalid parameter)",
            code="ParamValidationError",
        ),
    )


# ---------------------------------------------------------------------- Azure Key Vault


AZURE = "Azure Key Vault"
_AZURE_PASSING_CONFLICTS = ("ObjectIsBeingDeleted", "ObjectIsBeingRecovered")
"""409 codes that go away by themselves (a delete or recovery still running)."""


def azure_facts(exc: BaseException) -> Facts:
    from azure.core import exceptions as ax

    if not isinstance(exc, ax.HttpResponseError):
        return Facts(exc)
    err = getattr(exc, "error", None)
    inner = getattr(err, "innererror", None) or {}
    return Facts(
        exc,
        status=int(exc.status_code or 0),
        code=str(getattr(err, "code", "") or ""),
        inner=str(inner.get("code", "")) if isinstance(inner, dict) else "",
        text=str(getattr(err, "message", "") or "").lower(),
        retry_after=retry_after_header(exc),
    )


def _azure_inner_is(code: str) -> Match:
    return lambda f: f.inner == code


def _azure_conflict_code(f: Facts) -> str:
    return f.inner or f.code or "Conflict"


def _azure_rejected(f: Facts) -> str:
    if f.code:
        return f"{AZURE} rejected the request ({f.status} {shown_code(f.code)})"
    return f"{AZURE} rejected the request ({f.status})"


@functools.cache
def azure_rules() -> tuple[Rule, ...]:
    """Azure Key Vault's (and azure-core's) failures, first match wins."""
    from azure.core import exceptions as ax

    from core.providers.azure_key_vault import AUTH_HINT, CONNECT_HINT, MAX_VALUE_BYTES

    def http(*matches: Match) -> Match:  # a row about the service's answer
        return all_of(is_a(ax.HttpResponseError), *matches)

    unavailable = ProviderUnavailableError
    no_connection = any_of(
        http(status_is(0)), is_a(ax.ServiceRequestError, ax.ServiceResponseError)
    )
    return (
        # a subclass of HttpResponseError: first
        Rule(
            is_a(ax.ClientAuthenticationError),
            ProviderAuthError,
            f"{AZURE} denied access",
            hint=AUTH_HINT,
            code=exc_name,
        ),
        Rule(http(status_is(404)), NotFoundError, f"Not found in {AZURE}", code="404"),
        Rule(
            http(status_is(409), lambda f: _azure_conflict_code(f) in _AZURE_PASSING_CONFLICTS),
            unavailable,
            f"{AZURE} is still deleting or recovering this secret",
            hint="try again in a moment",
            code=_azure_conflict_code,
            retryable=True,
        ),
        Rule(
            http(status_is(409)),
            ConflictError,
            f"{AZURE} reported a conflict",
            code=_azure_conflict_code,
        ),
        Rule(
            http(status_is(403), any_of(_azure_inner_is("SecretDisabled"), text_has("disabled"))),
            NotFoundError,
            f"The secret version is disabled in {AZURE}",
            code="disabled",
        ),
        Rule(
            http(status_is(401, 403)),
            ProviderAuthError,
            f"{AZURE} denied access",
            hint=AUTH_HINT,
            code=lambda f: str(f.status),
        ),
        Rule(
            http(status_is(429)),
            ProviderThrottledError,
            f"{AZURE} is throttling requests",
            hint="slow down; Key Vault allows about 4,000 secret requests per 10 s",
            code=lambda f: f.code or "429",
            retryable=True,
            retry_after=True,
        ),
        Rule(
            http(status_from(500)),
            unavailable,
            lambda f: f"{AZURE} server error ({f.status})",
            hint=CONNECT_HINT,
            code=lambda f: str(f.status),
            retryable=lambda f: retryable_status(f.status),
            retry_after=True,
        ),
        Rule(
            http(status_is(400), text_has("length", "too large")),
            ProviderLimitError,
            f"{AZURE} refused the value as too large (over {MAX_VALUE_BYTES} bytes)",
            code=lambda f: f.code or "400",
        ),
        Rule(
            all_of(no_connection, lambda f: is_tls_error(f.exc)),
            unavailable,
            f"{AZURE} connection failed (TLS certificate not trusted)",
            hint="check AZURE_VAULT_URL and the CA bundle (REQUESTS_CA_BUNDLE)",
            code="tls",
        ),
        Rule(
            no_connection,
            unavailable,
            f"{AZURE} connection failed",
            hint=CONNECT_HINT,
            code=exc_name,
            retryable=True,
        ),
        Rule(http(), ProviderError, _azure_rejected, code=code_or_status),
    )


# ---------------------------------------------------------------------- GCP Secret Manager


GCP = "GCP Secret Manager"


def gcp_facts(exc: BaseException) -> Facts:
    from google.api_core import exceptions as gx

    if not isinstance(exc, gx.GoogleAPICallError):
        return Facts(exc)
    # status: the HTTP status; code: the google.rpc status name ("NOT_FOUND")
    return Facts(
        exc,
        status=int(exc.code) if isinstance(exc.code, int) else 0,
        code=_gcp_rpc_status(exc),
        text=str(exc.message).lower(),
        retry_after=retry_after_header(exc),
    )


def _gcp_rpc_status(exc: Any) -> str:
    """The google.rpc status name of a REST error ("NOT_FOUND", ...), if present."""
    response = getattr(exc, "response", None)
    try:
        return str(response.json()["error"]["status"])  # type: ignore[union-attr]  # no response: caught below
    except Exception:  # not a REST response, or no JSON body
        return ""


def _gcp_status_or_name(f: Facts) -> str:
    return str(f.status or f.code)


@functools.cache
def gcp_rules() -> tuple[Rule, ...]:
    """GCP Secret Manager's (and google-auth's, requests') failures, first match wins."""
    import google.auth.exceptions as gauth
    import requests
    import urllib3
    from google.api_core import exceptions as gx

    from core.providers.gcp_secret_manager import AUTH_HINT, CONNECT_HINT, MAX_VALUE_BYTES

    unavailable = ProviderUnavailableError
    return (
        Rule(
            all_of(
                is_a(gx.GoogleAPICallError),
                any_of(code_is("FAILED_PRECONDITION"), is_a(gx.FailedPrecondition)),
            ),
            NotFoundError,
            f"The secret version is disabled or destroyed in {GCP}",
            code="FAILED_PRECONDITION",
        ),
        Rule(is_a(gx.NotFound), NotFoundError, f"Not found in {GCP}", code="404"),
        Rule(
            is_a(gx.Conflict, gx.AlreadyExists),
            ConflictError,
            f"The secret already exists in {GCP}",
            code="409",
        ),
        Rule(
            is_a(gx.TooManyRequests, gx.ResourceExhausted),
            ProviderThrottledError,
            f"{GCP} is throttling requests (quota exceeded)",
            hint="slow down, or raise the project's Secret Manager quota",
            code="429",
            retryable=True,
            retry_after=True,
        ),
        Rule(
            is_a(gx.Unauthenticated, gx.PermissionDenied, gx.Unauthorized, gx.Forbidden),
            ProviderAuthError,
            f"{GCP} denied access",
            hint=AUTH_HINT,
            code=lambda f: str(f.status),
        ),
        Rule(
            is_a(gx.ServerError, gx.DeadlineExceeded, gx.ServiceUnavailable),
            unavailable,
            lambda f: f"{GCP} server error ({shown_code(_gcp_status_or_name(f))})",
            hint=CONNECT_HINT,
            code=_gcp_status_or_name,
            # a deadline or an unavailable server passes; 501 does not
            retryable=lambda f: not f.status or retryable_status(f.status),
            retry_after=True,
        ),
        Rule(
            all_of(is_a(gx.BadRequest, gx.InvalidArgument), text_has("larger than")),
            ProviderLimitError,
            f"{GCP} refused the value as too large (over {MAX_VALUE_BYTES} bytes)",
            code="400",
        ),
        Rule(
            is_a(gx.GoogleAPICallError),
            ProviderError,
            lambda f: f"{GCP} rejected the request ({shown_code(_gcp_status_or_name(f))})",
            code=_gcp_status_or_name,
        ),
        Rule(
            is_a(gauth.RefreshError, gauth.DefaultCredentialsError),
            ProviderAuthError,
            "Google credentials could not be refreshed",
            hint=AUTH_HINT,
            code=exc_name,
        ),
        Rule(
            is_a(gauth.TransportError),
            unavailable,
            f"{GCP} connection failed (credentials endpoint)",
            hint=CONNECT_HINT,
            code="TransportError",
            retryable=True,
        ),
        Rule(
            is_a(requests.exceptions.SSLError),
            unavailable,
            f"{GCP} connection failed (TLS)",
            hint=CONNECT_HINT,
            code="tls",
        ),
        Rule(
            is_a(
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,
            ),
            unavailable,
            f"{GCP} connection failed",
            hint=CONNECT_HINT,
            code=exc_name,
            retryable=True,
        ),
    )
