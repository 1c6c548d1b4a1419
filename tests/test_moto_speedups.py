"""The embedded moto engine's speed-ups (ddb/engines/moto_speedups.py) answer exactly as moto does.

Each test runs the same requests against moto in-process twice, as installed and with the
speed-ups applied, and compares the raw JSON bodies (key order aside): the order of the
items (the sort), every attribute type (the direct answers) and the paging keys.
"""

import contextlib
import gc
import json
import weakref

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ddb.engines import moto_speedups

TABLE = "speedups"
KEY_TYPES = {"S": st.text(min_size=1, max_size=6), "N": st.integers(-50, 50).map(str), "B": st.binary(min_size=1, max_size=4)}


@contextlib.contextmanager
def speedups():
    """moto with the speed-ups applied, restored to moto's own on the way out."""
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    stock = (Table.all_items, DynamoResult.execute_result, DynamoHandler.delete_table)
    try:
        assert moto_speedups.apply() == ["sort by plain values", "direct read answers", "free dropped tables"]
        yield
    finally:
        Table.all_items, DynamoResult.execute_result, DynamoHandler.delete_table = stock  # type: ignore[method-assign]


@contextlib.contextmanager
def untracked():
    """moto without its instance tracking, as the engine runs it (moto_server.untrack), restored after."""
    from moto.core.common_models import BaseModel

    from ddb.engines.moto_server import untrack

    stock = BaseModel.__dict__["__new__"]
    try:
        untrack()
        yield
    finally:
        BaseModel.__new__ = stock  # type: ignore[method-assign]


def raw_bodies(client) -> list:
    """The parsed JSON body of every answer the client gets from now on."""
    bodies: list = []
    client.meta.events.register(
        "before-parse.dynamodb.*", lambda response_dict, **_: bodies.append(json.loads(response_dict["body"]))
    )
    return bodies


def scalar():
    numbers = st.one_of(st.integers(-(10**6), 10**6).map(str), st.decimals(-1000, 1000, places=3).map(str))
    return st.one_of(
        st.text(max_size=5).map(lambda s: {"S": s}),
        numbers.map(lambda n: {"N": n}),
        st.binary(max_size=5).map(lambda b: {"B": b}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.sets(st.text(min_size=1, max_size=4), min_size=1, max_size=3).map(lambda s: {"SS": sorted(s)}),
        st.sets(st.integers(-99, 99), min_size=1, max_size=3).map(lambda s: {"NS": sorted(map(str, s))}),
        st.sets(st.binary(min_size=1, max_size=3), min_size=1, max_size=3).map(lambda s: {"BS": sorted(s)}),
    )


attribute_value = st.recursive(
    scalar(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda values: {"L": values}),
        st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3).map(lambda values: {"M": values}),
    ),
    max_leaves=6,
)


@st.composite
def tables(draw):
    """A key schema (pk, and sk or none, of random scalar types) and up to 12 items with other attributes of every type."""
    pk_type = draw(st.sampled_from(sorted(KEY_TYPES)))
    sk_type = draw(st.sampled_from([*sorted(KEY_TYPES), None]))
    hashes = draw(st.lists(KEY_TYPES[pk_type], min_size=1, max_size=3, unique=True))
    if sk_type is None:
        keys = [{"pk": {pk_type: h}} for h in hashes]
    else:
        pairs = draw(st.lists(st.tuples(st.sampled_from(hashes), KEY_TYPES[sk_type]), max_size=12, unique=True))
        keys = [{"pk": {pk_type: h}, "sk": {sk_type: r}} for h, r in pairs]
    other = st.dictionaries(st.sampled_from(["a", "b", "c"]), attribute_value, max_size=3)
    return pk_type, sk_type, hashes, [{**key, **draw(other)} for key in keys]


def requests(hashes: list, pk_type: str) -> list[tuple[str, dict]]:
    """Reads of every shape the direct answers take or leave to moto."""
    # moto 5.2.1 cannot place an item with a binary hash key in a segment (an AttributeError)
    segments = [("scan", {"Segment": 1, "TotalSegments": 2})] if pk_type != "B" else []
    return [
        ("scan", {}),
        ("scan", {"Limit": 2}),
        ("scan", {"ProjectionExpression": "pk, a, #c", "ExpressionAttributeNames": {"#c": "c"}}),
        ("scan", {"Select": "COUNT"}),
        ("scan", {"ReturnConsumedCapacity": "TOTAL"}),
        *segments,
        *[
            (
                "query",
                {
                    "KeyConditionExpression": "pk = :h",
                    "ExpressionAttributeValues": {":h": h},
                    "ScanIndexForward": forward,
                    "Limit": 3,
                },
            )
            for h in hashes
            for forward in (True, False)
        ],
    ]


def answers(pk_type: str, sk_type: str | None, hashes: list, items: list) -> list:
    """Every read's body, paging on through each LastEvaluatedKey, in a fresh moto."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        keys = [("pk", pk_type, "HASH")] + ([("sk", sk_type, "RANGE")] if sk_type else [])
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": name, "KeyType": role} for name, _, role in keys],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        for item in items:
            client.put_item(TableName=TABLE, Item=item)
        bodies = raw_bodies(client)
        for operation, request in requests([{pk_type: h} for h in hashes], pk_type):
            page = {"TableName": TABLE, **request}
            while True:
                answer = getattr(client, operation)(**page)
                if "LastEvaluatedKey" not in answer:
                    break
                page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return bodies


@settings(max_examples=25)
@given(tables())
def test_scans_and_queries_answer_byte_for_byte_as_moto_does_with_every_attribute_type_and_key_type(table):
    stock = answers(*table)
    with speedups():
        faster = answers(*table)
    assert faster == stock


def test_items_come_back_in_key_order_of_their_values_not_their_text():
    """Numbers sort as numbers (9 before 10) under the cheaper sort key, as under moto's."""
    table = ("N", "N", ["1", "10", "9"], [{"pk": {"N": h}, "sk": {"N": r}} for h in ("10", "9", "1") for r in ("10", "9", "-1")])
    with speedups():
        faster = answers(*table)
    scanned = [(i["pk"]["N"], i["sk"]["N"]) for i in faster[0]["Items"]]
    assert scanned == [(h, r) for h in ("1", "9", "10") for r in ("-1", "9", "10")]


def test_a_dropped_table_with_a_stream_is_freed_before_delete_table_answers():
    """Table and stream shard refer to each other: moto leaves them to the cycle collector; the speed-up collects.

    Untracked, as in the engine: moto's instance tracking would keep every table forever.
    """

    def dropped_table_left(sped_up: bool) -> bool:
        with mock_aws(), untracked(), speedups() if sped_up else contextlib.nullcontext():
            from moto.dynamodb.models import dynamodb_backends

            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )
            client.put_item(TableName=TABLE, Item={"pk": {"S": "MSG#g"}})
            table = weakref.ref(dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE))
            client.delete_table(TableName=TABLE)
            return table() is not None

    gc.disable()  # no collection but the speed-up's own may run between the drop and the look
    try:
        assert dropped_table_left(sped_up=False)
        assert not dropped_table_left(sped_up=True)
    finally:
        gc.enable()
