"""Batch writes that never lose an item.

Requests go out in BatchWriteItem calls of 25, from a few concurrent writers. Whatever
DynamoDB hands back as UnprocessedItems, and whole calls that fail with a throttling or
server error, are retried with exponential backoff and full jitter. When a batch makes
no progress for `max_attempts` tries in a row, its items are reported by key in
`WriteIncomplete`, never dropped. These retries are the only ones a BatchWriteItem gets:
a client from `ddb.core.target` leaves it to this module (see `ddb.core.retry`).

Pacing adapts to the table (`ddb.bulk.pacing`): `writers` calls stay in flight, and once the
table throttles (a throttling error, or UnprocessedItems, which is how DynamoDB sheds
load in a batch) they go out at an adaptive rate in write units per second that keeps
the table near its ceiling. Against an engine that never throttles nothing waits.
"""

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice

from ddb.bulk import pacing
from ddb.core.awserrors import to_ddb_error
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import Interrupted, WriteIncomplete
from ddb.core.retry import RetryPolicy, is_retryable, is_throttling
from ddb.core.tally import BatchResult
from ddb.data import capacity
from ddb.data.items import to_typed

BATCH_SIZE = 25  # DynamoDB's limit per BatchWriteItem
INTERRUPT_GRACE = 1.0  # seconds Ctrl-C waits for the calls in flight to be answered, so the count is exact


def put_request(item: dict) -> dict:
    # Items are mostly strings: type those directly (the same JSON TypeSerializer makes, faster).
    typed = {}
    for name, value in item.items():
        if type(value) is not str:
            return {"PutRequest": {"Item": to_typed(item)}}
        typed[name] = {"S": value}
    return {"PutRequest": {"Item": typed}}


def delete_request(key: dict) -> dict:
    return {"DeleteRequest": {"Key": to_typed(key)}}


def _request_key(request: dict) -> dict:
    typed = request["PutRequest"]["Item"] if "PutRequest" in request else request["DeleteRequest"]["Key"]
    return {"pk": typed["pk"]["S"], "sk": typed["sk"]["S"]}


class _Writer:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        policy: RetryPolicy,
        on_progress: Callable[[int], None] | None,
        sleep: Callable[[float], object] | None,
        writers: int = 1,
        stop: threading.Event | None = None,
        capacity: bool = True,
    ):
        self.client, self.table, self.policy = client, table, policy
        self.capacity = "TOTAL" if capacity else "NONE"
        self.stop = stop or threading.Event()
        self.on_progress, self.sleep = on_progress, sleep or self.stop.wait  # a backoff ends early on stop
        self.pacer = pacing.RatePacer(self.sleep)
        self.result = BatchResult(writers=max(1, writers))
        self.lock = threading.Lock()
        self.sending = 0  # items in calls not answered yet (left counted when Ctrl-C cuts a call short)

    def _call(self, pending: list[dict]):
        """One BatchWriteItem under the pacer: (response, None) or (None, retryable error)."""
        cost = pacing.units(pending)
        started = self.pacer.acquire(cost)
        throttled, admitted = False, 0
        with self.lock:
            self.sending += len(pending)
        try:
            response = self.client.batch_write_item(RequestItems={self.table: pending}, ReturnConsumedCapacity=self.capacity)
            self._answered(pending)
            left = response.get("UnprocessedItems", {}).get(self.table)
            throttled, admitted = bool(left), cost - pacing.units(left) if left else cost
            return response, None
        except Exception as exc:  # classified right below: retried, mapped or re-raised
            self._answered(pending)
            if not is_retryable(exc):
                mapped = to_ddb_error(exc, self.client, self.table)
                if mapped is None:
                    raise
                raise mapped from exc
            throttled = is_throttling(exc)
            return None, exc
        finally:
            self.pacer.release(started, admitted, throttled)
            with self.lock:
                self.result.write_units += admitted
                self.result.throttled += throttled

    def _answered(self, pending: list[dict]):
        with self.lock:
            self.sending -= len(pending)

    def write_chunk(self, chunk: list[dict]):
        pending = chunk
        stalled = 0  # tries in a row that wrote nothing
        while stalled < self.policy.max_attempts:
            if self.stop.is_set():
                return
            if stalled:
                with self.lock:
                    self.result.retries += 1
                self.sleep(self.policy.delay(stalled))
                if self.stop.is_set():
                    return
            response, _ = self._call(pending)
            if response is None:
                stalled += 1
                continue
            left = response.get("UnprocessedItems", {}).get(self.table, [])
            self._account(pending, left, response)
            if not left:
                return
            stalled = 1 if len(left) < len(pending) else stalled + 1
            pending = left
        with self.lock:
            self.result.failed_keys.extend(_request_key(r) for r in pending)

    def _account(self, sent: list[dict], left: list[dict], response: dict):
        done = len(sent) - len(left)
        puts = sum("PutRequest" in r for r in sent) - sum("PutRequest" in r for r in left)
        with self.lock:
            self.result.put += puts
            self.result.deleted += done - puts
            self.result.consumed_wcu += capacity.consumed(response)
        if self.on_progress and done:
            self.on_progress(done)


