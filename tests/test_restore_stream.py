"""A restore into a new table writes without the stream and turns it on after the load; the check of every key stays.

On DynamoDB Local the check is the new table's exact count (`ddb.backup.countcheck`); a
key that is missing still fails the import with the same line as the read of each key.
"""

import boto3
import pytest
from botocore.exceptions import ClientError

from ddb.backup import countcheck, exporting, importing, stream_later
from ddb.backup import source as import_source
from ddb.core.errors import DdbError
from ddb.schema import declaration as schema
from ddb.schema import description as table_description
from ddb.stream import reader as stream_reader

from .support import TABLE, local_client, seed_table, typed_items

COPY = "cruddur-messages-copy"
NEW_IMAGE = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def _streams(endpoint: str):
    return boto3.client(
        "dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _stream_of(client, table: str) -> dict:
    return client.describe_table(TableName=table)["Table"].get("StreamSpecification") or {}


@pytest.fixture
def exported(engine, tmp_path):
    """The repository's fixtures in the declared table (its stream on), exported and validated: (client, source)."""
    client = local_client(engine)
    seed_table(client)
    assert _stream_of(client, TABLE) == NEW_IMAGE
    exporting.export_table(client, TABLE, tmp_path / "out")
    source = import_source.open_source(tmp_path / "out")
    import_source.validate(source)
    return client, source


def _restore(client, source, table=COPY, **options):
    return importing.run(client, table, source, importing.plan(client, table, source), **options)


class DropsOnePut:
    """A client whose BatchWriteItem silently leaves out the item with key `sk`, answering as if it were stored."""

    def __init__(self, client, sk: str):
        self.client, self.meta, self.sk = client, client.meta, sk

    def batch_write_item(self, RequestItems, **options):
        kept = {
            table: [r for r in requests if r.get("PutRequest", {}).get("Item", {}).get("sk", {}).get("S") != self.sk]
            for table, requests in RequestItems.items()
        }
        return self.client.batch_write_item(RequestItems=kept, **options)

    def __getattr__(self, name):
        return getattr(self.client, name)


class StreamOnlyAtCreation:
    """A client for an engine that takes a stream in CreateTable only: UpdateTable's StreamSpecification is refused."""

    def __init__(self, client):
        self.client, self.meta = client, client.meta

    def update_table(self, **request):
        if "StreamSpecification" not in request:
            return self.client.update_table(**request)
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "no stream after creation"}, "ResponseMetadata": {}},
            "UpdateTable",
        )

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.mark.each_engine  # streams, UpdateTable and the engine's scan are the engine's
def test_a_restore_into_a_new_table_ends_with_the_exports_stream_and_no_record_of_the_restore(exported, engine):
    client, source = exported

    result = _restore(client, source)

    assert _stream_of(client, COPY) == NEW_IMAGE
    assert (result.stream, result.stored, result.created) == (importing.AFTER_LOAD, 112, "saved description")
    assert typed_items(client, COPY) == typed_items(client, TABLE)
    assert stream_reader.read_stream(client, _streams(engine), COPY).records == []
    local = "ddblocal" in client.describe_table(TableName=COPY)["Table"]["TableArn"]
    assert result.read_back == (importing.COUNTED if local else importing.READ_EACH)


@pytest.mark.each_engine
def test_a_restore_from_an_export_without_a_description_ends_with_the_declared_stream(exported, engine):
    client, source = exported
    source.description = None

    result = _restore(client, source)

    assert _stream_of(client, COPY) == NEW_IMAGE and result.created == "project schema"
    assert stream_reader.read_stream(client, _streams(engine), COPY).records == []


@pytest.mark.each_engine
def test_a_restore_whose_check_finds_a_missing_item_fails_as_before_and_still_leaves_the_stream_on(exported):
    client, source = exported
    gone = next(t for t in import_source.typed_items(source) if t["pk"]["S"].startswith("MSG#"))

    with pytest.raises(DdbError) as refused:
        _restore(DropsOnePut(client, gone["sk"]["S"]), source)

    assert str(refused.value) == (
        f"1 item(s) of the export are not in table '{COPY}' after the import: {gone['pk']['S']}/{gone['sk']['S']}; "
        "run the import again"
    )
    assert _stream_of(client, COPY) == NEW_IMAGE  # as setup: a stopped import leaves the table as declared
    again = _restore(client, source)
    assert (again.written.put, again.stored, again.stream) == (1, 112, "")


@pytest.mark.each_engine
def test_a_new_table_left_without_its_stream_gets_it_when_the_import_is_run_again(exported):
    client, source = exported
    table_description.create(client, COPY, stream_later.without_stream(dict(source.description or {})))  # as a killed import

    result = _restore(client, source)

    assert (result.stream, result.stored, _stream_of(client, COPY)) == (importing.AFTER_LOAD, 112, NEW_IMAGE)


def test_an_import_into_a_live_table_keeps_its_stream_and_writes_through_it(exported, engine):
    client, source = exported
    schema.load(client, COPY)
    arn = client.describe_table(TableName=COPY)["Table"]["LatestStreamArn"]

    result = _restore(client, source)

    assert (result.stream, result.read_back) == ("", importing.READ_EACH)
    assert client.describe_table(TableName=COPY)["Table"]["LatestStreamArn"] == arn
    assert len(stream_reader.read_stream(client, _streams(engine), COPY).records) == 112


def test_an_engine_that_takes_a_stream_only_at_creation_gets_the_table_made_again_with_it(exported):
    client, source = exported

    result = _restore(StreamOnlyAtCreation(client), source)

    assert result.stream.startswith(importing.AT_CREATION) and "no stream after creation" in result.stream
    assert _stream_of(client, COPY) == NEW_IMAGE and result.stored == 112
    assert typed_items(client, COPY) == typed_items(client, TABLE)


def test_only_dynamodb_local_counts_a_table_exactly_and_only_a_full_count_of_every_put_holds():
    local = {"TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/t", "ItemCount": 112}
    moto = {"TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t", "ItemCount": 112}
    at = type("Client", (), {"meta": type("Meta", (), {"endpoint_url": "http://127.0.0.1:8000"})()})()

    assert countcheck.holds_exactly(at, local, 112, 112)
    assert not countcheck.holds_exactly(at, local, 113, 113)  # one item short
    assert not countcheck.holds_exactly(at, local, 112, 111)  # a put not taken
    assert not countcheck.holds_exactly(at, moto, 112, 112)  # moto: every key is read back
