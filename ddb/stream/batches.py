"""One batch of a shard applied as Lambda's event source mapping applies it: bisected on failure, poison dead-lettered.

`apply_batch` hands the batch to the handler (`handle_records`). A malformed record can
never apply: the handler passes it and applies the rest, and it is dead-lettered. A batch
in which a record fails while being applied (the handler applies a conversation's records
at once, so one bad record fails its whole conversation) is split in half and each half
applied in turn (BisectBatchOnFunctionError), until the failing record is alone; a lone
record is tried `max_tries` times in all, with a growing wait, then dead-lettered with its
reason. Before any retry the table is asked whether it answers: when it does not, the
engine's error is raised (the record is not at fault, and nothing is dead-lettered). The
halves are applied from the first record on, so what was dealt with is always the batch's
first `through` records: a stop mid-batch keeps a checkpoint before the rest. Every
handler call applies `workers` conversations at once; a lone record is one conversation,
so its tries are never run beside another's.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.stream.handler import StreamResult, handle_records
from ddb.stream.records import RecordFailure, StreamRecord, identifier, sequence_number

MAX_TRIES = 3  # tries of a lone failing record before it is dead-lettered
RETRY_SECONDS = 0.2  # the wait before its second try; doubled before each later one
COUNTS = ("records", "messages", "moved", "already_current", "vanished", "ignored", "estimated_wcu")


@dataclass
class Applied:
    """What `apply_batch` did with a batch.

    `through` records, from the batch's first, were dealt with (applied, passed as not a
    new message, or dead-lettered); fewer than the batch holds when a stop cut it short.
    `result` adds up the handler's counts of the parts that went through; `dead` lists the
    records that can never apply, by their index in the batch, in batch order; `calls` is
    how many times the handler was called (1 when nothing failed).
    """

    through: int = 0
    result: StreamResult = field(default_factory=StreamResult)
    dead: list[RecordFailure] = field(default_factory=list)
    calls: int = 0


def add_counts(total: StreamResult, part: StreamResult) -> None:
    """Add the counts of `part` (records, messages, moves, …) to `total`; failures are not added."""
    for name in COUNTS:
        setattr(total, name, getattr(total, name) + getattr(part, name))


def apply_batch(
    client: DynamoDBClient,
    table: str,
    records: Sequence[StreamRecord],
    stop: threading.Event | None = None,
    max_tries: int = MAX_TRIES,
    retry_seconds: float = RETRY_SECONDS,
    workers: int = 1,
) -> Applied:
    """Apply one batch of stream records, bisecting it on failure (see the module's docstring).

    The first call always runs to its end; once `stop` is set, no further half or retry
    starts, and `through` says how far the batch got. Raises the engine's DdbError when a
    part failed and the table does not answer.
    """
    applied = Applied()
    tries = _Tries(stop or threading.Event(), max(1, max_tries), retry_seconds, workers)
    _apply_part(client, table, records, 0, len(records), tries, applied)
    return applied


@dataclass(frozen=True)
class _Tries:
    """How `apply_batch` tries: its stop, the tries of a lone record, the first wait, the handler's workers."""

    stop: threading.Event
    max_tries: int
    retry_seconds: float
    workers: int


def _apply_part(
    client: DynamoDBClient, table: str, records: Sequence[StreamRecord], low: int, high: int, tries: _Tries, applied: Applied
) -> bool:
    """Apply records[low:high], halves first when it fails; False when a stop cut it short."""
    if low >= high:
        return True
    stop, max_tries, retry_seconds = tries.stop, tries.max_tries, tries.retry_seconds
    result = _handle(client, table, records[low:high], applied, tries.workers)
    if not result.retryable:
        _accept(applied, result, low, high)
        return True
    _check_table(client, table)
    if high - low > 1:
        middle = (low + high) // 2
        for start, end in ((low, middle), (middle, high)):
            if stop.is_set() or not _apply_part(client, table, records, start, end, tries, applied):
                return False
        return True
    for tried in range(1, max_tries):
        if stop.wait(retry_seconds * 2 ** (tried - 1)):
            return False
        result = _handle(client, table, records[low:high], applied, tries.workers)
        if not result.retryable:
            _accept(applied, result, low, high)
            return True
        _check_table(client, table)
    failure = result.retryable[0]
    applied.dead.append(replace(failure, index=low, reason=f"failed {max_tries} tries, the last: {failure.reason}"))
    applied.through = high
    return True


def _handle(client: DynamoDBClient, table: str, part: Sequence[StreamRecord], applied: Applied, workers: int) -> StreamResult:
    """The handler's result for `part`; a handler that raises fails every record of it, as a Lambda error fails its batch."""
    applied.calls += 1
    try:
        return handle_records(client, table, part, workers=workers)
    except Exception as exc:  # noqa: BLE001 - a function error, as Lambda sees it: the part is retried, bisected
        result = StreamResult(records=len(part))
        reason = f"the handler failed: {type(exc).__name__}: {exc}"
        result.failed = [
            RecordFailure(i, sequence_number(record), identifier(record, i), reason, True) for i, record in enumerate(part)
        ]
        return result


def _accept(applied: Applied, result: StreamResult, low: int, high: int) -> None:
    """records[low:high] went through: add its counts, dead-letter its malformed records."""
    add_counts(applied.result, result)
    applied.dead += [replace(failure, index=failure.index + low) for failure in result.malformed]
    applied.through = high


def _check_table(client: DynamoDBClient, table: str) -> None:
    """Raise the engine's DdbError when the table does not answer (a failure that is no record's fault)."""
    with translated(client, table):
        client.describe_table(TableName=table)
