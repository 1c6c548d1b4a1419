"""One mapping of botocore's exceptions to `DdbError` lines: DynamoDB's requests (`translated`) and any
service's steps (`stepwise`) word the same failures from the same place."""

import boto3
import pytest
from botocore import exceptions as bx

from ddb.core import errors
from ddb.core.awserrors import NO_CREDENTIALS, stepwise, translated
from ddb.core.retry import RETRYABLE_CODES, THROTTLING_CODES, is_retryable, is_throttling

ENDPOINT = "http://127.0.0.1:9"


def _client(service: str):
    return boto3.client(service, region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="x", aws_secret_access_key="y")


def _refused(code: str, message: str = "no") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message}}, "AnyOperation")


def _raised(context, exc: BaseException) -> errors.DdbError:
    with pytest.raises(errors.DdbError) as caught, context:
        raise exc
    return caught.value


@pytest.mark.parametrize(
    ("exc", "kind", "line"),
    [
        (bx.NoCredentialsError(), errors.CredentialsError, NO_CREDENTIALS),
        (
            _refused("UnrecognizedClientException", "bad token"),
            errors.CredentialsError,
            "AWS refused the credentials (UnrecognizedClientException): bad token",
        ),
        (
            _refused("ValidationException", "bad key"),
            errors.DdbError,
            "DynamoDB refused the request (ValidationException): bad key",
        ),
        (
            bx.EndpointConnectionError(endpoint_url=ENDPOINT),
            errors.EngineUnreachable,
            f"no DynamoDB engine answers at {ENDPOINT}",
        ),
        (
            bx.ReadTimeoutError(endpoint_url=ENDPOINT),
            errors.EngineUnreachable,
            f"DynamoDB at {ENDPOINT} accepted the connection but did not answer in time",
        ),
    ],
)
def test_a_dynamodb_request_that_fails_foreseeably_is_one_line(exc, kind, line):
    error = _raised(translated(_client("dynamodb"), "t"), exc)
    assert (type(error), str(error)) == (kind, line)


@pytest.mark.parametrize(
    ("exc", "kind", "line"),
    [
        (bx.NoCredentialsError(), errors.CredentialsError, NO_CREDENTIALS),
        (_refused("AccessDenied", "not you"), errors.CredentialsError, "S3 refused to read bucket 'b' (AccessDenied): not you"),
        (_refused("NoSuchBucket", ""), errors.DdbError, "S3 refused to read bucket 'b' (NoSuchBucket)"),
        (
            bx.ReadTimeoutError(endpoint_url=ENDPOINT),
            errors.EngineUnreachable,
            f"cannot reach S3 at {ENDPOINT} to read bucket 'b': check the network and the region",
        ),
        (bx.NoRegionError(), errors.DdbError, "AWS SDK error while trying to read bucket 'b': You must specify a region."),
    ],
)
def test_a_step_of_any_service_that_fails_foreseeably_is_one_line_naming_the_service_and_the_step(exc, kind, line):
    error = _raised(stepwise(_client("s3"), "read bucket 'b'"), exc)
    assert (type(error), str(error)) == (kind, line)


def test_an_error_that_is_not_the_sdks_leaves_both_as_it_came():
    for context in (translated(_client("dynamodb")), stepwise(_client("s3"), "read")):
        with pytest.raises(KeyError), context:
            raise KeyError("k")


def test_throttling_is_one_set_of_codes_and_every_throttle_is_retried():
    assert THROTTLING_CODES <= RETRYABLE_CODES
    for code in THROTTLING_CODES:
        assert is_throttling(_refused(code)) and is_retryable(_refused(code))
    assert not is_throttling(_refused("InternalServerError"))
