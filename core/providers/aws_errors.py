"""AWS Secrets Manager errors mapped onto the core's exceptions: throttling, auth,
server, quota, KMS and connection failures, each with an actionable hint.
"""

from __future__ import annotations

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
from core.providers.retry import (
    generic_error,
    provider_error,
    retryable_status,
    shown_code,
)

CONNECT_HINT = (
    "check AWS_REGION and network access to Secrets Manager "
    "(and AWS_ENDPOINT_URL_SECRETS_MANAGER if set)"
)
AUTH_HINT = (
    "check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or "
    "the IAM role) and their secretsmanager:* permissions"
)
_THROTTLE_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
}
_AUTH_CODES = {
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
}
_SERVER_CODES = {"InternalServiceError", "InternalFailure", "ServiceUnavailable"}


def map_aws_error(exc: Exception, display_name: str) -> VaultError:
    """The core error for an exception of boto3/botocore, with the seed's hints."""
    import botocore.exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error") or {}
        code = str(err.get("Code") or "")
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        text = str(err.get("Message") or "").lower()
        if code == "ResourceNotFoundException":
            return provider_error(NotFoundError, "Not found in AWS Secrets Manager", code=code)
        if code == "ResourceExistsException":
            return provider_error(
                ConflictError, "The secret already exists in AWS Secrets Manager", code=code
            )
        if code in _THROTTLE_CODES or status == 429:
            return provider_error(
                ProviderThrottledError,
                "AWS Secrets Manager is throttling requests",
                hint="slow down, or ask AWS for a higher Secrets Manager quota",
                code=code or "429",
                retryable=True,
            )
        if code in _AUTH_CODES or status in (401, 403):
            return provider_error(
                ProviderAuthError,
                "AWS Secrets Manager denied access",
                hint=AUTH_HINT,
                code=code or str(status),
            )
        if code in _SERVER_CODES or status >= 500:
            return provider_error(
                ProviderUnavailableError,
                f"AWS Secrets Manager server error ({shown_code(code or status)})",
                hint=CONNECT_HINT,
                code=code or str(status),
                # 501 NotImplemented and the like fail the same way on every attempt
                retryable=retryable_status(status) if status else code in _SERVER_CODES,
            )
        if code == "InvalidRequestException" and "delet" in text:
            return provider_error(
                ProviderError,
                "The secret is scheduled for deletion in AWS Secrets Manager",
                hint="restore it or wait until it is deleted",
                code="InvalidRequestException:deleted",
            )
        if code == "LimitExceededException":
            return provider_error(
                ProviderLimitError,
                "AWS Secrets Manager quota exceeded (secrets or versions)",
                hint="delete unused secrets or versions, or ask AWS for a higher quota",
                code=code,
            )
        if code in ("DecryptionFailure", "EncryptionFailure"):
            return provider_error(
                ProviderAuthError,
                "AWS Secrets Manager could not use the secret's KMS key",
                hint="check the KMS key policy for these credentials",
                code=code,
            )
        return provider_error(
            ProviderError,
            f"AWS Secrets Manager rejected the request ({shown_code(code)})",
            code=code,
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return provider_error(
            ProviderAuthError, "No AWS credentials found", hint=AUTH_HINT, code="NoCredentials"
        )
    if isinstance(exc, bx.CredentialRetrievalError | bx.TokenRetrievalError):
        return provider_error(
            ProviderAuthError,
            "AWS credentials could not be retrieved",
            hint=AUTH_HINT,
            code=type(exc).__name__,
        )
    if isinstance(exc, bx.NoRegionError):
        return provider_error(
            ConfigError, "No AWS region configured", hint="set AWS_REGION", code="NoRegion"
        )
    if isinstance(exc, bx.SSLError):
        return provider_error(
            ProviderUnavailableError,
            "AWS Secrets Manager connection failed (TLS)",
            hint=CONNECT_HINT + "; check AWS_CA_BUNDLE",
            code="tls",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError | bx.HTTPClientError):
        return provider_error(
            ProviderUnavailableError,
            "AWS Secrets Manager connection failed",
            hint=CONNECT_HINT,
            code=type(exc).__name__,
            retryable=True,
        )
    if isinstance(exc, bx.ParamValidationError):
        return provider_error(
            ProviderError,
            "AWS Secrets Manager request rejected by boto3 (invalid parameter)",
            code="ParamValidationError",
        )
    return generic_error(display_name, exc)
