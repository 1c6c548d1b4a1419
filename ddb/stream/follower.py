"""The table's stream followed continuously, as Lambda's event source mapping follows it (`invoke stream.follow`).

`follow` runs until its `stop` event is set. Round after round it reads every ready shard
(`shards.Lineage`: children once their parent is read to its end) a batch of up to
`batch_size` records at a time (GetRecords pages of at most 1,000 are read one after the
other while the shard has a backlog: a page that comes back short ends the batch, so a
lone message is applied at once), applies each batch (`batches.apply_batch`, `workers`
conversations at once: bisected on failure, poison dead-lettered to a JSON Lines file),
then moves the shard's checkpoint (`checkpoint`) past what was dealt with, so a restart
goes on after it. A round that finds nothing waits `poll_seconds` (DynamoDB Streams
answers an empty page for a shard with nothing new). Every `refresh_seconds` it looks at
the table again: a table dropped and created again has a new stream, followed from its
start; shards are listed again then, and as soon as one is read to its end.

The engine must answer when `follow` starts (else its DdbError is raised); a table that is
not there yet is waited for, and so is an engine that stops answering later. `on_wait`
hears why it waits (the DdbError; None once it goes on). A stop set while a batch is applied lets the
handler call in flight finish, starts no further half or retry, and keeps the checkpoint of
what was applied.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient, DynamoDBStreamsClient
from ddb.core.errors import DdbError, EngineUnreachable, InvalidInput, TableMissing
from ddb.stream.batches import MAX_TRIES, RETRY_SECONDS, Applied, add_counts, apply_batch
from ddb.stream.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ddb.stream.handler import MAX_WORKERS, StreamResult
from ddb.stream.reader import save_dead_letters
from ddb.stream.records import StreamRecord
from ddb.stream.shards import POSITIONS, TRIM_HORIZON, Lineage, list_shards, shard_iterator, stream_arn

BATCH_SIZE = 10_000  # records per handler call at most: Lambda's most for DynamoDB streams (its default is 100)
MAX_BATCH_SIZE = 10_000
PAGE = 1000  # GetRecords' most
WORKERS = 4  # conversations of a batch applied at once (bench/stream_follow.py: 1.8x on DynamoDB Local)


@dataclass(frozen=True)
class FollowSettings:
    """How `follow` reads and applies: batch size, workers, where a stream without a checkpoint starts, waits and tries."""

    batch_size: int = BATCH_SIZE
    workers: int = WORKERS
    start: str = TRIM_HORIZON  # or "latest": where shards without a checkpoint start when following begins
    poll_seconds: float = 0.2  # the wait after a round that found nothing new
    refresh_seconds: float = 2.0  # how often the table's stream and its shards are looked at again
    wait_seconds: float = 1.0  # the wait between looks for a table or an engine that is not there
    max_tries: int = MAX_TRIES
    retry_seconds: float = RETRY_SECONDS

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise InvalidInput(f"batch_size must be from 1 to {MAX_BATCH_SIZE}, not {self.batch_size}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise InvalidInput(f"workers must be from 1 to {MAX_WORKERS}, not {self.workers}")
        if self.start not in POSITIONS:
            raise InvalidInput(f"start must be one of {', '.join(POSITIONS)}, not {self.start!r}")


@dataclass
class Followed:
    """What a `follow` run did: the handler's counts added up, batches, dead letters, and where it stopped."""

    result: StreamResult = field(default_factory=StreamResult)
    batches: int = 0
    dead_lettered: int = 0
    shards_finished: int = 0
    streams: int = 0  # streams followed: more than one when the table was dropped and created again
    arn: str | None = None
    checkpoint: Checkpoint = field(default_factory=dict)


BatchListener = Callable[[str, Sequence[StreamRecord], Applied], None]


@dataclass
class _Stream:
    """One stream being followed: its shards' lineage, open iterators and checkpoint."""

    arn: str
    checkpoint: Checkpoint
    lineage: Lineage
    iterators: dict[str, str | None] = field(default_factory=dict)
    listed_at: float = float("-inf")


def follow(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    checkpoint_file: str | Path,
    dead_letter_file: str | Path,
    stop: threading.Event,
    settings: FollowSettings | None = None,
    *,
    on_batch: BatchListener | None = None,
    on_wait: Callable[[DdbError | None], None] | None = None,
    on_stream: Callable[[str], None] | None = None,
) -> Followed:
    """Follow the table's stream until `stop` is set (see the module's docstring); what was done.

    `on_batch(shard_id, records, applied)` hears of each batch once its checkpoint is kept
    (its dead letters already saved); `on_stream(arn)` of each stream it starts to follow.
    """
    settings = settings or FollowSettings()
    followed = Followed()
    stream: _Stream | None = None
    looked_at = float("-inf")
    reached = False
    waiting: list[DdbError | None] = [None]
    while not stop.is_set():
        try:
            if stream is None or time.monotonic() - looked_at >= settings.refresh_seconds:
                arn = stream_arn(client, table)
                reached, looked_at = True, time.monotonic()
                if arn is None:
                    raise TableMissing(f"table {table!r} has no stream")
                if stream is None or arn != stream.arn:
                    position = settings.start if followed.streams == 0 else TRIM_HORIZON
                    stream = _Stream(arn, load_checkpoint(checkpoint_file, arn), Lineage(position))
                    followed.streams, followed.arn = followed.streams + 1, arn
                    if on_stream:
                        on_stream(arn)
            busy = _round(
                client, streams_client, table, stream, checkpoint_file, dead_letter_file, stop, settings, followed, on_batch
            )
            _tell(on_wait, waiting, None)
        except DdbError as exc:
            if not reached and isinstance(exc, EngineUnreachable):
                raise  # nothing answers at all: say so now rather than wait in silence
            if isinstance(exc, TableMissing):
                stream = None
            elif stream is not None:
                stream.iterators.clear()  # read again from the checkpoint once the engine answers
            _tell(on_wait, waiting, exc)
            stop.wait(settings.wait_seconds)
            continue
        if not busy:
            stop.wait(settings.poll_seconds)
    if stream is not None:
        followed.checkpoint = dict(stream.checkpoint)
    return followed


