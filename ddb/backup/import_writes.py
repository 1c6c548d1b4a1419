"""The writes of an import: one lazy batch write of every item, then the superseded group items deleted.

Both go through `ddb.bulk.batch`, the zero-loss writer (retries, pacing, unwritten keys
reported). Ctrl-C or `stop` ends the write after the calls in flight, and the error says
how many items are stored, so a run of the same command finishes it.
"""

import threading
from collections.abc import Callable, Iterable

from ddb.bulk import batch
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import Interrupted
from ddb.core.retry import RetryPolicy
from ddb.core.tally import BatchResult
from ddb.data.items import to_typed


def delete_superseded(client: DynamoDBClient, table: str, superseded: list[dict], writers: int, policy: RetryPolicy) -> int:
    """Delete the table's group items that the export's newer ones replace (after those are written)."""
    if not superseded:
        return 0
    requests = ({"DeleteRequest": {"Key": to_typed(key)}} for key in superseded)
    return batch.write(client, table, requests, writers=writers, policy=policy, capacity=False).deleted


def write_all(
    client: DynamoDBClient,
    table: str,
    requests: Iterable[dict],
    writers: int,
    policy: RetryPolicy,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event | None,
    to_write: int,
) -> BatchResult:
    """One lazy batch write of the `to_write` requests: the writers and the pacing carry on across the reader's groups."""
    try:
        # No consumed capacity asked: the import does not report it, and DynamoDB Local slows by a fifth to give it.
        written = batch.write(
            client,
            table,
            requests,
            writers=writers,
            policy=policy,
            on_progress=on_progress,
            stop=stop,
            total=to_write,
            capacity=False,
        )
    except Interrupted as exc:  # Ctrl-C, also while the reader was between two groups
        raise interrupted(exc.result or BatchResult(), to_write) from None
    if written.stopped:
        raise Interrupted(
            f"stopped: {written.put} of {to_write} items written; run the command again to finish",
            written.put,
            to_write,
        )
    return written


def interrupted(total: BatchResult, to_write: int) -> Interrupted:
    """Ctrl-C during the writes: how many of `to_write` items are stored, and how to finish."""
    return Interrupted(
        f"interrupted: {total.put} of {to_write} items written; run the command again to finish "
        "(what is already there is skipped)",
        total.put,
        to_write,
    )
