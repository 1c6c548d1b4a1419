"""Every request a client of ddb.core.target makes is retried by one policy; a refused connection is not."""

import json

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from ddb.app import patterns
from ddb.bulk import batch
from ddb.core.errors import DdbError, EngineUnreachable
from ddb.core.retry import RetryPolicy
from ddb.core.target import client as target_client
from ddb.core.target import local_target, prod_target
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding

from .support import FIXTURES, NOW, TABLE, free_port, local_client, reset_moto

QUICK = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.01)
MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"


class _Body:
    def __init__(self, payload: bytes):
        self.payload = payload

    def stream(self, **_):
        yield self.payload


class Throttle:
    """Sits before the network of one client: answers the first `times` requests of
    `operation` with ProvisionedThroughputExceededException and lets the rest through."""

    def __init__(self, client, operation, times):
        self.operation, self.times, self.seen = operation, times, 0
        client.meta.events.register_first(f"before-send.{client.meta.service_model.service_id.hyphenize()}", self)

    def __call__(self, request, **_):
        if not request.headers.get("X-Amz-Target", b"").decode().endswith("." + self.operation):
            return None
        self.seen += 1
        if self.seen > self.times:
            return None
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded.",
            }
        )
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body.encode()))


@pytest.fixture
def moto_table(moto_server):
    """The seeded table on the session's moto server (emptied first); its endpoint."""
    reset_moto(moto_server)
    direct = local_client(moto_server)
    schema.load(direct, TABLE)
    loaded = fixtures.load(FIXTURES)
    seeding.run(direct, TABLE, seeding.plan(direct, TABLE, loaded, NOW))
    return moto_server


def _target(kind, endpoint, monkeypatch):
    if kind == "local":
        return local_target(TABLE, "us-east-1", endpoint, retries=QUICK)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    return prod_target(TABLE, retries=QUICK)


@pytest.mark.parametrize("kind", ["local", "prod"])
def test_throttled_reads_are_retried_with_backoff_until_they_succeed(moto_table, monkeypatch, kind):
    client = target_client(_target(kind, moto_table, monkeypatch))
    throttle = Throttle(client, "Query", times=5)
    page = patterns.list_conversations(client, TABLE, MIRA)
    assert throttle.seen == 6
    assert [i["user_handle"] for i in page.items] == ["tomas", "june", "ravi"]


@pytest.mark.parametrize("kind", ["local", "prod"])
def test_a_read_throttled_on_every_attempt_fails_after_the_policys_attempts_with_one_line(moto_table, monkeypatch, kind):
    client = target_client(_target(kind, moto_table, monkeypatch))
    throttle = Throttle(client, "Query", times=100)
    with pytest.raises(DdbError, match=r"^DynamoDB refused the request \(ProvisionedThroughputExceededException\): "):
        patterns.list_conversations(client, TABLE, MIRA)
    assert throttle.seen == QUICK.max_attempts


def test_batch_write_calls_are_retried_by_the_batch_writer_alone(moto_table, monkeypatch):
    client = target_client(_target("local", moto_table, monkeypatch))
    throttle = Throttle(client, "BatchWriteItem", times=100)
    requests = [batch.put_request({"pk": "MSG#x", "sk": f"2026-11-25T16:20:00.{i:06}+00:00", "message": "m"}) for i in range(3)]
    with pytest.raises(DdbError, match="3 item\\(s\\) not written after 3 attempts"):
        batch.write(client, TABLE, requests, writers=1, policy=RetryPolicy(max_attempts=3, base_delay=0.001))
    assert throttle.seen == 3  # 3 rounds of one call each: the client adds no attempts of its own


@pytest.mark.parametrize("kind", ["local", "prod"])
def test_a_refused_connection_is_tried_once_and_fails_at_once(monkeypatch, kind):
    client = target_client(_target(kind, f"http://127.0.0.1:{free_port()}", monkeypatch))
    sent = []
    client.meta.events.register("before-send.dynamodb", lambda request, **_: sent.append(request))
    with pytest.raises(EngineUnreachable):
        patterns.list_conversations(client, TABLE, MIRA)
    assert len(sent) == 1


class CreateAnswerLost:
    """Wraps a client: create_table creates the table, then fails as its retry would, the first answer lost."""

    def __init__(self, client):
        self.client, self.meta = client, client.meta

    def create_table(self, **spec):
        self.client.create_table(**spec)
        raise ClientError(
            {
                "Error": {"Code": "ResourceInUseException", "Message": f"Table already exists: {spec['TableName']}"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "CreateTable",
        )

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_schema_load_whose_create_was_retried_after_a_lost_answer_reports_the_table_created(client):
    result = schema.load(CreateAnswerLost(client), TABLE)
    assert (result.action, result.description["TableStatus"]) == ("created", "ACTIVE")
