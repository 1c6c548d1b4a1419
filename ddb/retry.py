"""Retrying throttled and failed requests, with exponential backoff and full jitter.

botocore retries a little on its own; this layer is for writes that must land: it
retries throttling, 5xx answers, dropped connections and read timeouts, but not a
refused connection (nothing listening will not start listening by itself).
"""

import random
import time
from dataclasses import dataclass

RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "InternalFailure",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request and the backoff between them (seconds)."""

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base * 2^attempt, capped."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def is_retryable(exc) -> bool:
    """True for throttling, server errors, dropped connections and read timeouts."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    if isinstance(exc, bx.EndpointConnectionError):
        return False
    return isinstance(exc, (bx.ConnectionError, bx.ReadTimeoutError, bx.ConnectionClosedError, bx.HTTPClientError))


def call(request, policy: RetryPolicy = RetryPolicy(), sleep=time.sleep, on_retry=None):
    """`request()`, retried while it fails with a retryable error; the last error is raised."""
    for attempt in range(policy.max_attempts):
        if attempt:
            if on_retry:
                on_retry()
            sleep(policy.delay(attempt))
        try:
            return request()
        except Exception as exc:  # noqa: BLE001 - anything not retryable is re-raised at once
            if not is_retryable(exc) or attempt == policy.max_attempts - 1:
                raise
    raise AssertionError("unreachable")