def _chunks(requests: Iterable[dict]) -> Iterator[list[dict]]:
    """Requests in chunks of BATCH_SIZE, taken from the iterable only as they are needed."""
    source = iter(requests)
    while chunk := list(islice(source, BATCH_SIZE)):
        yield chunk


def _send_all(writer: "_Writer", chunks: Iterator[list[dict]], writers: int):
    """Hand the chunks to `writers` threads, with at most two chunks per writer taken but not yet written."""
    pool = ThreadPoolExecutor(max_workers=writers)
    in_flight: set[Future] = set()
    try:
        for chunk in chunks:
            while len(in_flight) >= 2 * writers:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            if writer.stop.is_set():
                break
            in_flight.add(pool.submit(writer.write_chunk, chunk))
        for future in in_flight:
            future.result()
    except KeyboardInterrupt:
        # Ctrl-C: no new call; the calls in flight get a moment to be answered, so the count is
        # exact, but the process never waits on a slow engine (their threads end by themselves).
        writer.stop.set()
        wait(in_flight, timeout=INTERRUPT_GRACE)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        writer.stop.set()  # the other writers end after their call in flight, not at the last chunk
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def write(
    client: DynamoDBClient,
    table: str,
    requests: Iterable[dict],
    *,
    writers: int = 4,
    policy: RetryPolicy = RetryPolicy(),
    on_progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], object] | None = None,
    stop: threading.Event | None = None,
    total: int | None = None,
    capacity: bool = True,
) -> BatchResult:
    """Send put/delete requests (see `put_request`, `delete_request`) and return the tally.

    `requests` may be a list or any iterable (a generator): it is read in chunks only as
    writers come free, so building requests overlaps the writes and memory holds about
    two chunks per writer; `total` is its length, for the messages, if it has none.
    No two requests may share a key. `writers` calls are in flight; once the table
    throttles, they go out at the rate it admits (`ddb.bulk.pacing`). Raises WriteIncomplete, listing the unwritten keys, when some
    items are still unprocessed after `policy.max_attempts` tries in a row without progress.

    `capacity=False` does not ask for the consumed capacity: DynamoDB Local computes it at a
    cost of about a fifth of its write rate, and moto's figures mean little.

    Setting `stop` (from any thread) ends the write after the calls in flight: the result
    then says `stopped`. Ctrl-C does the same and raises Interrupted with the count written:
    it waits up to INTERRUPT_GRACE seconds for the calls in flight, and counts the items of
    any still unanswered apart (`unanswered`: they may land).
    """
    if total is None:
        total = len(requests) if isinstance(requests, list | tuple) else 0
    writer = _Writer(client, table, policy, on_progress, sleep, writers, stop, capacity)
    writer.result.capacity_reported = capacity
    interrupted = False
    try:
        if writers <= 1:
            for chunk in _chunks(requests):
                if writer.stop.is_set():
                    break
                writer.write_chunk(chunk)
        else:
            _send_all(writer, _chunks(requests), writers)
    except KeyboardInterrupt:
        interrupted = True
    result = writer.result
    result.stopped = writer.stop.is_set()
    result.paced_rate, result.lowest_rate = writer.pacer.rate, writer.pacer.lowest
    if interrupted:
        done = result.put + result.deleted
        with writer.lock:
            result.unanswered = writer.sending
        maybe = f" ({result.unanswered} more in calls still unanswered: they may land)" if result.unanswered else ""
        error = Interrupted(f"interrupted: {done} of {total} items written{maybe}; run the command again to finish", done, total)
        error.result = result
        raise error
    if result.failed_keys:
        shown = ", ".join(f"{k['pk']}/{k['sk']}" for k in result.failed_keys[:5])
        more = f" and {len(result.failed_keys) - 5} more" if len(result.failed_keys) > 5 else ""
        incomplete = WriteIncomplete(
            f"{len(result.failed_keys)} item(s) not written after {policy.max_attempts} attempts without progress: {shown}{more}; "
            "run the command again to finish",
            result.failed_keys,
        )
        incomplete.result = result
        raise incomplete
    return result
