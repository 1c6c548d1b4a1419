"""Batch writes never lose an item: unprocessed items and throttled calls are retried."""

import pytest
from botocore.exceptions import ClientError

from ddb.bulk import batch
from ddb.core.errors import WriteIncomplete
from ddb.core.retry import RetryPolicy

from .support import TABLE, all_keys


def _items(n):
    return [{"pk": f"MSG#g{n // 100}", "sk": f"2026-11-25T16:20:00.{i:06}+00:00", "message": f"m{i}"} for i in range(n)]


class Flaky:
    """Wraps a client: every call returns half its items unprocessed, every third call is throttled."""

    def __init__(self, client, throttle_every=3, unprocessed_forever=False):
        self.client, self.calls, self.throttle_every, self.forever = client, 0, throttle_every, unprocessed_forever
        self.meta = client.meta

    def batch_write_item(self, RequestItems, **kw):
        self.calls += 1
        if self.throttle_every and self.calls % self.throttle_every == 0:
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "BatchWriteItem",
            )
        ((table, requests),) = RequestItems.items()
        keep = requests if self.forever else requests[: (len(requests) + 1) // 2]
        if not self.forever:
            self.client.batch_write_item(RequestItems={table: keep}, **kw)
        left = requests[len(keep) :] if not self.forever else requests
        return {"UnprocessedItems": {table: left} if left else {}}


def test_unprocessed_and_throttled_items_are_retried_until_all_are_stored(client, table):
    flaky = Flaky(client)
    items = _items(230)
    result = batch.write(flaky, TABLE, [batch.put_request(i) for i in items], writers=1, sleep=lambda s: None)
    assert result.put == 230
    assert result.retries > 0
    assert all_keys(client) == {(i["pk"], i["sk"]) for i in items}


def test_concurrent_writers_store_every_item(client, table):
    items = _items(500)
    result = batch.write(client, TABLE, [batch.put_request(i) for i in items], writers=4)
    assert (result.put, result.retries) == (500, 0)
    assert len(all_keys(client)) == 500


def test_items_still_unprocessed_after_every_attempt_are_reported_by_key(client, table):
    flaky = Flaky(client, throttle_every=0, unprocessed_forever=True)
    items = _items(30)
    with pytest.raises(WriteIncomplete) as caught:
        batch.write(
            flaky,
            TABLE,
            [batch.put_request(i) for i in items],
            writers=1,
            policy=RetryPolicy(max_attempts=3),
            sleep=lambda s: None,
        )
    assert len(caught.value.failed_keys) == 30
    assert caught.value.failed_keys[0] == {"pk": "MSG#g0", "sk": "2026-11-25T16:20:00.000000+00:00"}
    assert str(caught.value).startswith(
        "30 item(s) not written after 3 attempts without progress: MSG#g0/2026-11-25T16:20:00.000000+00:00,"
    )
    assert str(caught.value).endswith("and 25 more; run the command again to finish")


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    assert all(0 <= policy.delay(1) <= 0.2 for _ in range(50))
    assert all(0 <= policy.delay(10) <= 1.0 for _ in range(50))
