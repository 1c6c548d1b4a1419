"""Batch writes that never lose an item.

Requests go out in BatchWriteItem calls of 25, from a few concurrent writers. Whatever
DynamoDB hands back as UnprocessedItems, and whole calls that fail with a throttling or
server error, are retried with exponential backoff and full jitter. When attempts run
out the failed items are reported by key in `WriteIncomplete`, never dropped.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .awserrors import to_ddb_error
from .errors import WriteIncomplete
from .items import to_typed
from .retry import RetryPolicy, is_retryable

BATCH_SIZE = 25  # DynamoDB's limit per BatchWriteItem


@dataclass
class BatchResult:
    """What a batch write did: items put and deleted, calls retried, capacity reported."""

    put: int = 0
    deleted: int = 0
    retries: int = 0
    consumed_wcu: float = 0.0
    failed_keys: list = field(default_factory=list)


def put_request(item: dict) -> dict:
    return {"PutRequest": {"Item": to_typed(item)}}


def delete_request(key: dict) -> dict:
    return {"DeleteRequest": {"Key": to_typed(key)}}


def _request_key(request: dict) -> dict:
    typed = request["PutRequest"]["Item"] if "PutRequest" in request else request["DeleteRequest"]["Key"]
    return {"pk": typed["pk"]["S"], "sk": typed["sk"]["S"]}


class _Writer:
    def __init__(self, client, table, policy, on_progress, sleep):
        self.client, self.table, self.policy = client, table, policy
        self.on_progress, self.sleep = on_progress, sleep
        self.result = BatchResult()
        self.lock = threading.Lock()

    def write_chunk(self, chunk: list[dict]):
        """Send one chunk until every request is processed or it stalls `max_attempts` times.

        A round that stores some items resets the count: like boto3's BatchWriter, a
        batch that makes progress is never abandoned.
        """
        pending, stalled, rounds = chunk, 0, 0
        while pending and stalled < self.policy.max_attempts:
            if rounds:
                with self.lock:
                    self.result.retries += 1
                self.sleep(self.policy.delay(max(1, stalled)))
            rounds += 1
            try:
                response = self.client.batch_write_item(
                    RequestItems={self.table: pending}, ReturnConsumedCapacity="TOTAL"
                )
            except Exception as exc:  # noqa: BLE001 - classified right below
                if not is_retryable(exc):
                    raise to_ddb_error(exc, self.client, self.table) or exc
                stalled += 1
                continue
            left = response.get("UnprocessedItems", {}).get(self.table, [])
            self._account(pending, left, response)
            stalled = stalled + 1 if len(left) == len(pending) else 0
            pending = left
        with self.lock:
            self.result.failed_keys.extend(_request_key(r) for r in pending)

    def _account(self, sent, left, response):
        done = len(sent) - len(left)
        puts = sum("PutRequest" in r for r in sent) - sum("PutRequest" in r for r in left)
        with self.lock:
            self.result.put += puts
            self.result.deleted += done - puts
            for used in response.get("ConsumedCapacity", []) or []:
                self.result.consumed_wcu += used.get("CapacityUnits", 0) or 0
        if self.on_progress and done:
            self.on_progress(done)


def write(client, table: str, requests: list[dict], *, writers: int = 4, policy: RetryPolicy = RetryPolicy(),
          on_progress=None, sleep=time.sleep) -> BatchResult:
    """Send put/delete requests (see `put_request`, `delete_request`) and return the tally.

    No two requests may share a key. Raises WriteIncomplete, listing the unwritten keys,
    when a chunk still has unprocessed items after `policy.max_attempts` tries in a row
    that stored nothing.
    """
    chunks = [requests[i : i + BATCH_SIZE] for i in range(0, len(requests), BATCH_SIZE)]
    writer = _Writer(client, table, policy, on_progress, sleep)
    if writers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            writer.write_chunk(chunk)
    else:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            for future in [pool.submit(writer.write_chunk, chunk) for chunk in chunks]:
                future.result()
    result = writer.result
    if result.failed_keys:
        shown = ", ".join(f"{k['pk']}/{k['sk']}" for k in result.failed_keys[:5])
        more = f" and {len(result.failed_keys) - 5} more" if len(result.failed_keys) > 5 else ""
        error = WriteIncomplete(
            f"{len(result.failed_keys)} item(s) not written after {policy.max_attempts} attempts without progress: {shown}{more}; run the command again to finish",
            result.failed_keys,
        )
        error.result = result
        raise error
    return result

