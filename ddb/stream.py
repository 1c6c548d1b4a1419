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

Each record is handled on its own. `parse_record` turns one record into the message it
inserts (or None when it is not a new message) and raises `MalformedRecord` for a record
that can never apply (a poison record: no sort key, no text, no conversation uuid, not
even a dict). A record that fails while being applied (throttling, an engine that does
not answer) may succeed on a retry. `handle_records` applies every good record of a batch
and lists the failures, each with its sequence number, its reason and which kind it is.

`lambda_handler` is the Lambda entry point; `read_stream` feeds the same handler from a
local engine's stream.
"""

import json
import os
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from . import capacity, contract
from .awserrors import translated
from .errors import ConditionFailed, DdbError, MalformedRecord
from .items import MESSAGE_PREFIX, to_typed
from .messaging import current_group_item, group_items

MAX_MOVE_TRIES = 10
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
_TYPE_NAMES = {"S": "a string", "N": "a number", "B": "binary", "BOOL": "a boolean", "NULL": "null", "M": "a map",
               "L": "a list", "SS": "a string set", "NS": "a number set", "BS": "a binary set"}


@dataclass(frozen=True)
class RecordFailure:
    """One record of a batch that was not applied, and why.

    `retryable` is False for a record that can never apply (malformed: retrying cannot
    help) and True for one that failed now and may succeed later (throttling, engine down).
    `identifier` is the sequence number, else the record's eventID, else `#<index>`.
    """

    index: int
    sequence_number: str | None
    identifier: str
    reason: str
    retryable: bool


@dataclass
class StreamResult:
    """What a batch of records did."""

    records: int = 0
    messages: int = 0
    moved: int = 0
    already_current: int = 0
    vanished: int = 0  # group items deleted while the record was applied: nothing to move
    ignored: int = 0
    failed: list = field(default_factory=list)  # RecordFailure, in batch order
    stopped_at: int | None = None  # index of the retryable failure that ended the batch early
    estimated_wcu: float = 0.0

    @property
    def malformed(self) -> list:
        """The failures that can never apply."""
        return [f for f in self.failed if not f.retryable]

    @property
    def retryable(self) -> list:
        """The failures that may apply on a later try."""
        return [f for f in self.failed if f.retryable]

    @property
    def handled(self) -> int:
        """How many records, from the start of the batch, were dealt with (applied, ignored or malformed)."""
        return self.records if self.stopped_at is None else self.stopped_at

    def as_json(self) -> dict:
        data = self.__dict__.copy()
        data["failed"] = [asdict(f) for f in self.failed]
        return data


def sequence_number(record) -> str | None:
    """The record's stream sequence number, or None when it has no usable one."""
    details = record.get("dynamodb") if isinstance(record, dict) else None
    number = details.get("SequenceNumber") if isinstance(details, dict) else None
    return number if isinstance(number, str) and number else None


def _identifier(record, index: int) -> str:
    number = sequence_number(record)
    if number:
        return number
    event_id = record.get("eventID") if isinstance(record, dict) else None
    return event_id if isinstance(event_id, str) and event_id else f"#{index}"


@dataclass(frozen=True)
class _Shapes:
    pk: re.Pattern
    sk: re.Pattern
    text_limit: int


@cache
def _shapes() -> _Shapes:
    """What a message's pk, sk and text must look like, from the item contract."""
    item = contract.schema("item")["$defs"]
    properties = item["message_item"]["properties"]
    return _Shapes(re.compile(properties["pk"]["pattern"]), re.compile(properties["sk"]["pattern"]),
                   item["text"]["maxLength"])


def _string(image: dict, name: str) -> str:
    """The string attribute `name` of a typed image; MalformedRecord if it is missing or not a string."""
    if name not in image:
        raise MalformedRecord(f"the new item has no {name}")
    value = image[name]
    kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if kind != "S" or not isinstance(value[kind], str):
        found = _TYPE_NAMES.get(kind or "", "not a DynamoDB attribute value")
        raise MalformedRecord(f"the new item's {name} is {found}, not a string")
    return value["S"]


