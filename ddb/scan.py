"""Reading the whole table, page by page, as plain items (never all of it in memory)."""

from .awserrors import translated
from .items import from_typed


def scan_items(client, table: str, limit: int | None = None, page_size: int = 1000):
    """Yield every item of the table as plain JSON-able dicts, at most `limit` of them.

    Pages are fetched lazily: only one page is held at a time.
    """
    if limit is not None and limit <= 0:
        return
    seen = 0
    request = {"TableName": table, "Limit": page_size}
    with translated(client, table):
        while True:
            page = client.scan(**request)
            for raw in page.get("Items", []):
                yield from_typed(raw)
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
