"""Restore a validated export into a table: create it if missing, guard existing items, write, count.

The order is fixed, and nothing is written before its last check:

1. `import_source.validate` has read every file (no request).
2. If the table exists and `replace` is off, every key of the export is read back from
   it (BatchGetItem, 100 keys a call, strongly consistent). An item already stored as
   it is in the export is left alone (so a re-run after an interruption only writes
   what is missing); an item stored *differently* is a conflict. Any conflict stops the
   import with one line naming them, before the first write. The price: a full read of
   the export's keys (its size in read units, halved: 4 KB units, strongly consistent
   reads cost double those of eventually consistent ones) before writing;
   `replace=True` skips it and overwrites.
3. A missing table is created from the saved description (the export's
   `table-description.json` or dynamodump's `schema.json`), else from the project's
   declaration (`ddb.schema`), and waited for.
4. Items go out through `ddb.batch` (the zero-loss writer: retries, pacing, unwritten
   keys reported), a few thousand requests at a time, so memory stays bounded.
5. What is stored is counted: every key of the export is read back (BatchGetItem, 100
   keys a call, strongly consistent, keys only), so the count is of the export's own
   items, each found once; any missing is named. (A COUNT scan of the table would also
   count items that are not the export's, and on the embedded engine it costs minutes
   for 100,000 items.)
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import batch, schema, table_description
from .awserrors import translated
from .clients import DynamoDBClient
from .errors import DdbError, Interrupted, WriteIncomplete
from .import_source import Source, plain, typed_items
from .items import from_typed
from .retry import RetryPolicy

GET_BATCH = 100  # DynamoDB's limit per BatchGetItem
WRITE_GROUP = 5000  # requests handed to the batch writer at once


class ImportConflict(DdbError):
    """Items of the export would overwrite different items already in the table; `keys` names them."""

    def __init__(self, message: str, keys: Iterable[tuple] = ()):
        super().__init__(message)
        self.keys = list(keys)


@dataclass
class Plan:
    """What an import will do, found with reads only."""

    table: str
    items: int
    table_exists: bool
    identical: set = field(default_factory=set)  # keys (pk, sk) already stored as in the export
    conflicts: list = field(default_factory=list)  # keys stored differently
    replace: bool = False

    @property
    def to_write(self) -> int:
        return self.items - len(self.identical)


@dataclass
class ImportResult:
    plan: Plan
    created: str | None  # "saved description" / "project schema" / None when the table was there
    written: batch.BatchResult
    stored: int  # the export's items found in the table at the end
    seconds: float  # the whole run
    write_seconds: float  # the write phase alone


def _key(typed: dict) -> tuple:
    return typed["pk"]["S"], typed["sk"]["S"]


def _same(stored: dict, exported: dict) -> bool:
    return stored == exported or from_typed(stored) == plain(exported)


def plan(
    client: DynamoDBClient,
    table: str,
    source: Source,
    *,
    replace: bool = False,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Plan:
    """Find what the import would do: whether the table exists, and, unless `replace`, which items are already there."""
    policy = policy or RetryPolicy()
    result = Plan(table, source.item_count, schema.describe(client, table) is not None, replace=replace)
    if not result.table_exists or replace:
        return result
    chunk: list[dict] = []
    for typed in typed_items(source):
        chunk.append(typed)
        if len(chunk) == GET_BATCH:
            _compare(client, table, chunk, result, policy)
            if on_progress:
                on_progress(len(chunk))
            chunk = []
    if chunk:
        _compare(client, table, chunk, result, policy)
        if on_progress:
            on_progress(len(chunk))
    return result


def _batch_get(client: DynamoDBClient, table: str, keys: list[dict], policy: RetryPolicy, projection: bool = False) -> list[dict]:
    """The stored items of up to 100 keys (strongly consistent), UnprocessedKeys retried with backoff."""
    request: dict = {"Keys": keys, "ConsistentRead": True}
    if projection:
        request.update(ProjectionExpression="#pk, #sk", ExpressionAttributeNames={"#pk": "pk", "#sk": "sk"})
    found: list[dict] = []
    attempt = 0
    with translated(client, table):
        while request["Keys"]:
            answer = client.batch_get_item(RequestItems={table: request})
            found.extend(answer.get("Responses", {}).get(table, []))
            left = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if left and len(left) == len(request["Keys"]):
                attempt += 1
                if attempt >= policy.max_attempts:
                    raise DdbError(
                        f"BatchGetItem returned the same {len(left)} keys unprocessed {attempt} times: "
                        "the table is throttled; try again later"
                    )
                time.sleep(policy.delay(attempt))
            elif left:
                attempt = 0
            request = {**request, "Keys": left}
    return found


def _compare(client: DynamoDBClient, table: str, chunk: list[dict], result: Plan, policy: RetryPolicy) -> None:
    exported = {_key(t): t for t in chunk}
    for stored in _batch_get(client, table, [{"pk": t["pk"], "sk": t["sk"]} for t in chunk], policy):
        key = _key(stored)
        if _same(stored, exported[key]):
            result.identical.add(key)
        else:
            result.conflicts.append(key)


def conflict_error(found: Plan) -> ImportConflict:
    keys = sorted(found.conflicts)
    shown = ", ".join(f"{pk}/{sk}" for pk, sk in keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return ImportConflict(
        f"{len(keys)} item(s) of the export would overwrite different items in table {found.table!r}: "
        f"{shown}; nothing was written (pass --replace to overwrite them)",
        keys,
    )


def run(
    client: DynamoDBClient,
    table: str,
    source: Source,
    found: Plan,
    *,
    writers: int = 4,
    policy: RetryPolicy | None = None,
    billing: str = schema.PROVISIONED,
    on_progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ImportResult:
    """Carry out a plan (see the module's docstring); raises ImportConflict before any write when it has conflicts."""
    began = time.monotonic()
    policy = policy or RetryPolicy()
    if found.conflicts and not found.replace:
        raise conflict_error(found)
    created = None
    if not found.table_exists:
        if source.description is not None:
            table_description.create(client, table, source.description)
            created = "saved description"
        else:
            schema.load(client, table, billing)
            created = "project schema"
    written = batch.BatchResult(writers=writers)
    write_began = time.monotonic()
    group: list[dict] = []
    for typed in typed_items(source):
        if found.identical and _key(typed) in found.identical:
            continue
        group.append({"PutRequest": {"Item": typed}})
        if len(group) == WRITE_GROUP:
            _write(client, table, group, written, writers, policy, on_progress, stop, found)
            group = []
    if group:
        _write(client, table, group, written, writers, policy, on_progress, stop, found)
    write_seconds = time.monotonic() - write_began
    stored = count_stored(client, table, source, policy)
    return ImportResult(found, created, written, stored, time.monotonic() - began, write_seconds)


def _write(
    client: DynamoDBClient,
    table: str,
    group: list[dict],
    total: batch.BatchResult,
    writers: int,
    policy: RetryPolicy,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event | None,
    found: Plan,
) -> None:
    try:
        part = batch.write(client, table, group, writers=writers, policy=policy, on_progress=on_progress, stop=stop)
    except (Interrupted, WriteIncomplete) as exc:
        if exc.result is not None:  # batch.write sets it on both: the tally up to the interruption
            _add(total, exc.result)
        if isinstance(exc, Interrupted):
            raise Interrupted(
                f"interrupted: {total.put} of {found.to_write} items written; run the command again to finish "
                "(what is already there is skipped)",
                total.put,
                found.to_write,
            ) from None
        raise
    _add(total, part)
    if part.stopped:
        raise Interrupted(
            f"stopped: {total.put} of {found.to_write} items written; run the command again to finish", total.put, found.to_write
        )


def _add(total: batch.BatchResult, part: batch.BatchResult):
    total.put += part.put
    total.retries += part.retries
    total.consumed_wcu += part.consumed_wcu
    total.throttled += part.throttled
    total.write_units += part.write_units
    if part.lowest_rate is not None:
        total.paced_rate = part.paced_rate
        total.lowest_rate = min(total.lowest_rate or part.lowest_rate, part.lowest_rate)


def count_stored(client: DynamoDBClient, table: str, source: Source, policy: RetryPolicy | None = None) -> int:
    """How many of the export's items are in the table, read back by key; raises naming the missing ones."""
    policy = policy or RetryPolicy()
    found = 0
    missing: list[tuple] = []
    chunk: list[tuple] = []

    def read_back():
        nonlocal found
        keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in chunk]
        present = {_key(item) for item in _batch_get(client, table, keys, policy, projection=True)}
        found += len(present)
        missing.extend(key for key in chunk if key not in present)

    for typed in typed_items(source):
        chunk.append(_key(typed))
        if len(chunk) == GET_BATCH:
            read_back()
            chunk = []
    if chunk:
        read_back()
    if missing:
        shown = ", ".join(f"{pk}/{sk}" for pk, sk in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DdbError(
            f"{len(missing)} item(s) of the export are not in table {table!r} after the import: {shown}; run the import again"
        )
    return found
