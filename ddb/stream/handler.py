"""Pattern E: keep every participant's group item at the conversation's last message.

`handle_records` takes DynamoDB stream records (a Lambda event's `Records`, or what
`dynamodbstreams.get_records` returns) and, for every new message (an INSERT of a
`MSG#` item), moves each group item of that conversation to the message's time and
text (`ddb.stream.moves`: one conditional transaction per group item, so a group never
moves backwards, duplicate and out-of-order records are harmless, and two handlers racing
on one group cannot leave two group items for one participant).

`parse_record` (`ddb.stream.records`) turns one record into the message it inserts (or
None when it is not a new message) and raises `MalformedRecord` for a record that can
never apply (a poison record: no sort key, no text, no conversation uuid, not even a
dict). A record that fails while being applied (throttling, an engine that does not
answer) may succeed on a retry. `handle_records` applies every good record of a batch
and lists the failures, each with its sequence number, its reason and which kind it is.
It applies a conversation's records of one batch at once: moving the group items to the
newest of them is what applying each in turn comes to (the older ones find the group
already past them, and message_count counts the whole interval), at one query and one
transaction per group item for the conversation instead of per record. Conversations
touch different group items, so with `workers` above 1 several are applied at once, each
whole in one thread. `lambda_handler` is the Lambda entry point (`ddb.stream.reader` and
`ddb.stream.follower` feed the same handler locally).
"""

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, MalformedRecord
from ddb.stream.moves import apply_message, move_group_item
from ddb.stream.records import (
    BatchItemFailure,
    BatchResponse,
    InsertedMessage,
    RecordFailure,
    identifier,
    parse_record,
    sequence_number,
)

__all__ = [
    "RecordFailure",
    "StreamResult",
    "apply_message",
    "batch_item_failures",
    "handle_records",
    "lambda_handler",
    "move_group_item",
    "parse_record",
]

MAX_WORKERS = 10  # conversations applied at once, at most: the client's connection pool (botocore's 10)
Conversation = list[tuple[int, InsertedMessage]]  # one conversation's messages of a batch, (index, message) in batch order


@dataclass
class StreamResult:
    """What a batch of records did."""

    records: int = 0
    messages: int = 0
    moved: int = 0
    already_current: int = 0
    vanished: int = 0  # group items deleted while the record was applied: nothing to move
    ignored: int = 0
    failed: list[RecordFailure] = field(default_factory=list)  # in batch order
    stopped_at: int | None = None  # index of the retryable failure that ended the batch early
    estimated_wcu: float = 0.0

    @property
    def malformed(self) -> list[RecordFailure]:
        """The failures that can never apply."""
        return [f for f in self.failed if not f.retryable]

    @property
    def retryable(self) -> list[RecordFailure]:
        """The failures that may apply on a later try."""
        return [f for f in self.failed if f.retryable]

    @property
    def handled(self) -> int:
        """How many records, from the start of the batch, were dealt with (applied, ignored or malformed)."""
        return self.records if self.stopped_at is None else self.stopped_at

    def as_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["failed"] = [asdict(f) for f in self.failed]
        return data


def _apply(client: DynamoDBClient, table: str, message: InsertedMessage, result: StreamResult) -> int:
    """apply_message, with the engine's refusal of the message itself counted as malformed."""
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            return apply_message(client, table, message, result)
        except ClientError as exc:
            # The request was well formed for any good message, so a ValidationException
            # (e.g. the moved group item would exceed 400 KB) is this record's fault.
            if error_code(exc) == "ValidationException":
                detail = exc.response["Error"].get("Message", "")
                raise MalformedRecord(f"DynamoDB refuses to apply it: {detail}") from exc
            raise


def _apply_conversation(client: DynamoDBClient, table: str, messages: Conversation) -> tuple[StreamResult, dict[int, DdbError]]:
    """Apply one conversation's messages of a batch; its own counts and the failures by index.

    The newest message is applied (the first of equal times, as in turn); the others are
    then already current for each group item. One the engine refuses (malformed) is
    passed for the next newest; one that fails now fails every record not yet applied.
    The counts are the conversation's own, so conversations can be applied in threads.
    """
    result, failures = StreamResult(), dict[int, DdbError]()
    waiting = sorted(messages, key=lambda pair: pair[1]["sk"], reverse=True)  # stable: equal times stay in batch order
    while waiting:
        newest = waiting[0][1]
        try:
            groups = _apply(client, table, newest, result)
        except MalformedRecord as exc:
            failures.update({i: exc for i, message in waiting if message == newest})
            waiting = [(i, message) for i, message in waiting if message != newest]
            continue
        except DdbError as exc:
            failures.update({i: exc for i, _ in waiting})
            break
        result.already_current += groups * (len(waiting) - 1)
        break
    return result, failures


