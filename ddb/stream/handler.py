"""Pattern E: keep every participant's group item at the conversation's last message.

`handle_records` takes DynamoDB stream records (a Lambda event's `Records`, or what
`dynamodbstreams.get_records` returns) and, for every new message (an INSERT of a
`MSG#` item), moves each group item of that conversation to the message's time and
text. A move deletes the old key and puts the new one in one transaction, conditional
on the old item still being there, so:

- a group never moves backwards: a message older than the group's time is a no-op,
  which also makes duplicate and out-of-order records harmless;
- two handlers racing on one group cannot leave two group items for one participant:
  the loser's condition fails, it re-reads (strongly consistent) and tries again.

`parse_record` (`ddb.stream.records`) turns one record into the message it inserts (or
None when it is not a new message) and raises `MalformedRecord` for a record that can
never apply (a poison record: no sort key, no text, no conversation uuid, not even a
dict). A record that fails while being applied (throttling, an engine that does not
answer) may succeed on a retry. `handle_records` applies every good record of a batch
and lists the failures, each with its sequence number, its reason and which kind it is.
It applies a conversation's records of one batch at once: moving the group items to the
newest of them is what applying each in turn comes to (the older ones find the group
already past them, and message_count counts the whole interval), at one query and one
transaction per group item for the conversation instead of per record. `lambda_handler`
is the Lambda entry point (`ddb.stream.reader` feeds the same handler locally).
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from ddb.app import group_items
from ddb.app.message_count import ATTRIBUTE, count_messages
from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient, PlainItem
from ddb.core.errors import ConditionFailed, DdbError, MalformedRecord
from ddb.data import capacity
from ddb.data.items import MESSAGE_PREFIX, to_typed
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

MAX_MOVE_TRIES = 10


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


def move_group_item(client: DynamoDBClient, table: str, current: Mapping[str, Any] | None, message: InsertedMessage) -> str:
    """Move one group item to `message`'s time and text, atomically.

    Returns "moved", "current" (the group is already at or past the message) or
    "vanished" (the group item is gone: nothing to move, and a deleted conversation is
    not brought back).
    """
    from botocore.exceptions import ClientError

    if current is None:
        return "vanished"
    owner, group = current["pk"], current["message_group_uuid"]
    for _ in range(MAX_MOVE_TRIES):
        if current is None:
            return "vanished"
        if current["sk"] >= message["sk"]:
            return "current"
        moved = {**current, "sk": message["sk"], "message": message["message"]}
        if ATTRIBUTE in current:  # counted (migration 1): add the messages between the old time and the new
            moved[ATTRIBUTE] = current[ATTRIBUTE] + count_messages(
                client, table, group, after=current["sk"], through=message["sk"]
            )
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": to_typed({"pk": current["pk"], "sk": current["sk"]}),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": table, "Item": to_typed(moved), "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
            return "moved"
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
        # Someone moved it first (or our view was stale): look again and retry.
        current = group_items.current_group_item(client, table, owner, group)
    raise ConditionFailed(f"could not move group item {owner} of {group} after {MAX_MOVE_TRIES} tries")


def apply_message(client: DynamoDBClient, table: str, message: InsertedMessage, result: StreamResult) -> int:
    """Move both group items of the message's conversation to it; how many group items were found."""
    group = message["pk"][len(MESSAGE_PREFIX) :]
    found = group_items.in_conversation(client, table, group).items  # via the GSI: may lag; a move re-reads on conflict
    newest: dict[str, PlainItem] = {}
    for item in found:
        if item["pk"] not in newest or item["sk"] > newest[item["pk"]]["sk"]:
            newest[item["pk"]] = item
    for current in newest.values():
        outcome = move_group_item(client, table, current, message)
        if outcome == "moved":
            result.moved += 1
            result.estimated_wcu += capacity.transaction_units(puts=[current], deletes=[current])
        elif outcome == "vanished":
            result.vanished += 1
        else:
            result.already_current += 1
    return len(newest)


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


def _apply_conversation(
    client: DynamoDBClient, table: str, messages: list[tuple[int, InsertedMessage]], result: StreamResult
) -> dict[int, DdbError]:
    """Apply one conversation's messages of a batch, `(index, message)` in batch order; the failures by index.

    The newest message is applied (the first of equal times, as in turn); the others are
    then already current for each group item. One the engine refuses (malformed) is
    passed for the next newest; one that fails now fails every record not yet applied.
    """
    failures: dict[int, DdbError] = {}
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
            return failures
        result.already_current += groups * (len(waiting) - 1)
        return failures
    return failures


def handle_records(
    client: DynamoDBClient, table: str, records: Sequence[object] | None, stop_on_retryable: bool = False
) -> StreamResult:
    """Apply every record of a batch; failures are listed with their reason, in batch order.

    A malformed record never stops the batch: it is listed (not retryable) and the rest is
    applied. A record that fails while being applied is listed as retryable; with
    `stop_on_retryable` the batch ends at the first such record (`stopped_at`), so a caller
    that keeps a checkpoint can keep it before that record: every record before it was
    dealt with (conversations are applied in the order they first appear). `records` None
    is an empty batch.
    """
    records = records or []
    result = StreamResult()
    parsed: list[InsertedMessage | None] = []
    failures: dict[int, DdbError] = {}
    conversations: dict[str, list[tuple[int, InsertedMessage]]] = {}
    for index, record in enumerate(records):
        try:
            message = parse_record(record)
        except MalformedRecord as poison:
            failures[index], message = poison, None
        parsed.append(message)
        if message is not None:
            conversations.setdefault(message["pk"], []).append((index, message))
    end = len(records)
    for messages in conversations.values():
        failed = _apply_conversation(client, table, messages, result)
        failures.update(failed)
        failed_now = [i for i, error in failed.items() if not isinstance(error, MalformedRecord)]
        if failed_now and stop_on_retryable:
            result.stopped_at = min(failed_now)
            end = result.stopped_at + 1
            break
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
    (or with Records null) has nothing to do.
    """
    import logging

    import boto3

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        records = []
    result = handle_records(_lambda_client(boto3), os.environ.get("TABLE_NAME", "cruddur-messages"), records)
    log = logging.getLogger(__name__)
    for failure in result.failed:
        kind = "retryable" if failure.retryable else "malformed, can never apply"
        log.warning("stream record %s not applied (%s): %s", failure.identifier, kind, failure.reason)
    return {"batchItemFailures": batch_item_failures(records, result)}


_CLIENTS: dict[str, DynamoDBClient] = {}


def _lambda_client(boto3: ModuleType) -> DynamoDBClient:
    # Reused across warm invocations; created on first use, never at import.
    if "dynamodb" not in _CLIENTS:
        _CLIENTS["dynamodb"] = boto3.client("dynamodb")
    return _CLIENTS["dynamodb"]
