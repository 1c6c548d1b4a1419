"""Turning botocore's exceptions into the library's one-line `DdbError`s.

Library functions run their AWS calls inside `translated(client, table)`; whatever
the SDK raises for a foreseeable reason (engine down, table missing, no credentials)
leaves as a `DdbError` naming the endpoint and, as a `Hint`, what to do.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from ddb.core.clients import AwsClient
from ddb.core.errors import CredentialsError, DdbError, EngineUnreachable, Hint, TableMissing
from ddb.core.text import masked

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "AccessDeniedException",
    "ExpiredToken",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidAccessKeyId",
}


NO_CREDENTIALS = (
    "no AWS credentials found: run `aws configure`, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def error_code(exc: BaseException) -> str:
    """The error code of a botocore `ClientError` (`ConditionalCheckFailedException`, …); "" for any other exception."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return (response.get("Error") or {}).get("Code", "") or ""


def is_loopback(endpoint_url: str | None) -> bool:
    """True when the endpoint is on this machine (a local engine)."""
    return bool(endpoint_url) and urlparse(endpoint_url).hostname in _LOOPBACK


def to_ddb_error(exc: BaseException, client: AwsClient, table: str | None = None, doing: str | None = None) -> DdbError | None:
    """The `DdbError` for a botocore exception, or None when it is not foreseeable.

    Without `doing` the request is DynamoDB's, on `table`. With it, the request is a step of
    any AWS service ("upload the package"), and the line names the service and the step.
    """
    from botocore import exceptions as bx

    endpoint = masked(client.meta.endpoint_url or "")
    if isinstance(exc, bx.NoCredentialsError):
        return CredentialsError(NO_CREDENTIALS)
    unreachable = (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError, bx.ReadTimeoutError)
    if doing is not None:
        service = client.meta.service_model.service_id
        if isinstance(exc, unreachable):
            return EngineUnreachable(f"cannot reach {service} at {endpoint} to {doing}: check the network and the region")
        if isinstance(exc, bx.ClientError):
            code, message = error_code(exc), exc.response.get("Error", {}).get("Message", "")
            refused = CredentialsError if code in _CREDENTIAL_CODES else DdbError
            return refused(f"{service} refused to {doing} ({code}): {message}".rstrip(": "))
        if isinstance(exc, bx.BotoCoreError):
            return DdbError(masked(f"AWS SDK error while trying to {doing}: {exc}"))
        return None
    if isinstance(exc, bx.ReadTimeoutError):
        return EngineUnreachable(f"DynamoDB at {endpoint} accepted the connection but did not answer in time")
    if isinstance(exc, unreachable):
        if is_loopback(endpoint):
            return EngineUnreachable(f"no DynamoDB engine answers at {endpoint}", hint=Hint.START_ENGINE)
        return EngineUnreachable(f"cannot reach DynamoDB at {endpoint}: check the network and the region")
    if isinstance(exc, bx.NoRegionError):
        # Only a client made elsewhere gets here (`target.client` checks first), and botocore ignores AWS_REGION.
        return CredentialsError("no AWS region configured: set AWS_DEFAULT_REGION (or a profile's region)")
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            name = f"table {table!r}" if table else "the table"
            region = getattr(client.meta, "region_name", None)
            where = f" in {region}" if region else ""
            return TableMissing(f"{name} does not exist{where} at {endpoint}", hint=Hint.CREATE_TABLE)
        if code in _CREDENTIAL_CODES:
            return CredentialsError(f"AWS refused the credentials ({code}): {message}")
        return DdbError(f"DynamoDB refused the request ({code}): {message}")
    if isinstance(exc, bx.BotoCoreError):
        return DdbError(masked(f"AWS SDK error: {exc}"))
    return None


@contextmanager
def translated(client: AwsClient, table: str | None = None) -> Iterator[None]:
    """Run AWS calls; re-raise foreseeable SDK errors as `DdbError`."""
    try:
        yield
    except DdbError:
        raise
    except Exception as exc:  # only SDK errors are mapped, others re-raise
        mapped = to_ddb_error(exc, client, table)
        if mapped is None:
            raise
        raise mapped from exc


@contextmanager
def stepwise(client: AwsClient, doing: str) -> Iterator[None]:
    """Run requests of any AWS service; a foreseeable SDK error leaves as one DdbError line naming the service and the step."""
    try:
        yield
    except DdbError:
        raise
    except Exception as exc:  # only SDK errors are mapped, others re-raise
        mapped = to_ddb_error(exc, client, doing=doing)
        if mapped is None:
            raise
        raise mapped from None
