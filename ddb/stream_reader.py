"""Reading a table's stream locally, as Lambda's poller would: shards, checkpoints, dead letters.

`read_stream` reads every shard from the last checkpoint (or its start); `save_checkpoint`
remembers how far the records were applied; `save_dead_letters` keeps the records that
can never apply. What `stream.process` runs; the Lambda needs none of it.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .awserrors import translated
from .clients import DynamoDBClient, DynamoDBStreamsClient


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
        for record, shard in zip(self.records[:count], self.shards, strict=False):
            checkpoint[shard] = record["dynamodb"]["SequenceNumber"]
        return checkpoint


def read_stream(
    client: DynamoDBClient,
    streams_client: DynamoDBStreamsClient,
    table: str,
    checkpoint_file: str | Path | None = None,
    max_records: int = 10000,
) -> StreamBatch:
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
                    StreamArn=arn,
                    ShardId=shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=checkpoint[shard_id],
                )["ShardIterator"]
            else:
                iterator = streams_client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
                    "ShardIterator"
                ]
            while iterator and len(records) < max_records:
                page = streams_client.get_records(ShardIterator=iterator, Limit=1000)
                if not page.get("Records"):
                    break
                records += page["Records"]
                shards += [shard_id] * len(page["Records"])
                checkpoint[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
    return StreamBatch(records, arn, checkpoint, shards, start)


def _load_checkpoint(path: str | Path | None, arn: str) -> dict:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return dict(data.get(arn, {})) if isinstance(data, dict) else {}


def save_checkpoint(path: str | Path, arn: str, checkpoint: dict) -> None:
    """Remember how far the stream was read (after its records were applied)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({arn: checkpoint}))


def save_dead_letters(path: str | Path, records: list, failures: list, table: str) -> None:
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


def _plain(value: object):
    """JSON for what get_records returns besides JSON types (a datetime, bytes of a B attribute)."""
    import base64
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return repr(value)
