"""Reading an export's items back from the table by key: BatchGetItem from a few threads.

Both ends of an import use it: the overwrite guard (whole items, compared with the
export's) and the final count (keys only). Keys go out 100 a call (DynamoDB's limit),
strongly consistent, from `readers` concurrent calls while the next keys are read from
the files on a thread of their own (`ddb.backup.read_ahead`); memory holds a few
hundred items whatever the export's size. Keys DynamoDB hands back as UnprocessedKeys
are asked again with backoff; a batch that makes no progress for `policy.max_attempts`
tries in a row is an error, never a silent gap.

The count asks for the sort key alone: BatchGetItem answers once for each requested key
that is stored and never for one that is not, and an export's keys are distinct
(`import_source.validate`), so a batch of 100 keys that gets 100 answers is 100 items
found. Only a batch that comes up short is asked again for whole keys, to name what is
missing. One attribute instead of two makes each answer about a third cheaper on moto.

A keys-only Query per partition would read fewer units on DynamoDB, but moto 5 answers
every base-table Query by sorting the whole table, which at 100,000 items costs far more
than reading each key.
"""

import contextlib
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ddb.backup.read_ahead import read_ahead
from ddb.backup.source import Source
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError
from ddb.core.retry import RetryPolicy

GET_BATCH = 100  # DynamoDB's limit per BatchGetItem
KEYS = {"ProjectionExpression": "pk, sk"}  # neither is a reserved word
ONE_KEY = {"ProjectionExpression": "sk"}


def key_of(typed: dict) -> tuple:
    """(pk, sk) of a typed item."""
    return typed["pk"]["S"], typed["sk"]["S"]


def batch_get(
    client: DynamoDBClient, table: str, keys: list[dict], policy: RetryPolicy, projection: dict | None = None
) -> list[dict]:
    """The stored items of up to 100 keys (strongly consistent; `KEYS` or `ONE_KEY` of them), UnprocessedKeys retried."""
    request: dict = {"Keys": keys, "ConsistentRead": True, **(projection or {})}
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


def stored_keys(client: DynamoDBClient, table: str, keys: list[dict], policy: RetryPolicy) -> list[dict]:
    """Those of `keys` (distinct) that are stored: asked for the sort key alone, then, if some do not answer, for whole keys."""
    if len(batch_get(client, table, keys, policy, ONE_KEY)) == len(keys):
        return keys
    return batch_get(client, table, keys, policy, KEYS)


def each_stored(
    client: DynamoDBClient,
    table: str,
    source: Source,
    settle: Callable[[list[dict], list[dict]], None],
    *,
    policy: RetryPolicy,
    readers: int = 4,
    keys_only: bool = False,
) -> None:
    """Read every item of `source` back from `table`; `settle(exported, stored)` per 100, in this thread, in order.

    `stored` holds the stored items, or with `keys_only` the keys (`stored_keys`).
    """
    readers = max(1, readers)
    pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="import-read-back")
    pending: deque[tuple[list[dict], Future]] = deque()
    try:
        with contextlib.closing(read_ahead(source, GET_BATCH, depth=readers)) as chunks:
            for chunk in chunks:
                keys = [{"pk": typed["pk"], "sk": typed["sk"]} for typed in chunk]
                read = (
                    pool.submit(stored_keys, client, table, keys, policy)
                    if keys_only
                    else pool.submit(batch_get, client, table, keys, policy)
                )
                pending.append((chunk, read))
                if len(pending) > 2 * readers:  # a few calls queued behind those in flight, no more
                    done, future = pending.popleft()
                    settle(done, future.result())
        while pending:
            done, future = pending.popleft()
            settle(done, future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def count_stored(
    client: DynamoDBClient,
    table: str,
    source: Source,
    policy: RetryPolicy | None = None,
    *,
    readers: int = 4,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """How many of the export's items are in the table, read back by key; raises naming the missing ones."""
    policy = policy or RetryPolicy()
    found = missing = 0
    shown: list[tuple] = []

    def settle(exported: list[dict], stored: list[dict]) -> None:
        nonlocal found, missing
        present = {key_of(item) for item in stored}
        for typed in exported:
            if key_of(typed) in present:
                found += 1
            else:
                missing += 1
                if len(shown) < 5:
                    shown.append(key_of(typed))
        if on_progress:
            on_progress(len(exported))

    each_stored(client, table, source, settle, policy=policy, readers=readers, keys_only=True)
    if missing:
        named = ", ".join(f"{pk}/{sk}" for pk, sk in shown) + (
            f" and {missing - len(shown)} more" if missing > len(shown) else ""
        )
        raise DdbError(
            f"{missing} item(s) of the export are not in table {table!r} after the import: {named}; run the import again"
        )
    return found