def parse_record(record) -> dict | None:
    """The message a stream record inserts, as {"pk", "sk", "message"}, or None when it inserts none.

    Pure: no request is sent. Anything but an INSERT of a `MSG#` item is None (a change,
    a delete, a group item written by a move). Raises MalformedRecord, naming what is
    wrong, for a record that can never apply.
    """
    if not isinstance(record, dict):
        raise MalformedRecord(f"the record is not an object (it is {type(record).__name__} {str(record)[:40]!r})")
    event = record.get("eventName")
    if event not in EVENT_NAMES:
        raise MalformedRecord("the record has no eventName" if event is None
                              else f"the record's eventName {str(event)[:40]!r} is none of {', '.join(EVENT_NAMES)}")
    if event != "INSERT":
        return None
    details = record.get("dynamodb")
    if not isinstance(details, dict):
        raise MalformedRecord("the INSERT record has no dynamodb object")
    image = details.get("NewImage")
    if not isinstance(image, dict):
        raise MalformedRecord("the INSERT record has no NewImage (the stream's view type must be NEW_IMAGE)")
    pk = _string(image, "pk")  # every item of the table has a string pk
    if not pk.startswith(MESSAGE_PREFIX):
        return None  # a group item, or anything else that is not a message
    shapes = _shapes()
    if not shapes.pk.fullmatch(pk):
        raise MalformedRecord(f"the pk {pk[:60]!r} names no conversation uuid (expected {MESSAGE_PREFIX}<uuid>)")
    sk = _string(image, "sk")
    if not shapes.sk.fullmatch(sk):
        raise MalformedRecord(f"the sk {sk[:60]!r} is not a time like 2026-11-25T16:20:00.000000+00:00")
    text = _string(image, "message")
    if not text.strip():
        raise MalformedRecord("the message is blank")
    if len(text) > shapes.text_limit:
        raise MalformedRecord(f"the message is {len(text)} characters long, more than the limit of {shapes.text_limit}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRecord("the message is not valid Unicode text (a lone surrogate)") from None
    return {"pk": pk, "sk": sk, "message": text}


def move_group_item(client, table: str, current: dict | None, message: dict) -> str:
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
        try:
            client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": table, "Key": to_typed({"pk": current["pk"], "sk": current["sk"]}),
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Put": {"TableName": table, "Item": to_typed(moved), "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
            return "moved"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
        # Someone moved it first (or our view was stale): look again and retry.
        current = current_group_item(client, table, owner, group)
    raise ConditionFailed(f"could not move group item {owner} of {group} after {MAX_MOVE_TRIES} tries")


def apply_message(client, table: str, message: dict, result: StreamResult):
    """Move both group items of the message's conversation to it."""
    group = message["pk"][len(MESSAGE_PREFIX):]
    found, _, _ = group_items(client, table, group)  # via the GSI: may lag; a move re-reads on conflict
    newest = {}
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


def _apply(client, table: str, message: dict, result: StreamResult):
    """apply_message, with the engine's refusal of the message itself counted as malformed."""
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            apply_message(client, table, message, result)
        except ClientError as exc:
            # The request was well formed for any good message, so a ValidationException
            # (e.g. the moved group item would exceed 400 KB) is this record's fault.
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                detail = exc.response["Error"].get("Message", "")
                raise MalformedRecord(f"DynamoDB refuses to apply it: {detail}") from exc
            raise


def handle_records(client, table: str, records: list | None, stop_on_retryable: bool = False) -> StreamResult:
    """Apply every record of a batch, each on its own; failures are listed with their reason.

    A malformed record never stops the batch: it is listed (not retryable) and the next
    record is applied. A record that fails while being applied is listed as retryable;
    with `stop_on_retryable` the batch ends there (`stopped_at`), so a caller that keeps
    a checkpoint can keep it before that record. `records` None is an empty batch.
    """
    result = StreamResult()
    for index, record in enumerate(records or []):
        result.records += 1
        try:
            message = parse_record(record)
            if message is None:
                result.ignored += 1
                continue
            result.messages += 1
            _apply(client, table, message, result)
        except DdbError as exc:
            retryable = not isinstance(exc, MalformedRecord)
            result.failed.append(RecordFailure(index, sequence_number(record), _identifier(record, index), str(exc), retryable))
            if retryable and stop_on_retryable:
                result.stopped_at = index
                break
    return result


def batch_item_failures(records: list | None, result: StreamResult) -> list[dict]:
    """The `batchItemFailures` of Lambda's partial-batch response for `result`.

    Every failed record is named by its sequence number; Lambda restarts the shard at the
    lowest one named. A failed record without a sequence number cannot be named, so the
    batch's first sequence number stands in for it (the whole batch is retried); when no
    record has one, the event did not come from a stream and the record's eventID or
    `#<index>` is given.
    """
    numbers = [n for n in map(sequence_number, records or []) if n]
    named = []
    for failure in result.failed:
        identifier = failure.sequence_number or (numbers[0] if numbers else failure.identifier)
        if identifier not in named:
            named.append(identifier)
    return [{"itemIdentifier": identifier} for identifier in named]


def lambda_handler(event, context=None):
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


_CLIENTS = {}


def _lambda_client(boto3):
    # Reused across warm invocations; created on first use, never at import.
    if "dynamodb" not in _CLIENTS:
        _CLIENTS["dynamodb"] = boto3.client("dynamodb")
    return _CLIENTS["dynamodb"]


@dataclass
class StreamBatch:
    """Records read from a table's stream, and how far that got (per shard).

    `shards[i]` is the shard of `records[i]`; `start` is the checkpoint the read began at.
    """

    records: list
    arn: str | None
    checkpoint: dict
    shards: list = field(default_factory=list)
    start: dict = field(default_factory=dict)

    def checkpoint_through(self, count: int) -> dict:
        """The checkpoint once the first `count` records are dealt with (the rest to be read again)."""
        checkpoint = dict(self.start)
        for record, shard in zip(self.records[:count], self.shards):
            checkpoint[shard] = record["dynamodb"]["SequenceNumber"]
        return checkpoint


def read_stream(client, streams_client, table: str, checkpoint_file=None, max_records: int = 10000) -> StreamBatch:
    """Read the table's stream from the last checkpoint (or its start).

    The checkpoint (a JSON file of shard id -> last sequence number) lets repeated runs
    read only what is new; since the handler is idempotent, re-reading is harmless.
    """
    with translated(client, table):
        arn = client.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        if not arn:
            return StreamBatch([], None, {})
        checkpoint = _load_checkpoint(checkpoint_file, arn)
        start = dict(checkpoint)
        records: list[dict] = []
        shards: list[str] = []
        description = streams_client.describe_stream(StreamArn=arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in checkpoint:
                iterator = streams_client.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=checkpoint[shard_id])["ShardIterator"]
            else:
                iterator = streams_client.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator and len(records) < max_records:
                page = streams_client.get_records(ShardIterator=iterator, Limit=1000)
                if not page.get("Records"):
                    break
                records += page["Records"]
                shards += [shard_id] * len(page["Records"])
                checkpoint[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
    return StreamBatch(records, arn, checkpoint, shards, start)


def _load_checkpoint(path, arn) -> dict:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return dict(data.get(arn, {})) if isinstance(data, dict) else {}


def save_checkpoint(path, arn: str, checkpoint: dict):
    """Remember how far the stream was read (after its records were applied)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({arn: checkpoint}))


def save_dead_letters(path, records: list, failures: list, table: str):
    """Append each failed record to a JSON Lines file: its sequence number, the reason and the record itself.

    Written before the checkpoint moves past them, so a crash in between saves a record
    twice rather than never.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for failure in failures:
            entry = {"table": table, "sequence_number": failure.sequence_number, "identifier": failure.identifier,
                     "reason": failure.reason, "record": records[failure.index]}
            out.write(json.dumps(entry, default=_plain) + "\n")


def _plain(value):
    """JSON for what get_records returns besides JSON types (a datetime, bytes of a B attribute)."""
    import base64
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return repr(value)
