"""The stream records a local engine still keeps for tables that are gone.

DynamoDB Local keeps the stream of a dropped table (status DISABLED, its records for
24 hours, as DynamoDB does), and every write into a table whose name has had a stream
there slows down with all the records the engine holds, whatever their table. `closed_streams` counts what the
dropped tables left, from ListStreams and DescribeStream (every page of shards), so `local.status` can say
when the engine has grown slow and how to clear it, without reading the records themselves (about 3,000
a second). The count is only for DynamoDB Local, and there it is a close upper bound: a closed shard's
records are numbered from its first sequence number to its last, but the engine numbers every write on
it, whatever its table, so writes into other tables while the stream was open count too. A closed shard
whose first and last numbers are the same holds one record or none (a stream turned on after the writes,
or never written): one GetRecords call tells which.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBStreamsClient


@dataclass
class ClosedStreams:
    """The streams of dropped tables an engine keeps, and how many records they hold."""

    streams: int = 0
    records: int = 0


def closed_streams(streams_client: DynamoDBStreamsClient) -> ClosedStreams:
    """The streams of dropped tables (DISABLED) at the engine, and the records in their closed shards."""
    found = ClosedStreams()
    with translated(streams_client):
        request: dict = {}
        while True:
            page = streams_client.list_streams(**request)
            for listed in page.get("Streams", []):
                arn = listed["StreamArn"]
                description = streams_client.describe_stream(StreamArn=arn)["StreamDescription"]
                if description.get("StreamStatus") != "DISABLED":
                    continue
                found.streams += 1
                found.records += sum(_records(streams_client, arn, shard) for shard in _shards(streams_client, arn, description))
            if not page.get("LastEvaluatedStreamArn"):
                return found
            request["ExclusiveStartStreamArn"] = page["LastEvaluatedStreamArn"]


def _shards(streams_client: DynamoDBStreamsClient, arn: str, description: dict) -> Iterator[dict]:
    """Every shard of the stream: DescribeStream gives at most 100 a call, then the next call starts after the last."""
    while True:
        yield from description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            return
        description = streams_client.describe_stream(StreamArn=arn, ExclusiveStartShardId=last)["StreamDescription"]


def _records(streams_client: DynamoDBStreamsClient, arn: str, shard: dict) -> int:
    """How many records a closed shard holds, from its first and last sequence numbers (0 if unknown)."""
    numbers = shard.get("SequenceNumberRange", {})
    try:
        count = max(0, int(numbers["EndingSequenceNumber"]) - int(numbers["StartingSequenceNumber"]) + 1)
    except (KeyError, ValueError):
        return 0
    if count != 1:
        return count
    # An empty shard closes with its last number equal to its first, as a shard of one record does.
    iterator = streams_client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    return 1 if streams_client.get_records(ShardIterator=iterator["ShardIterator"], Limit=1).get("Records") else 0
