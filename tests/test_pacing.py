"""Writes into a provisioned table at its limit: near its ceiling, nothing lost; an unthrottled engine never waits."""

import json
import math
import re
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from ddb.bulk import batch, pacing
from ddb.bulk.pacing import RatePacer
from ddb.core.retry import RetryPolicy
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding, synthetic

from .faultproxy import FaultProxy, TokenBucket, write_units
from .support import NOW, TABLE, all_keys, local_client


def _throttled():
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "BatchWriteItem",
    )


class ProvisionedTable:
    """Wraps a client like a provisioned table of `wcu` write units a second at its limit (a
    `TokenBucket` holding `burst_seconds` of them): a batch writes its requests in order while
    the bucket has their units and hands the rest back as UnprocessedItems; a batch it can
    write none of fails with ProvisionedThroughputExceededException. It counts every key it
    stores, so a test sees an item written twice."""

    def __init__(self, client, wcu, burst_seconds=0.5):
        self.client, self.meta = client, client.meta
        self.bucket = TokenBucket(wcu, burst_seconds)
        self.stored: Counter[tuple[str, str]] = Counter()
        self.refused = self.partial = 0
        self.lock = threading.Lock()

    def batch_write_item(self, RequestItems, **kw):
        ((table, requests),) = RequestItems.items()
        admitted = self.bucket.take([write_units(r) for r in requests])
        if not admitted:
            with self.lock:
                self.refused += 1
            raise _throttled()
        kept, left = requests[:admitted], requests[admitted:]
        response = self.client.batch_write_item(RequestItems={table: kept}, **kw)
        with self.lock:
            self.partial += bool(left)
            self.stored.update((r["PutRequest"]["Item"]["pk"]["S"], r["PutRequest"]["Item"]["sk"]["S"]) for r in kept)
        return {**response, "UnprocessedItems": {table: left} if left else {}}

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_batch_that_keeps_making_progress_is_not_given_up(client, table):
    class Trickle:
        """Writes one item per call and hands the rest back, more times than max_attempts."""

        def __init__(self, client):
            self.client, self.meta = client, client.meta

        def batch_write_item(self, RequestItems, **kw):
            ((name, requests),) = RequestItems.items()
            self.client.batch_write_item(RequestItems={name: requests[:1]}, **kw)
            return {"UnprocessedItems": {name: requests[1:]} if requests[1:] else {}}

    items = _messages(25)
    result = batch.write(
        Trickle(client),
        TABLE,
        [batch.put_request(i) for i in items],
        writers=1,
        policy=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
    )
    assert result.put == 25 and result.throttled == 24
    assert len(all_keys(client)) == 25


def _messages(count, size=200):
    return [{"pk": "MSG#g", "sk": f"2026-11-25T16:20:00.{i:06}+00:00", "message": "x" * size} for i in range(count)]


def test_a_write_into_a_throttling_100_wcu_table_runs_near_its_ceiling_and_stores_every_item_once(client, table):
    items = _messages(300)  # one write unit each: about 3 s at 100 units/s
    provisioned = ProvisionedTable(client, wcu=100)
    began = time.monotonic()
    result = batch.write(provisioned, TABLE, [batch.put_request(i) for i in items], writers=4)
    rate = result.put / (time.monotonic() - began)
    assert provisioned.refused + provisioned.partial > 0 and result.throttled > 0
    assert rate >= 0.8 * 100, f"{rate:.0f} items/s through a 100 WCU/s table"
    assert result.put == 300 == result.write_units and result.failed_keys == []
    assert set(provisioned.stored.values()) == {1} and len(provisioned.stored) == 300
    assert all_keys(client) == {(i["pk"], i["sk"]) for i in items}
    assert result.paced_rate is not None and result.lowest_rate is not None


def test_a_seed_into_a_throttling_table_counts_every_plan_item_once(client, table, tmp_path):
    loaded = fixtures.load(synthetic.generate(tmp_path / "fx", messages=400, conversations=8, users=6).directory)
    plan = seeding.plan(client, TABLE, loaded, NOW)
    provisioned = ProvisionedTable(client, wcu=400)
    result = seeding.run(provisioned, TABLE, plan, writers=8, policy=RetryPolicy(base_delay=0.002, max_delay=0.05))
    assert provisioned.refused + provisioned.partial > 0
    assert result.written.put == len(plan.puts) and result.written.failed_keys == []
    assert set(provisioned.stored.values()) == {1} and len(provisioned.stored) == len(plan.puts)
    assert all_keys(client) == {(i["pk"], i["sk"]) for i in plan.puts}
    assert result.provisioned_wcu == 5  # what the declared table says; the double enforces its own 400


def test_an_engine_that_never_throttles_is_never_paced_though_the_table_claims_5_wcu(client, table):
    assert pacing.provisioned_write_units(client, TABLE) == 5
    slept: list[float] = []
    result = batch.write(client, TABLE, [batch.put_request(i) for i in _messages(500)], writers=4, sleep=slept.append)
    assert slept == [] and result.throttled == 0
    assert result.paced_rate is None and result.lowest_rate is None
    assert result.put == 500 == result.write_units


