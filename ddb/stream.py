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

`lambda_handler` is the Lambda entry point; `read_stream` feeds the same handler from a
local engine's stream.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import capacity
from .awserrors import translated
from .errors import ConditionFailed
from .items import MESSAGE_PREFIX, from_typed, to_typed
from .messaging import current_group_item, group_items

MAX_MOVE_TRIES = 10


@dataclass
class StreamResult:
    """What a batch of records did."""

    records: int = 0
    messages: int = 0
    moved: int = 0
    already_current: int = 0
    ignored: int = 0
    failed: list = field(default_factory=list)  # sequence numbers of records to retry
    estimated_wcu: float = 0.0

    def as_json(self) -> dict:
        return self.__dict__.copy()


def new_message(record: dict) -> dict | None:
    """The plain message item a record inserts, or None for anything else."""
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage")
    if not image or not image.get("pk", {}).get("S", "").startswith(MESSAGE_PREFIX):
        return None
    return from_typed(image)


def move_group_item(client, table: str, current: dict, message: dict) -> str:
    """Move one group item to `message`'s time and text, atomically.

    Returns "moved" or "current" (the group is already at or past the message).
    """
    from botocore.exceptions import ClientError

    group = current["message_group_uuid"]
    for _ in range(MAX_MOVE_TRIES):
        if current is None or current["sk"] >= message["sk"]:
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
        current = current_group_item(client, table, current["pk"], group)
    raise ConditionFailed(f"could not move group item {current['pk']} of {group} after {MAX_MOVE_TRIES} tries")


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
        else:
            result.already_current += 1


def handle_records(client, table: str, records: list[dict]) -> StreamResult:
    """Apply every record of a batch; records that fail are listed by sequence number."""
    result = StreamResult()
    with translated(client, table):
        for record in records:
            result.records += 1
            message = new_message(record)
            if message is None:
                result.ignored += 1
                continue
            result.messages += 1
            try:
                apply_message(client, table, message, result)
            except ConditionFailed:
                result.failed.append(record.get("dynamodb", {}).get("SequenceNumber"))
    return result


def lambda_handler(event, context=None):
    """AWS Lambda entry point for the table's stream (set TABLE_NAME; region from Lambda).

    Returns the partial-batch response, so Lambda retries only the failed records
    (enable ReportBatchItemFailures on the event source mapping).
    """
    import boto3

    client = _lambda_client(boto3)
    result = handle_records(client, os.environ.get("TABLE_NAME", "cruddur-messages"), event.get("Records", []))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed]}


_CLIENTS = {}


def _lambda_client(boto3):
    # Reused across warm invocations; created on first use, never at import.
    if "dynamodb" not in _CLIENTS:
        _CLIENTS["dynamodb"] = boto3.client("dynamodb")
    return _CLIENTS["dynamodb"]


@dataclass
class StreamBatch:
    """Records read from a table's stream, and how far that got (per shard)."""

    records: list
    arn: str | None
    checkpoint: dict


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
        records = []
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
                checkpoint[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
    return StreamBatch(records, arn, checkpoint)


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
