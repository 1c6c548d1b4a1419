"""Seed against a table that throttles: it slows down and stores every item."""

import threading
import time

from botocore.exceptions import ClientError

from ddb import batch, fixtures, seeding, synthetic

from .support import NOW, TABLE, all_keys


def _throttled():
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "BatchWriteItem",
    )


class ProvisionedTable:
    """Wraps a client like a provisioned table at its limit: it sustains `capacity` calls in
    flight; a call beyond that is throttled, and every third call that gets through writes
    only part of its items and hands the rest back as UnprocessedItems."""

    def __init__(self, client, capacity=2):
        self.client, self.capacity, self.meta = client, capacity, client.meta
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = self.calls = self.refused = 0

    def batch_write_item(self, RequestItems, **kw):
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            busy, call = self.in_flight > self.capacity, self.calls
        try:
            if busy:
                with self.lock:
                    self.refused += 1
                raise _throttled()
            time.sleep(0.003)  # the call takes a moment, so concurrency shows
            ((table, requests),) = RequestItems.items()
            kept = requests[: len(requests) // 3 or 1] if call % 3 == 0 else requests
            response = self.client.batch_write_item(RequestItems={table: kept}, **kw)
            left = requests[len(kept) :]
            return {**response, "UnprocessedItems": {table: left} if left else {}}
        finally:
            with self.lock:
                self.in_flight -= 1

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_seed_against_a_throttling_table_stores_every_item_and_paces_down(client, table, tmp_path):
    loaded = fixtures.load(synthetic.generate(tmp_path / "fx", messages=1500, conversations=12, users=6).directory)
    plan = seeding.plan(client, TABLE, loaded, NOW)
    throttling = ProvisionedTable(client, capacity=2)
    result = seeding.run(throttling, TABLE, plan, writers=8, policy=batch.RetryPolicy(base_delay=0.002, max_delay=0.05))
    assert throttling.refused > 0
    written = result.written
    assert written.put == len(plan.puts) == 1536 and written.failed_keys == []
    assert written.throttled >= throttling.refused
    assert written.retries > 0
    assert written.writers == 8 and written.fewest_writers <= 2
    assert all_keys(client) == {(i["pk"], i["sk"]) for i in plan.puts}


def test_a_batch_that_keeps_making_progress_is_not_given_up(client, table):
    class Trickle:
        """Writes one item per call and hands the rest back, more times than max_attempts."""

        def __init__(self, client):
            self.client, self.meta = client, client.meta

        def batch_write_item(self, RequestItems, **kw):
            ((name, requests),) = RequestItems.items()
            self.client.batch_write_item(RequestItems={name: requests[:1]}, **kw)
            return {"UnprocessedItems": {name: requests[1:]} if requests[1:] else {}}

    items = [{"pk": "MSG#g", "sk": f"2026-11-25T16:20:00.{i:06}+00:00", "message": f"m{i}"} for i in range(25)]
    result = batch.write(
        Trickle(client),
        TABLE,
        [batch.put_request(i) for i in items],
        writers=1,
        policy=batch.RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
    )
    assert result.put == 25 and result.throttled == 24
    assert len(all_keys(client)) == 25


def test_pacing_halves_once_per_round_and_grows_back_one_at_a_time():
    pacer = batch._Pacer(8)
    rounds = [pacer.acquire() for _ in range(8)]
    for started in rounds:  # all eight throttled together: one signal, one halving
        pacer.release(started, throttled=True)
    assert (pacer.limit, pacer.fewest) == (4, 4)
    pacer.release(pacer.acquire(), throttled=True)
    assert pacer.limit == 2
    for _ in range(4):
        pacer.release(pacer.acquire(), throttled=False)
    assert pacer.limit == 3
    for _ in range(200):
        pacer.release(pacer.acquire(), throttled=False)
    assert (pacer.limit, pacer.fewest) == (8, 2)
