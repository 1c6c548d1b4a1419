"""Retrying throttled and failed requests, with exponential backoff and full jitter.

One policy for every request. `install` hooks it into a boto3 client (the clients of
`ddb.core.target.client` have it, with botocore's own retries switched off), so each call
of that client, reads, writes, transactions, stream reads, is retried on throttling,
5xx answers and dropped connections, the same way. It leaves two things alone:

- a refused connection: nothing listening will not start listening by itself, so it
  fails at once ("no engine answers" within a second or two);
- BatchWriteItem, which `ddb.bulk.batch` retries itself with the same policy: it must see
  throttling to pace its writers, and it retries the UnprocessedItems of a partial
  success anyway. So a batch call gets `max_attempts` tries, not `max_attempts` squared.

A request that times out is tried `timeout_attempts` times only: each try has already
waited a whole timeout, and a hanging engine must be an error in bounded time.
"""

import random
from binascii import crc32
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ddb.core.clients import AwsClient

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel

# Throttling: the table (or the account) is at its limit; slow down, then try again.
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
# Every error code a request is tried again for: throttling, and the service's passing failures.
RETRYABLE_CODES = THROTTLING_CODES | {
    "LimitExceededException",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
    "InternalFailure",
}
RETRIED_BY_CALLER = {"BatchWriteItem"}  # ddb.bulk.batch retries these (see above)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request and the backoff between them (seconds)."""

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0
    timeout_attempts: int = 2

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base * 2^attempt, capped."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def is_throttling(exc: BaseException) -> bool:
    """True when the table (or the account) throttled the request (one of THROTTLING_CODES)."""
    from ddb.core.awserrors import error_code

    return error_code(exc) in THROTTLING_CODES


def is_retryable(exc: BaseException) -> bool:
    """True for throttling, server errors, dropped connections and timeouts; not for a refused connection."""
    from botocore import exceptions as bx

    from ddb.core.awserrors import error_code

    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    if isinstance(exc, bx.EndpointConnectionError):
        return False
    return isinstance(exc, (bx.ConnectionError, bx.ReadTimeoutError, bx.ConnectionClosedError, bx.HTTPClientError))


def _is_retryable_answer(http_response: "AWSResponse", parsed: dict) -> bool:
    code = (parsed.get("Error") or {}).get("Code", "")
    if code in RETRYABLE_CODES or http_response.status_code >= 500:
        return True
    # DynamoDB signs its body with a CRC32; a mismatch means it was damaged on the way.
    checksum = http_response.headers.get("x-amz-crc32")
    return checksum is not None and checksum.isdigit() and crc32(http_response.content) & 0xFFFFFFFF != int(checksum)


def _timed_out(exc: BaseException | None) -> bool:
    from botocore import exceptions as bx

    return isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError))


def install(client: AwsClient, policy: RetryPolicy = RetryPolicy()) -> AwsClient:
    """Make `client` retry every request (but BatchWriteItem) by `policy`; returns the client.

    The decision is taken on botocore's `needs-retry` event, ahead of botocore's own
    handler, and is always final: botocore adds no attempts of its own.
    """

    def needs_retry(
        attempts: int,
        operation: "OperationModel",
        response: "tuple[AWSResponse, dict] | None" = None,
        caught_exception: BaseException | None = None,
        **_: object,
    ):
        if operation.name in RETRIED_BY_CALLER:
            return False
        if caught_exception is not None:
            retryable = is_retryable(caught_exception)
        else:
            retryable = response is not None and _is_retryable_answer(*response)
        most = policy.timeout_attempts if _timed_out(caught_exception) else policy.max_attempts
        if not retryable or attempts >= most:
            return False
        return policy.delay(attempts)  # botocore sleeps this long, then sends the request again

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", needs_retry, unique_id="ddb-retry-policy")
    return client
