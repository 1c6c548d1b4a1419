"""The stream records a local engine still keeps for tables that are gone.

DynamoDB Local keeps the stream of a dropped table (status DISABLED, its records for
24 hours, as DynamoDB does), and every write into a table whose name has had a stream
there slows down with all the records the engine holds, whatever their table. `closed_streams` counts what the
dropped tables left, from ListStreams and DescribeStream alone, so `local.status` can say
when the engine has grown slow and how to clear it. The count is only for DynamoDB Local,
whose sequence numbers run one by one; on another engine it is an estimate at best.
"""

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
                description = streams_client.describe_stream(StreamArn=listed["StreamArn"])["StreamDescription"]
                if description.get("StreamStatus") != "DISABLED":
                    continue
                found.streams += 1
                found.records += sum(_records(shard.get("SequenceNumberRange", {})) for shard in description.get("Shards", []))
            if not page.get("LastEvaluatedStreamArn"):
                return found
            request["ExclusiveStartStreamArn"] = page["LastEvaluatedStreamArn"]


def _records(numbers: dict) -> int:
    """How many records a closed shard holds, from its first and last sequence numbers (0 if unknown)."""
    try:
        return max(0, int(numbers["EndingSequenceNumber"]) - int(numbers["StartingSequenceNumber"]) + 1)
    except (KeyError, ValueError):
        return 0
