"""How many writers a seed sends into a live table whose stream is on, on DynamoDB Local: one.

DynamoDB Local stores a stream record with every item written into a stream-enabled table,
and there concurrent BatchWriteItem calls into such a table slow each other down: on a fresh
engine one writer keeps the rate of a table without a stream, while two or six lose a fifth
to a third of it (`bench/stream_cost.py`). So a seed into a table whose stream is on sends
one call at a time on DynamoDB Local. The stream stays on: a follower or the stream Lambda
reading it misses nothing. On DynamoDB and moto a stream costs the writes nothing, and the
writers stay as given. DynamoDB Local is known by the region in its ARNs, `ddblocal`, which
no AWS region has.
"""

from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError
from ddb.schema import declaration as schema

LOCAL_ARN_REGION = "ddblocal"  # DynamoDB Local's ARNs: arn:aws:dynamodb:ddblocal:000000000000:table/...
STREAM_WRITERS = 1


def local_stream(description: dict) -> bool:
    """True for a table with its stream on, described by DynamoDB Local."""
    stream = description.get("StreamSpecification") or {}
    region = str(description.get("TableArn") or "").split(":")[3:4]
    return bool(stream.get("StreamEnabled")) and region == [LOCAL_ARN_REGION]


def writers_for(client: DynamoDBClient, table: str, writers: int) -> int:
    """`writers`, or STREAM_WRITERS for a table whose stream is on, on DynamoDB Local.

    A description that cannot be read leaves `writers` as given: the writes report the error.
    """
    if writers <= STREAM_WRITERS:
        return writers
    try:
        description = schema.describe(client, table) or {}
    except DdbError:
        return writers
    return STREAM_WRITERS if local_stream(dict(description)) else writers
