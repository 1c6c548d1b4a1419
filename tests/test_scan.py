"""Scanning streams page by page, never holding the table; segments scan in parallel."""

import gc
import threading
import tracemalloc
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ddb.bulk import batch
from ddb.bulk.scan import scan_items
from ddb.core.errors import TableMissing

from .support import TABLE, all_keys


def _typed(n: int) -> dict:
    text = f"message {n} " + "lorem ipsum dolor sit amet " * 8
    return {
        "pk": {"S": f"MSG#{n // 100:08d}"},
        "sk": {"S": f"2026-11-25T16:20:00.{n:06d}+00:00"},
        "message": {"S": text},
        "user_handle": {"S": "mira"},
        "count": {"N": str(n)},
    }


class PagedTable:
    """A stand-in client whose scan makes each page of `page` items only when asked for it."""

    def __init__(self, items=3000, page=100):
        self.items, self.page, self.calls = items, page, 0
        self.meta = type("Meta", (), {"endpoint_url": "http://127.0.0.1:1"})()

    def scan(self, TableName, Limit=None, ExclusiveStartKey=None, Segment=0, TotalSegments=1):
        self.calls += 1
        start = int(ExclusiveStartKey["n"]["N"]) if ExclusiveStartKey else Segment
        numbers = range(start, self.items, TotalSegments)[: self.page]  # lazy: the stand-in holds no table
        page: dict[str, Any] = {"Items": [_typed(n) for n in numbers]}
        if numbers and numbers[-1] + TotalSegments < self.items:
            page["LastEvaluatedKey"] = {"n": {"N": str(numbers[-1] + TotalSegments)}}
        return page


def test_the_next_page_is_fetched_only_when_the_last_one_is_used_up():
    table = PagedTable(items=1000, page=100)
    stream = scan_items(table, TABLE)
    first = next(stream)
    assert first["pk"] == "MSG#00000000" and first["count"] == 0
    assert table.calls == 1
    for _ in range(99):
        next(stream)
    assert table.calls == 1
    next(stream)
    assert table.calls == 2
    assert sum(1 for _ in stream) == 899 and table.calls == 10


def test_scanning_holds_about_one_page_not_the_table():
    table = PagedTable(items=10000, page=100)
    gc.collect()
    tracemalloc.start()
    try:
        everything = list(scan_items(table, TABLE))
        _, all_at_once = tracemalloc.get_traced_memory()
        del everything
        gc.collect()
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        count = sum(1 for _ in scan_items(table, TABLE))
        _, streaming = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10000
    streamed = streaming - base
    assert streamed * 10 < all_at_once, (streamed, all_at_once)


def test_a_parallel_scan_yields_every_item_once_while_holding_a_few_pages():
    table = PagedTable(items=4000, page=50)
    gc.collect()
    tracemalloc.start()
    try:
        keys = [(i["pk"], i["sk"]) for i in scan_items(table, TABLE, segments=4)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys) == len(set(keys)) == 4000
    assert peak < 4000 * 700, peak  # far below the ~2.5 MB of keys + items a list of them would take


def test_segments_against_the_engine_return_what_a_single_scan_returns(client, table):
    requests = [
        batch.put_request({"pk": f"MSG#g{n % 37}", "sk": f"2026-11-25T16:20:00.{n:06d}+00:00", "message": f"m{n}"})
        for n in range(1500)
    ]
    batch.write(client, TABLE, requests, writers=4)
    single = sorted((i["pk"], i["sk"]) for i in scan_items(client, TABLE, page_size=100))
    parallel = sorted((i["pk"], i["sk"]) for i in scan_items(client, TABLE, page_size=100, segments=3))
    assert len(single) == 1500 and parallel == single == sorted(all_keys(client))


def test_a_limit_stops_a_parallel_scan_and_its_threads():
    before = threading.active_count()
    table = PagedTable(items=5000, page=50)
    assert len(list(scan_items(table, TABLE, limit=7, segments=4))) == 7
    assert threading.active_count() == before
    assert table.calls < 20


def test_an_abandoned_parallel_scan_stops_its_threads():
    before = threading.active_count()
    stream = scan_items(PagedTable(items=5000, page=50), TABLE, segments=4)
    next(stream)
    stream.close()
    assert threading.active_count() == before


def test_an_error_in_a_segment_becomes_one_clear_error():
    class Missing(PagedTable):
        def scan(self, **kw):  # type: ignore[override]  # the stand-in takes what scan_items sends
            if kw.get("Segment") == 2:
                raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, "Scan")
            return super().scan(**kw)

    before = threading.active_count()
    with pytest.raises(TableMissing, match="table 'cruddur-messages' does not exist"):
        list(scan_items(Missing(items=2000, page=50), TABLE, segments=3))
    assert threading.active_count() == before


def test_numbers_and_other_types_still_come_out_plain():
    item = next(scan_items(PagedTable(items=5, page=5), TABLE))
    assert item["count"] == 0 and isinstance(item["count"], int)