def _apply_conversations(
    client: DynamoDBClient, table: str, conversations: list[Conversation], workers: int, stop_on_retryable: bool
) -> list[tuple[StreamResult, dict[int, DdbError]]]:
    """Each conversation applied (`_apply_conversation`), in the order they first appear, or `workers` at once.

    One at a time with `stop_on_retryable`, a conversation that comes wholly after a record
    that failed now is left for the next read; at once, every conversation is applied.
    """
    if workers > 1 and len(conversations) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(workers, MAX_WORKERS, len(conversations)), thread_name_prefix="pattern-e") as pool:
            return list(pool.map(lambda messages: _apply_conversation(client, table, messages), conversations))
    outcomes: list[tuple[StreamResult, dict[int, DdbError]]] = []
    stop: int | None = None
    for messages in conversations:
        if stop_on_retryable and stop is not None and messages[0][0] > stop:
            break  # every record of this conversation (and of the later ones) comes after the stop
        outcomes.append(_apply_conversation(client, table, messages))
        failed_now = [i for i, error in outcomes[-1][1].items() if not isinstance(error, MalformedRecord)]
        stop = min([*failed_now, *([] if stop is None else [stop])], default=None)
    return outcomes


def handle_records(
    client: DynamoDBClient, table: str, records: Sequence[object] | None, stop_on_retryable: bool = False, workers: int = 1
) -> StreamResult:
    """Apply every record of a batch; failures are listed with their reason, in batch order.

    A malformed record never stops the batch: it is listed (not retryable) and the rest is
    applied. A record that fails while being applied is listed as retryable; with
    `stop_on_retryable` the batch ends at the first such record (`stopped_at`), so a caller
    that keeps a checkpoint can keep it before that record: every record before it was
    dealt with (a record after it may have been applied too: applying it again is harmless).
    `workers` conversations are applied at once (at most MAX_WORKERS; 1: one after the
    other). `records` None is an empty batch.
    """
    records = records or []
    result = StreamResult()
    parsed: list[InsertedMessage | None] = []
    failures: dict[int, DdbError] = {}
    conversations: dict[str, Conversation] = {}
    for index, record in enumerate(records):
        try:
            message = parse_record(record)
        except MalformedRecord as poison:
            failures[index], message = poison, None
        parsed.append(message)
        if message is not None:
            conversations.setdefault(message["pk"], []).append((index, message))
    for counts, failed in _apply_conversations(client, table, list(conversations.values()), workers, stop_on_retryable):
        for name in ("moved", "already_current", "vanished", "estimated_wcu"):
            setattr(result, name, getattr(result, name) + getattr(counts, name))
        failures.update(failed)
    failed_now = [i for i, error in failures.items() if not isinstance(error, MalformedRecord)]
    end = len(records)
    if failed_now and stop_on_retryable:
        result.stopped_at = min(failed_now)
        end = result.stopped_at + 1
    result.records = end
    result.messages = sum(message is not None for message in parsed[:end])
    result.ignored = sum(message is None and i not in failures for i, message in enumerate(parsed[:end]))
    for index in sorted(i for i in failures if i < end):
        error, record = failures[index], records[index]
        retryable = not isinstance(error, MalformedRecord)
        result.failed.append(RecordFailure(index, sequence_number(record), identifier(record, index), str(error), retryable))
    return result


def batch_item_failures(records: Sequence[object] | None, result: StreamResult) -> list[BatchItemFailure]:
    """The `batchItemFailures` of Lambda's partial-batch response for `result`.

    Every failed record is named by its sequence number; Lambda restarts the shard at the
    lowest one named. A failed record without a sequence number cannot be named, so the
    batch's first sequence number stands in for it (the whole batch is retried); when no
    record has one, the event did not come from a stream and the record's eventID or
    `#<index>` is given.
    """
    numbers = [n for n in map(sequence_number, records or []) if n]
    named: list[str] = []
    for failure in result.failed:
        identifier = failure.sequence_number or (numbers[0] if numbers else failure.identifier)
        if identifier not in named:
            named.append(identifier)
    return [{"itemIdentifier": identifier} for identifier in named]


def lambda_handler(event: object, context: object = None) -> BatchResponse:
    """AWS Lambda entry point for the table's stream (set TABLE_NAME; region from Lambda).

    Returns the partial-batch response (enable ReportBatchItemFailures on the event
    source mapping): every record that failed, malformed or not, is named in
    `batchItemFailures`, so Lambda retries it and, once MaximumRetryAttempts are spent,
    hands it to the on-failure destination. Every good record of the batch is applied
    either way. Each failure is logged with its reason. An event without Records
    (or with Records null) has nothing to do. STREAM_WORKERS (1 unless set) says how many
    conversations of a batch are applied at once.
    """
    import logging

    import boto3

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        records = []
    table = os.environ.get("TABLE_NAME", "cruddur-messages")
    result = handle_records(_lambda_client(boto3), table, records, workers=_lambda_workers())
    log = logging.getLogger(__name__)
    for failure in result.failed:
        kind = "retryable" if failure.retryable else "malformed, can never apply"
        log.warning("stream record %s not applied (%s): %s", failure.identifier, kind, failure.reason)
    return {"batchItemFailures": batch_item_failures(records, result)}


def _lambda_workers() -> int:
    """STREAM_WORKERS as a number of workers from 1 to MAX_WORKERS; 1 when unset or not a whole number."""
    value = os.environ.get("STREAM_WORKERS", "1").strip()
    return min(max(int(value), 1), MAX_WORKERS) if value.isdigit() else 1


_CLIENTS: dict[str, DynamoDBClient] = {}


def _lambda_client(boto3: ModuleType) -> DynamoDBClient:
    # Reused across warm invocations; created on first use, never at import.
    if "dynamodb" not in _CLIENTS:
        _CLIENTS["dynamodb"] = boto3.client("dynamodb")
    return _CLIENTS["dynamodb"]
