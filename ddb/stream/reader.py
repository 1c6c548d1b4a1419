"""Reading a table's stream locally, as Lambda's poller would: shards, checkpoints, dead letters.

`read_stream` reads every shard from the last checkpoint (or its start); `save_checkpoint`
remembers how far the records were applied; `save_dead_letters` keeps the records that
can never apply; `drain` does it all, batch after batch, until nothing is pending (or a
cap is reached: `pending_count` says what is left). What `stream.process` runs; the
Lambda needs none of it.
"""

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient, DynamoDBStreamsClient
from ddb.core.errors import Interrupted
from ddb.stream import handler as stream
from ddb.stream.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ddb.stream.records import RecordFailure, StreamRecord
from ddb.stream.shards import in_lineage_order, list_shards, shard_iterator, stream_arn

PAGE = 1000  # records a GetRecords call asks for: DynamoDB's most
REMAINING_COUNTED = 100_000  # `pending_count` counts this many at most
BATCH_RECORDS = 10_000  # records `drain` reads, applies and checkpoints at a time (memory stays flat)


@dataclass
class StreamBatch:
    """Records read from a table's stream, and how far that got (per shard).

    `shards[i]` is the shard of `records[i]`; `start` is the checkpoint the read began at.
    """

    records: list[StreamRecord]
    arn: str | None
    checkpoint: Checkpoint
    shards: list[str] = field(default_factory=list)
    start: Checkpoint = field(default_factory=dict)

    def checkpoint_through(self, count: int) -> Checkpoint:
        """The checkpoint once the first `count` records are dealt with (the rest to be read again)."""
        checkpoint = dict(self.start)
        for record, shard in zip(self.records[:count], self.shards, strict=False):
            checkpoint[shard] = record["dynamodb"]["SequenceNumber"]
        return checkpoint


def read_stream(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    checkpoint_file: str | Path | None = None,
    max_records: int | None = None,
) -> StreamBatch:
    """Read the table's stream from the last checkpoint (or its start): every record, or the first `max_records`.

    The checkpoint (a JSON file of shard id -> last sequence number) lets repeated runs
    read only what is new; since the handler is idempotent, re-reading is harmless.
    """
    with translated(client, table):
        arn = stream_arn(client, table)
        if not arn:
            return StreamBatch([], None, {})
        checkpoint = load_checkpoint(checkpoint_file, arn)
        start = dict(checkpoint)
        records: list[StreamRecord] = []
        shards: list[str] = []
        for shard_id, page in _pages(streams_client, arn, checkpoint, max_records):
            records += page
            shards += [shard_id] * len(page)
            checkpoint[shard_id] = page[-1]["dynamodb"]["SequenceNumber"]
    return StreamBatch(records, arn, checkpoint, shards, start)


def pending_count(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    checkpoint_file: str | Path | None = None,
    at_most: int = REMAINING_COUNTED,
) -> int:
    """How many records wait past the checkpoint (counted up to `at_most`, then `at_most`), none kept."""
    with translated(client, table):
        arn = stream_arn(client, table)
        if not arn:
            return 0
        return sum(len(page) for _, page in _pages(streams_client, arn, load_checkpoint(checkpoint_file, arn), at_most))


def _pages(
    streams_client: DynamoDBStreamsClient, arn: str, checkpoint: Checkpoint, max_records: int | None
) -> Iterator[tuple[str, list[StreamRecord]]]:
    """(shard id, records) page by page, shard by shard (parents first), from the checkpoint, until `max_records` came (None: all)."""
    left = max_records
    for shard in in_lineage_order(list_shards(streams_client, arn)):
        shard_id = shard["ShardId"]
        iterator = shard_iterator(streams_client, arn, shard_id, after=checkpoint.get(shard_id))
        while iterator and (left is None or left > 0):
            page = streams_client.get_records(ShardIterator=iterator, Limit=PAGE if left is None else min(PAGE, left))
            if not page.get("Records"):
                break
            if left is not None:
                left -= len(page["Records"])
            yield shard_id, page["Records"]
            iterator = page.get("NextShardIterator")