def _tell(on_wait: Callable[[DdbError | None], None] | None, waiting: list[DdbError | None], reason: DdbError | None) -> None:
    """Tell `on_wait` why the follower waits, once per change of reason (the same words are the same reason)."""
    if str(reason or "") != str(waiting[0] or "") or (reason is None) != (waiting[0] is None):
        waiting[0] = reason
        if on_wait:
            on_wait(reason)


def _round(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    stream: _Stream,
    checkpoint_file: str | Path,
    dead_letter_file: str | Path,
    stop: threading.Event,
    settings: FollowSettings,
    followed: Followed,
    on_batch: BatchListener | None,
) -> bool:
    """Read each ready shard once and apply what came; True when some shard had records."""
    busy = False
    with translated(streams_client):
        if time.monotonic() - stream.listed_at >= settings.refresh_seconds:
            stream.lineage.update(list_shards(streams_client, stream.arn), stream.checkpoint)
            stream.listed_at = time.monotonic()
        for shard_id in stream.lineage.ready():
            if stop.is_set():
                break
            records = _read_batch(streams_client, stream, shard_id, settings.batch_size)
            if records is None:
                stream.lineage.finish(shard_id)
                followed.shards_finished += 1
                stream.listed_at = float("-inf")  # its children may be listed by now
                continue
            if not records:
                continue
            busy = True
            applied = apply_batch(client, table, records, stop, settings.max_tries, settings.retry_seconds, settings.workers)
            _keep(stream, shard_id, records, applied, checkpoint_file, dead_letter_file, table, followed)
            if on_batch:
                on_batch(shard_id, records, applied)
            if applied.through < len(records):
                break  # stopped part-way: the checkpoint is before the rest
    return busy


def _read_batch(streams_client: DynamoDBStreamsClient, stream: _Stream, shard_id: str, size: int) -> list[StreamRecord] | None:
    """Up to `size` next records of the shard, page after page while full pages come; None once it is read to its end."""
    records: list[StreamRecord] = []
    while len(records) < size:
        wanted = min(PAGE, size - len(records))
        page = _read(streams_client, stream, shard_id, wanted)
        if page is None:
            return records or None  # the end: said on the next read when records came first
        records += page
        if len(page) < wanted:
            break  # no backlog (or a page cut short by its size): apply what came
    return records


def _read(streams_client: DynamoDBStreamsClient, stream: _Stream, shard_id: str, limit: int) -> list[StreamRecord] | None:
    """The next records of the shard (maybe none yet); None once the shard is read to its end."""
    from botocore.exceptions import ClientError

    if shard_id not in stream.iterators:
        after, position = stream.checkpoint.get(shard_id), stream.lineage.starts.get(shard_id, TRIM_HORIZON)
        stream.iterators[shard_id] = shard_iterator(streams_client, stream.arn, shard_id, after, position)
    iterator = stream.iterators[shard_id]
    if iterator is None:
        return None
    try:
        page = streams_client.get_records(ShardIterator=iterator, Limit=limit)
    except ClientError as exc:
        code = error_code(exc)
        if code == "ExpiredIteratorException":
            del stream.iterators[shard_id]  # asked again from the checkpoint next round
            return []
        if code == "TrimmedDataAccessException":  # the checkpoint is older than the stream keeps: read what it keeps
            stream.checkpoint.pop(shard_id, None)
            stream.lineage.starts[shard_id] = TRIM_HORIZON
            del stream.iterators[shard_id]
            return []
        raise
    stream.iterators[shard_id] = page.get("NextShardIterator")
    records: list[StreamRecord] = page.get("Records", [])
    if not records and stream.iterators[shard_id] is None:
        return None
    return records


def _keep(
    stream: _Stream,
    shard_id: str,
    records: Sequence[StreamRecord],
    applied: Applied,
    checkpoint_file: str | Path,
    dead_letter_file: str | Path,
    table: str,
    followed: Followed,
) -> None:
    """Save the batch's dead letters, then move the shard's checkpoint past what was dealt with, and count."""
    if applied.dead:
        save_dead_letters(dead_letter_file, records, applied.dead, table)
    if applied.through:
        stream.checkpoint[shard_id] = records[applied.through - 1]["dynamodb"]["SequenceNumber"]
        save_checkpoint(checkpoint_file, stream.arn, stream.checkpoint)
    add_counts(followed.result, applied.result)
    followed.batches += 1
    followed.dead_lettered += len(applied.dead)
