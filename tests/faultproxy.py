"""A fault-injecting HTTP proxy in front of a DynamoDB engine, for tests.

The tasks run unchanged against the proxy's endpoint. For a chosen share of requests
(writes only, by default; `operations=ALL` for every kind, reads included) it answers
with a throttling error, a 500 or 503, drops the connection before or after forwarding,
or stays silent past the client's read timeout; `shares` gives each fault its own share;
it makes BatchWriteItem store only part of its items, returning the rest as
UnprocessedItems, and BatchGetItem answer for only part of its keys, handing the rest back
as UnprocessedKeys (with the request's projection, consistency and attribute names, as
DynamoDB does). With `write_units_per_second` it behaves like a provisioned table at its
limit (a `TokenBucket`). It counts every operation it sees, so a test can also assert that
no request (or no write) was sent at all.
"""

import http.client
import json
import math
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from ddb.data.capacity import WRITE_UNIT, typed_item_size

WRITES = {"BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "CreateTable", "DeleteTable"}
ALL = None  # operations=ALL: every request may be faulted, whatever its operation
FAULTS = ("throttle", "throttling", "500", "503", "drop-before", "drop-after", "timeout")
_ERROR_BODIES = {
    "throttle": (
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "throttling": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "500": (500, "InternalServerError", "Internal server error"),
    "503": (503, "ServiceUnavailable", "Service unavailable"),
    "auth": (400, "UnrecognizedClientException", "The security token included in the request is invalid."),
    # refuse_stream_updates: an engine that takes a stream only in CreateTable
    "stream-refused": (400, "ValidationException", "StreamSpecification cannot be changed after the table is created"),
}


ITEM_WRITES = {"PutItem", "DeleteItem", "UpdateItem"}


def write_units(request: dict) -> int:
    """Write units of one BatchWriteItem request by DynamoDB's size rules (a delete: one unit)."""
    if "PutRequest" not in request:
        return 1
    return max(1, math.ceil(typed_item_size(request["PutRequest"]["Item"]) / WRITE_UNIT))


class TokenBucket:
    """A provisioned table's write capacity: `rate` write units a second, at most `burst_seconds` of them saved up.

    `take(requests)` admits requests in order while the bucket holds their units and returns
    how many it admitted (DynamoDB answers a batch it can admit none of with
    ProvisionedThroughputExceededException and hands the rest of a partial one back as
    UnprocessedItems). It starts full.
    """

    def __init__(self, rate: float, burst_seconds: float = 1.0):
        self.rate, self.most = rate, rate * burst_seconds
        self.tokens, self.refilled = self.most, time.monotonic()
        self.lock = threading.Lock()
        self.admitted_units = 0

    def take(self, costs: list[int]) -> int:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.most, self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            admitted = 0
            for cost in costs:
                if cost > self.tokens:
                    break
                self.tokens -= cost
                admitted += 1
            self.admitted_units += sum(costs[:admitted])
            return admitted


class FaultProxy:
    """Start with `with FaultProxy(upstream, fail_share=0.3) as proxy:`; use `proxy.endpoint`.

    Faults hit only `operations` (all writes by default, every request with ALL): a
    `fail_share` of them get one of `faults`, picked evenly, or, with `shares` (fault ->
    share, e.g. {"throttle": 0.25, "500": 0.05}), each fault its own share. `always`
    answers every request with that fault; `hang_all` makes the proxy accept requests
    and never answer. The draws come from one generator seeded by `seed`.
    `write_units_per_second` puts the table's item writes under a `TokenBucket` of that rate.
    `unprocessed_share` of BatchWriteItem calls store only the first half of their items (rounded
    up) and hand the rest back as UnprocessedItems; `unprocessed_keys_share` of BatchGetItem calls
    answer for only the first half of their keys (rounded up) and hand the rest back as
    UnprocessedKeys. `injected` counts the calls that handed some back ("unprocessed", "unprocessed keys").
    `refuse_stream_updates` answers every UpdateTable that carries a StreamSpecification with a
    ValidationException, as an engine that takes a stream only at creation does ("stream refused").
    """

    def __init__(
        self,
        upstream: str,
        *,
        fail_share=0.0,
        faults=FAULTS,
        shares=None,
        unprocessed_share=0.0,
        unprocessed_keys_share=0.0,
        operations=WRITES,
        hang_all=False,
        always=None,
        timeout_seconds=2.5,
        seed=7,
        write_units_per_second=None,
        burst_seconds=1.0,
        refuse_stream_updates=False,
    ):
        self.upstream = urlparse(upstream)
        self.fail_share, self.faults, self.unprocessed_share = fail_share, faults, unprocessed_share
        self.unprocessed_keys_share = unprocessed_keys_share
        self.shares = dict(shares or {})
        unknown = set(self.shares) - set(FAULTS)
        if unknown or sum(self.shares.values()) > 1:
            raise ValueError(f"shares must name faults of {FAULTS} and add up to at most 1: {shares}")
        self.operations, self.hang_all, self.always = operations, hang_all, always
        self.timeout_seconds = timeout_seconds
        self.refuse_stream_updates = refuse_stream_updates
        if write_units_per_second and unprocessed_share:
            raise ValueError("write_units_per_second and unprocessed_share do not combine: both decide what is unprocessed")
        self.bucket = TokenBucket(write_units_per_second, burst_seconds) if write_units_per_second else None
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()  # operation -> requests received
        self.injected: Counter[str] = Counter()  # fault -> times injected
        self.faulted: Counter[str] = Counter()  # operation -> faults injected into its requests
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        # A short poll interval: shutdown() waits for it (0.5 s by default) at the end of every test.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def writes_seen(self) -> int:
        return sum(n for op, n in self.seen.items() if op in WRITES)

    def _choose(self, operation):
        with self.lock:
            self.seen[operation] += 1
            if self.always:
                return self.always
            if self.operations is not ALL and operation not in self.operations:
                return None
            if self.shares:
                draw = self.random.random()
                for fault, share in self.shares.items():
                    if draw < share:
                        self.injected[fault] += 1
                        self.faulted[operation] += 1
                        return fault
                    draw -= share
                return None
            if self.random.random() < self.fail_share:
                fault = self.random.choice(self.faults)
                self.injected[fault] += 1
                self.faulted[operation] += 1
                return fault
            return None

    def _split(self, body: dict):
        """Keep a share of a BatchWriteItem's requests; return (kept body, unprocessed)."""
        with self.lock:
            if self.random.random() >= self.unprocessed_share:
                return body, {}
            self.injected["unprocessed"] += 1
        ((table, requests),) = body["RequestItems"].items()
        half = len(requests) // 2  # a batch of one is kept whole: "half" of one item is none
        keep, rest = requests[: len(requests) - half], requests[len(requests) - half :]
        return {**body, "RequestItems": {table: keep}} if keep else None, {table: rest}

    def _split_keys(self, body: dict):
        """Ask upstream for the first half of a BatchGetItem's keys (rounded up); return (kept body, UnprocessedKeys).

        Each table's unasked keys come back as `{table: {"Keys": [...], **the rest of its request}}`:
        ProjectionExpression, ConsistentRead, ExpressionAttributeNames stay with them, as DynamoDB
        hands them back. A request for one key is asked whole.
        """
        with self.lock:
            if self.random.random() >= self.unprocessed_keys_share:
                return body, {}
        kept, unprocessed = {}, {}
        for table, request in body["RequestItems"].items():
            keys = request["Keys"]
            half = len(keys) // 2
            kept[table] = {**request, "Keys": keys[: len(keys) - half]}
            if half:
                unprocessed[table] = {**request, "Keys": keys[len(keys) - half :]}
        if unprocessed:
            with self.lock:
                self.injected["unprocessed keys"] += 1
        return {**body, "RequestItems": kept}, unprocessed

    def _over_capacity(self, bucket: TokenBucket, operation: str, raw: bytes):
        """The bucket's answer to an item write: (body to forward or None: throttled, unprocessed)."""
        if operation in ITEM_WRITES:
            return (raw if bucket.take([1]) else None), {}
        body = json.loads(raw)
        ((table, requests),) = body["RequestItems"].items()
        admitted = bucket.take([write_units(r) for r in requests])
        with self.lock:
            self.injected["over capacity"] += len(requests) > admitted
        if not admitted:
            return None, {}
        rest = requests[admitted:]
        return json.dumps({**body, "RequestItems": {table: requests[:admitted]}}).encode(), {table: rest} if rest else {}

    def _forward(self, handler, raw: bytes):
        connection = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        headers["Content-Length"] = str(len(raw))
        connection.request("POST", handler.path, body=raw, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, response.getheader("Content-Type", "application/x-amz-json-1.0"), payload

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, content_type, payload):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _send_error(self, fault):
                status, code, message = _ERROR_BODIES[fault]
                body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
                self._send(status, "application/x-amz-json-1.0", body)

            def _drop(self):
                self.close_connection = True
                self.connection.shutdown(2)

            def do_GET(self):
                self._send(400, "text/plain", b"proxy")

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", ".").split(".")[-1]
                if proxy.hang_all:
                    with proxy.lock:
                        proxy.seen[operation] += 1
                    time.sleep(proxy.timeout_seconds)
                    return self._drop()
                fault = proxy._choose(operation)
                if proxy.refuse_stream_updates and operation == "UpdateTable" and "StreamSpecification" in json.loads(raw):
                    with proxy.lock:
                        proxy.injected["stream refused"] += 1
                    return self._send_error("stream-refused")
                if fault in _ERROR_BODIES:
                    return self._send_error(fault)
                if fault == "drop-before":
                    return self._drop()
                if fault == "timeout":
                    time.sleep(proxy.timeout_seconds)
                    return self._drop()
                unprocessed = {}
                if proxy.bucket and (operation == "BatchWriteItem" or operation in ITEM_WRITES):
                    forwarded, unprocessed = proxy._over_capacity(proxy.bucket, operation, raw)
                    if forwarded is None:
                        return self._send_error("throttle")
                    raw = forwarded
                if operation == "BatchWriteItem" and proxy.unprocessed_share:
                    body, unprocessed = proxy._split(json.loads(raw))
                    if body is None:
                        return self._send(
                            200, "application/x-amz-json-1.0", json.dumps({"UnprocessedItems": unprocessed}).encode()
                        )
                    raw = json.dumps(body).encode()
                unprocessed_keys = {}
                if operation == "BatchGetItem" and proxy.unprocessed_keys_share:
                    body, unprocessed_keys = proxy._split_keys(json.loads(raw))
                    raw = json.dumps(body).encode()
                status, content_type, payload = proxy._forward(self, raw)
                if fault == "drop-after":
                    return self._drop()
                if unprocessed and status == 200:
                    answer = json.loads(payload)
                    answer.setdefault("UnprocessedItems", {})
                    for table, rest in unprocessed.items():
                        answer["UnprocessedItems"].setdefault(table, []).extend(rest)
                    payload = json.dumps(answer).encode()
                if unprocessed_keys and status == 200:
                    answer = json.loads(payload)
                    answer.setdefault("UnprocessedKeys", {})
                    for table, rest in unprocessed_keys.items():
                        answer["UnprocessedKeys"].setdefault(table, {**rest, "Keys": []})["Keys"].extend(rest["Keys"])
                    payload = json.dumps(answer).encode()
                self._send(status, content_type, payload)

        return Handler
