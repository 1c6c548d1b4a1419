"""The project's capacity estimate against what DynamoDB Local reports, by DynamoDB's rules.

moto reports made-up figures; DynamoDB Local reports ConsumedCapacity the way the service
does (0.5 RCU per 4 KB read, eventually consistent). On the seeded data, patterns A and B
must estimate exactly what it reports, page by page, and the size rule behind the
estimate must put an item on the same side of a 4 KB boundary as DynamoDB Local does.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ddb.app import patterns
from ddb.data import capacity
from ddb.data.items import message_pk, to_typed
from ddb.schema import declaration as schema

from .support import TABLE

LIMITS = [1, 2, 3, 5, 7, 10, 20, 33, 50, 100]


def _every_page(read, limit):
    pages, cursor = [], patterns.FIRST_PAGE
    while cursor is not None:
        page = read(limit, cursor)
        pages.append(page)
        cursor = page.next_cursor
    return pages


def test_patterns_a_and_b_estimate_exactly_what_dynamodb_local_reports(dynamodb_local, seeded_local):
    client, seen = dynamodb_local, set()
    reads: list[tuple[str, Callable[..., patterns.Page[Any]], int]] = [
        (
            f"A {c.message_group_uuid} limit {limit}",
            lambda n, cur, g=c.message_group_uuid: patterns.list_messages(client, TABLE, g, n, cur),
            limit,
        )
        for c in seeded_local.conversations
        for limit in LIMITS
    ]
    reads += [
        (f"B @{handle} limit {limit}", lambda n, cur, u=user.uuid: patterns.list_conversations(client, TABLE, u, n, cur), limit)
        for handle, user in seeded_local.users.items()
        for limit in LIMITS[:4]
    ]
    for name, read, limit in reads:
        for number, page in enumerate(_every_page(read, limit)):
            used = page.consumed_capacity
            assert used["reported"] > 0, (name, number, used)
            assert used["estimated"] == used["reported"], (name, number, used)
            seen.add(used["reported"])
    assert {0.5, 1.0, 1.5, 2.0} <= seen  # the pages cross several 4 KB boundaries


VALUES = {
    "string": {},
    "utf8": {"note": "é😀 grüße"},
    "integer": {"n": 12345},
    "decimal": {"n": Decimal("1.5")},
    "odd decimal": {"n": Decimal("123.456")},
    "big": {"n": 10**30},
    "hundred": {"n": 100},
    "thousand": {"n": 1000},
    "negative": {"n": -7},
    "negative decimal": {"n": Decimal("-123.45")},
    "zero": {"n": 0},
    "small": {"n": Decimal("0.001")},
    "bool and null": {"b": True, "z": None},
    "list": {"l": ["ab", 1]},
    "empty list": {"l": []},
    "map": {"m": {"k": "v", "n": 2}},
    "nested": {"m": {"a": [{"b": "c"}]}},
    "string set": {"ss": {"ab", "cd"}},
    "number set": {"ns": {1, 22}},
    "binary": {"bb": b"\x00\x01\x02"},
}


@pytest.mark.parametrize("extra", VALUES.values(), ids=VALUES.keys())
def test_the_size_rule_puts_an_item_on_dynamodb_locals_side_of_4_kb(dynamodb_local, extra):
    schema.load(dynamodb_local, TABLE)
    group = "5b0d5f4e-2f7c-4d3e-9a51-6a3f1b2c4d5e"
    for size, units in [(4096, 0.5), (4097, 1.0)]:
        item = {
            "pk": message_pk(group),
            "sk": "2026-11-25T16:20:00.000000+00:00",
            "message_uuid": group,
            "user_uuid": group,
            "user_handle": "mira",
            "user_display_name": "Mira",
            "message": "",
            **extra,
        }
        item["message"] = "a" * (size - capacity.item_size(item))
        assert capacity.item_size(item) == size
        dynamodb_local.put_item(TableName=TABLE, Item=to_typed(item))
        page = patterns.list_messages(dynamodb_local, TABLE, group, limit=1)
        assert page.consumed_capacity == {"reported": units, "estimated": units}, (size, page.consumed_capacity)


@pytest.mark.parametrize(
    "value, size",
    [
        (0, 1),
        (7, 2),
        (-7, 3),
        (10, 2),
        (100, 2),
        (1000, 2),
        (12345, 4),
        (10**30, 2),
        (Decimal("1.5"), 3),
        (Decimal("123.456"), 5),
        (Decimal("-123.45"), 5),
        (Decimal("0.001"), 2),
        (1.5, 3),
    ],
)
def test_number_sizes_are_the_ones_dynamodb_local_measures(value, size):
    assert capacity.item_size({"n": value}) == 1 + size