@dataclass
class Drained:
    """What `drain` did: its batches' results added up, and what is left.

    `remaining` is what still waits after a run that reached its cap (counted up to
    REMAINING_COUNTED); `stopped` says a record failed now and the run ended before it.
    """

    result: stream.StreamResult
    batches: int = 0
    remaining: int = 0
    capped: bool = False
    stopped: bool = False


def drain(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    checkpoint_file: str | Path,
    dead_letter_file: str | Path,
    *,
    max_records: int | None = None,
    batch_records: int | None = None,
    on_batch: Callable[[StreamBatch, stream.StreamResult], None] | None = None,
) -> Drained:
    """Apply every pending record of the table's stream (or the first `max_records`), batch after batch.

    Each batch is read from the checkpoint, applied (`stream.handle_records`), its
    malformed records appended to `dead_letter_file`, then the checkpoint moved past what
    was dealt with; `on_batch(batch, result)` hears of each. A record that fails now ends
    the run with the checkpoint before it (`stopped`). Ctrl-C raises Interrupted with the
    count applied; the batch it cut short is applied again by the next run (harmless).
    """
    drained = Drained(stream.StreamResult())
    try:
        while max_records is None or drained.result.records < max_records:
            size = batch_records or BATCH_RECORDS
            wanted = size if max_records is None else min(size, max_records - drained.result.records)
            batch = read_stream(client, streams_client, table, checkpoint_file, wanted)
            if not batch.records or batch.arn is None:
                break
            result = stream.handle_records(client, table, batch.records, stop_on_retryable=True)
            if result.malformed:
                save_dead_letters(dead_letter_file, batch.records, result.malformed, table)
            save_checkpoint(checkpoint_file, batch.arn, batch.checkpoint_through(result.handled))
            _add(drained, result)
            if on_batch:
                on_batch(batch, result)
            if result.stopped_at is not None:
                drained.stopped = True
                return drained
    except KeyboardInterrupt:
        applied = drained.result.records
        raise Interrupted(
            f"interrupted: {applied} records applied and checkpointed; run stream.process again to go on", applied
        ) from None
    if max_records is not None and drained.result.records >= max_records:
        drained.remaining = pending_count(client, streams_client, table, checkpoint_file)
        drained.capped = True
    return drained


def _add(drained: Drained, result: stream.StreamResult) -> None:
    """Add a batch's result to the run's, its record indexes made the run's own."""
    total = drained.result
    offset = total.records
    for name in ("records", "messages", "moved", "already_current", "vanished", "ignored", "estimated_wcu"):
        setattr(total, name, getattr(total, name) + getattr(result, name))
    total.failed += [replace(failure, index=failure.index + offset) for failure in result.failed]
    total.stopped_at = None if result.stopped_at is None else offset + result.stopped_at
    drained.batches += 1


def save_dead_letters(path: str | Path, records: Sequence[object], failures: list[RecordFailure], table: str) -> None:
    """Append each failed record to a JSON Lines file: its sequence number, the reason and the record itself.

    Written before the checkpoint moves past them, so a crash in between saves a record
    twice rather than never.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # records hold people's messages: owner only
    if os.fstat(fd).st_mode & 0o077:
        os.fchmod(fd, 0o600)  # a file an earlier version left readable by others
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        for failure in failures:
            entry = {
                "table": table,
                "sequence_number": failure.sequence_number,
                "identifier": failure.identifier,
                "reason": failure.reason,
                "record": records[failure.index],
            }
            out.write(json.dumps(entry, default=_plain) + "\n")


def _plain(value: object) -> str:
    """JSON for what get_records returns besides JSON types (a datetime, bytes of a B attribute)."""
    import base64
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return repr(value)
