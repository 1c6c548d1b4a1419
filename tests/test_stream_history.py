"""`closed_streams` counts what dropped tables left on DynamoDB Local: every page of shards, and an empty shard as none."""

from ddb.engines.stream_history import ClosedStreams, closed_streams
from ddb.schema import declaration as schema

from .support import delete_all_tables, local_client


def _shard(number: int, first: int, last: int) -> dict:
    ranged = {"StartingSequenceNumber": f"{first:021d}", "EndingSequenceNumber": f"{last:021d}"}
    return {"ShardId": f"shardId-{number}", "SequenceNumberRange": ranged}


class Streams:
    """A stand-in streams client: one dropped stream of 250 shards, 100 a DescribeStream page, and one still on."""

    def __init__(self):
        self.shards = [_shard(n, 1000 * n, 1000 * n + 9) for n in range(250)]  # 10 records each
        self.shards[7] = _shard(7, 7000, 7000)  # one record
        self.shards[8] = _shard(8, 8000, 8000)  # none: a stream never written
        self.describes: list[dict] = []

    def list_streams(self, **_):
        return {"Streams": [{"StreamArn": "arn:gone"}, {"StreamArn": "arn:live"}]}

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):
        self.describes.append({"StreamArn": StreamArn, "ExclusiveStartShardId": ExclusiveStartShardId})
        if StreamArn == "arn:live":
            return {"StreamDescription": {"StreamStatus": "ENABLED", "Shards": self.shards[:1]}}
        start = 0 if ExclusiveStartShardId is None else int(ExclusiveStartShardId.split("-")[1]) + 1
        page = self.shards[start : start + 100]
        description = {"StreamStatus": "DISABLED", "Shards": page}
        if start + 100 < len(self.shards):
            description["LastEvaluatedShardId"] = page[-1]["ShardId"]
        return {"StreamDescription": description}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType):
        assert ShardIteratorType == "TRIM_HORIZON"
        return {"ShardIterator": ShardId}

    def get_records(self, ShardIterator, Limit):
        return {"Records": [{"eventName": "INSERT"}] if ShardIterator == "shardId-7" else []}


def test_every_page_of_shards_is_counted_and_an_empty_shard_holds_nothing():
    streams = Streams()
    assert closed_streams(streams) == ClosedStreams(streams=1, records=248 * 10 + 1)
    pages = [d["ExclusiveStartShardId"] for d in streams.describes if d["StreamArn"] == "arn:gone"]
    assert pages == [None, "shardId-99", "shardId-199"]


def test_a_dropped_stream_that_was_never_written_holds_no_record_on_dynamodb_local(dynamodb_local_server):
    client = local_client(dynamodb_local_server)
    streams = local_client(dynamodb_local_server, "dynamodbstreams")
    delete_all_tables(dynamodb_local_server)
    before = closed_streams(streams)
    schema.load(client, "stream-never-written")
    schema.load(client, "stream-written-once")
    client.put_item(TableName="stream-written-once", Item={"pk": {"S": "MSG#1"}, "sk": {"S": "1"}})
    schema.load(client, "stream-turned-on-after", stream=False)
    for n in range(20):
        client.put_item(TableName="stream-turned-on-after", Item={"pk": {"S": f"MSG#{n}"}, "sk": {"S": "1"}})
    schema.enable_stream(client, "stream-turned-on-after")
    for table in ("stream-never-written", "stream-written-once", "stream-turned-on-after"):
        schema.drop(client, table)
    after = closed_streams(streams)
    assert (after.streams - before.streams, after.records - before.records) == (3, 1)
