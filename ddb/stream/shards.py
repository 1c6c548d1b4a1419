"""The shards of a table's stream: its arn, its shards listed whole, an iterator into one, and their lineage.

DynamoDB splits a stream's shards as the table grows and rolls them over every few hours:
a shard is closed (its `SequenceNumberRange` gets an `EndingSequenceNumber`) and one or
two children (`ParentShardId`) go on where it stopped. A reader that keeps a conversation's
records in order reads a parent to its end before its children, as Lambda's event source
mapping does. `stream.process` (`reader`) and `stream.follow` (`follower`) both read
shards through these functions; `Lineage` is the follower's view of which shard may be
read now.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient, DynamoDBStreamsClient
from ddb.stream.checkpoint import Checkpoint

TRIM_HORIZON, LATEST = "trim-horizon", "latest"  # where a shard with no checkpoint is read from
POSITIONS = (TRIM_HORIZON, LATEST)
_ITERATOR_TYPES = {TRIM_HORIZON: "TRIM_HORIZON", LATEST: "LATEST"}

Shard = dict[str, Any]  # one shard as DescribeStream lists it


def stream_arn(client: DynamoDBClient, table: str) -> str | None:
    """The arn of the table's latest stream, or None when it never had one (TableMissing when there is no table)."""
    with translated(client, table):
        arn: str | None = client.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    return arn


def list_shards(streams_client: DynamoDBStreamsClient, arn: str) -> list[Shard]:
    """Every shard of the stream, page after page of DescribeStream (it lists 100 at a time)."""
    shards: list[Shard] = []
    request: dict[str, Any] = {"StreamArn": arn}
    while True:
        description = streams_client.describe_stream(**request)["StreamDescription"]
        shards += description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            return shards
        request["ExclusiveStartShardId"] = last


def shard_iterator(
    streams_client: DynamoDBStreamsClient, arn: str, shard_id: str, after: str | None = None, position: str = TRIM_HORIZON
) -> str | None:
    """An iterator into the shard: just after sequence number `after`, else at `position` (trim-horizon or latest)."""
    if after:
        request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
    else:
        request = {"ShardIteratorType": _ITERATOR_TYPES[position]}
    iterator: str | None = streams_client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **request).get("ShardIterator")
    return iterator


def is_closed(shard: Shard) -> bool:
    """True when the shard takes no more records (its range has an end)."""
    return "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})


def in_lineage_order(shards: Iterable[Shard]) -> list[Shard]:
    """The shards with every parent before its children (otherwise in the order listed)."""
    listed = list(shards)
    by_id = {shard["ShardId"]: shard for shard in listed}
    ordered: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard, seen: frozenset[str]) -> None:
        shard_id = shard["ShardId"]
        if shard_id in placed or shard_id in seen:
            return
        parent = by_id.get(shard.get("ParentShardId") or "")
        if parent is not None:
            place(parent, seen | {shard_id})
        placed.add(shard_id)
        ordered.append(shard)

    for shard in listed:
        place(shard, frozenset())
    return ordered


@dataclass
class Lineage:
    """Which shards of one stream a follower may read now, and where each starts.

    A shard is ready once its parent is read to its end (or its parent is no longer
    listed: trimmed after 24 hours). Shards of the first listing without a checkpoint
    start at `position`; a shard that appears later (a split, a roll-over) starts at its
    trim horizon, so none of its records is missed.
    """

    position: str = TRIM_HORIZON
    shards: dict[str, Shard] = field(default_factory=dict)
    starts: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)

    def update(self, listed: list[Shard], checkpoint: Checkpoint) -> None:
        """Take a new listing of the stream's shards; checkpoint entries of shards no longer listed are dropped."""
        first = not self.shards
        for shard in in_lineage_order(listed):
            shard_id = shard["ShardId"]
            if shard_id in self.shards:
                self.shards[shard_id] = shard
                continue
            self.shards[shard_id] = shard
            self.starts[shard_id] = self.position if first else TRIM_HORIZON
            if first and self.position == LATEST and is_closed(shard) and shard_id not in checkpoint:
                self.finished.add(shard_id)  # nothing comes after its latest record
        listed_ids = {shard["ShardId"] for shard in listed}
        if listed_ids:
            for shard_id in [s for s in checkpoint if s not in listed_ids]:
                del checkpoint[shard_id]

    def ready(self) -> list[str]:
        """The shards to read now, parents first."""
        ready = []
        for shard in in_lineage_order(self.shards.values()):
            shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
            if shard_id in self.finished:
                continue
            if parent and parent in self.shards and parent not in self.finished:
                continue
            ready.append(shard_id)
        return ready

    def finish(self, shard_id: str) -> None:
        """The shard was read to its end: its children may be read."""
        self.finished.add(shard_id)
