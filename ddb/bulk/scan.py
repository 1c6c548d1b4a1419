"""Reading the whole table, page by page, as plain items (never all of it in memory).

`scan_items` is a generator: it fetches a page only when the previous one has been
consumed, so memory holds one page (DynamoDB pages are at most 1 MB) whatever the size
of the table. With `segments > 1` it runs a parallel scan: one thread per segment, each
handing its pages over a queue of `segments` slots, so at most about two (smaller) pages
per segment are in memory at once; items then come in no particular order.
"""

import queue
import threading
from collections.abc import Generator
from typing import Any

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.data.items import from_typed


def _plain(raw: dict) -> dict:
    """A typed item as plain values; strings (nearly every attribute here) without the deserializer."""
    if all(len(value) == 1 and "S" in value for value in raw.values()):
        return {name: value["S"] for name, value in raw.items()}
    return from_typed(raw)


def pages(client: DynamoDBClient, request: dict) -> Generator[list[dict], None, None]:
    """The raw pages of one (segment of a) scan, fetched one at a time as they are asked for."""
    request = dict(request)
    while True:
        page = client.scan(**request)
        yield page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_DONE = object()
# Pages of a parallel scan stop at this many items (or 1 MB, whichever comes first), so
# the pages in flight, one per segment, stay small together.
PARALLEL_PAGE_ITEMS = 1000


def _parallel_pages(client: DynamoDBClient, request: dict, segments: int):
    """Pages of a parallel scan with `segments` segments, as the segment threads deliver them."""
    handover: queue.Queue[object] = queue.Queue(maxsize=segments)
    stop = threading.Event()

    def offer(thing: object) -> bool:
        while not stop.is_set():
            try:
                handover.put(thing, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker(segment: int):
        try:
            for page in pages(client, {**request, "Segment": segment, "TotalSegments": segments}):
                if not offer(page):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            offer(exc)
            return
        offer(_DONE)

    threads = [threading.Thread(target=worker, args=(s,), name=f"scan-segment-{s}", daemon=True) for s in range(segments)]
    for thread in threads:
        thread.start()
    try:
        running = segments
        while running:
            thing = handover.get()
            if thing is _DONE:
                running -= 1
            elif isinstance(thing, BaseException):
                raise thing
            else:
                yield thing
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def scan_items(
    client: DynamoDBClient, table: str, limit: int | None = None, page_size: int | None = None, segments: int = 1
) -> Generator[dict, None, None]:
    """Yield every item of the table as plain JSON-able dicts, at most `limit` of them.

    Pages are fetched lazily: only one page is held at a time (one or two per segment
    with `segments` > 1). `page_size` caps the items per page; by default the engine
    decides (1 MB pages on DynamoDB), or PARALLEL_PAGE_ITEMS with segments.
    """
    if limit is not None and limit <= 0:
        return
    if segments < 1:
        raise ValueError(f"segments must be at least 1, not {segments}")
    if segments > 1 and not page_size:
        page_size = PARALLEL_PAGE_ITEMS
    request: dict[str, Any] = {"TableName": table}
    if page_size or limit:  # a small --limit need not fetch a whole 1 MB page
        request["Limit"] = min(n for n in (page_size, limit) if n)
    seen = 0
    with translated(client, table):
        found = pages(client, request) if segments == 1 else _parallel_pages(client, request, segments)
        try:
            for page in found:
                for raw in page:
                    yield _plain(raw)
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
        finally:
            found.close()


def request_pages(client: DynamoDBClient, request: dict, segments: int = 1) -> Generator[list[dict], None, None]:
    """The raw pages of the scan `request` (TableName and any options), in `segments` parallel segments, fetched lazily.

    For a caller that asks for part of each item (a ProjectionExpression, Select=COUNT):
    pages come as the segments deliver them, at most about two per segment in memory.
    """
    if segments < 1:
        raise ValueError(f"segments must be at least 1, not {segments}")
    with translated(client, request["TableName"]):
        found = pages(client, request) if segments == 1 else _parallel_pages(client, request, segments)
        try:
            yield from found
        finally:
            found.close()


def typed_pages(
    client: DynamoDBClient, table: str, *, segment: int = 0, total_segments: int = 1, page_size: int | None = None
) -> Generator[list[dict], None, None]:
    """The pages of one segment of a (parallel) scan, as lists of typed items (DynamoDB JSON), fetched lazily.

    For callers that keep items exactly as stored (the export); `scan_items` gives plain ones.
    """
    request: dict = {"TableName": table}
    if total_segments > 1:
        request.update(Segment=segment, TotalSegments=total_segments)
    if page_size:
        request["Limit"] = page_size
    with translated(client, table):
        yield from pages(client, request)