def test_an_on_demand_table_has_no_provisioned_capacity(client):
    schema.load(client, TABLE, schema.ON_DEMAND)
    assert pacing.provisioned_write_units(client, TABLE) is None


def test_a_put_costs_its_size_rounded_up_to_1_kb_and_a_delete_one_unit():
    small = {"pk": "MSG#g", "sk": "s", "message": "é" * 500}  # 2 + 5 + 1 + 1 + 7 + 1000 bytes
    assert pacing.request_units(batch.put_request(small)) == 1
    assert pacing.request_units(batch.put_request({**small, "message": "é" * 510})) == 2  # 1,024 + 1 bytes
    assert pacing.request_units(batch.put_request({"pk": "p", "sk": "s", "n": 12345, "tags": {"a"}})) == 1
    assert pacing.request_units(batch.put_request({"pk": "p", "sk": "s", "blob": "x" * 5000})) == 5
    assert pacing.request_units(batch.delete_request({"pk": "p", "sk": "s"})) == 1


class _Clock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_first_throttle_paces_just_below_what_the_table_admitted_over_the_last_second():
    clock = _Clock()
    pacer = RatePacer(clock.sleep, clock)
    for _ in range(20):  # 25 units every 1/8 s: 200 units/s, never waiting
        started = pacer.acquire(25)
        clock.now += 0.125
        pacer.release(started, 25, throttled=False)
    assert pacer.rate is None and clock.slept == []
    pacer.release(pacer.acquire(25), 0, throttled=True)
    assert pacer.rate == pytest.approx(0.9 * 200) and pacer.lowest == pacer.rate
    assert pacer.ceiling == math.inf  # not measured yet: the rate probes fast until the next throttle


def test_throttles_cut_the_rate_once_per_round_and_clean_calls_raise_it_fast_below_the_ceiling_slowly_above():
    clock = _Clock()
    pacer = RatePacer(clock.sleep, clock)
    before = [pacer.acquire(25) for _ in range(4)]
    clock.now += 1
    pacer.release(before[0], 0, throttled=True)  # nothing admitted yet: the floor
    assert pacer.rate == pacing.FLOOR
    for started in before[1:]:  # started before that cut: the same signal
        pacer.release(started, 0, throttled=True)
    assert pacer.rate == pacing.FLOOR
    pacer.release(pacer.acquire(25), 150, throttled=False)  # the ceiling is unknown: +100% of what it wrote
    assert pacer.rate == pacing.FLOOR + 150
    clock.now += 0.5
    pacer.release(pacer.acquire(25), 0, throttled=True)  # the table admitted 150 units in the last second
    assert pacer.ceiling == 150 and pacer.rate == pytest.approx(0.9 * 150)
    pacer.release(pacer.acquire(25), 100, throttled=False)
    assert pacer.rate == pytest.approx(135 + 100)
    pacer.release(pacer.acquire(25), 100, throttled=False)  # above the ceiling: +10%
    assert pacer.rate == pytest.approx(235 + 10)
    assert pacer.lowest == pacing.FLOOR


def test_a_paced_call_waits_its_turn_at_the_rate():
    clock = _Clock()
    pacer = RatePacer(clock.sleep, clock)
    pacer.release(pacer.acquire(25), 0, throttled=True)
    pacer.rate = 100.0
    for _ in range(3):  # all at once: 25 units at 100 units/s go a quarter of a second apart
        pacer.acquire(25)
    assert clock.slept == [0.25, 0.25]


def test_invoke_seed_through_a_100_wcu_proxy_reports_its_share_of_the_provisioned_capacity(invoke, engine):
    assert invoke("schema-load").code == 0
    local_client(engine).update_table(TableName=TABLE, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 100})
    with FaultProxy(engine, write_units_per_second=100, burst_seconds=0.5) as proxy:
        run = invoke("seed", "--json", endpoint=proxy.endpoint)
        assert run.code == 0, run
        assert proxy.injected["over capacity"] > 0
        again = invoke("seed", endpoint=proxy.endpoint)
    summary = json.loads(run.out)
    assert summary["put"] == 112 and summary["throttled"] > 0 and summary["paced_rate"] is not None
    assert summary["provisioned_wcu"] == 100
    assert summary["share_of_provisioned"] == pytest.approx(summary["write_units_per_second"] / 100, abs=0.01)
    # Near the rate: what the bucket admits in that time plus its half second of saved-up burst.
    assert summary["share_of_provisioned"] >= 0.5, summary
    assert summary["put"] <= 100 * summary["seconds"] + 50 + 25, summary
    assert again.code == 0, again
    shares = r"(\d\.\d\d of|past) the table's 100 provisioned WCU"  # past it: the burst the bucket saved up
    assert re.search(r"\d+ items/s \(\d+ WCU/s by item size, " + shares, again.err), again
    assert len(all_keys(local_client(engine))) == 112
