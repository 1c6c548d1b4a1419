"""The capacity estimate follows DynamoDB's published rounding rules (checked by hand)."""

from ddb.app import messaging, patterns
from ddb.data import capacity

from .support import NOW, TABLE


def test_item_size_is_attribute_name_bytes_plus_value_bytes():
    # "pk"(2) + "MSG#g"(5) + "sk"(2) + "t"(1) + "message"(7) + "é"(2 bytes in UTF-8) = 19
    assert capacity.item_size({"pk": "MSG#g", "sk": "t", "message": "é"}) == 19


def test_a_single_item_write_rounds_up_to_1_kb_units():
    small = {"pk": "MSG#g", "sk": "t", "message": "x" * 1000}  # 7 + 3 + 1007 = 1017 bytes
    big = {"pk": "MSG#g", "sk": "t", "message": "x" * 1100}  # 1117 bytes
    assert capacity.item_size(small) == 1017
    assert capacity.write_units(small) == 1
    assert capacity.write_units(big) == 2
    # a group item also writes the GSI: the same units again
    group = {**big, "message_group_uuid": "g"}  # 1117 + 18 + 1 = 1136 bytes
    assert capacity.put_units(group) == 2 + 2
    # in a transaction the table writes count double, the GSI write once: 2 * (1 + 2) + 2
    assert capacity.transaction_units(puts=[small, group]) == 8


def test_a_multi_item_query_sums_sizes_then_rounds_up_to_4_kb():
    items = [{"pk": "MSG#g", "sk": "t", "message": "x" * 1483}] * 3  # 7 + 3 + 7 + 1483 = 1500; x 3 = 4500 bytes
    assert capacity.item_size(items[0]) == 1500
    assert capacity.read_units(items, consistent=True) == 2  # ceil(4500 / 4096)
    assert capacity.read_units(items) == 1.0  # halved when eventually consistent
    assert capacity.read_units([]) == 0.5  # a query that reads nothing still costs the minimum


def test_pattern_a_estimate_matches_the_items_it_read(client, seeded):
    page = patterns.list_messages(client, TABLE, "3364f717-0448-48d9-b8ed-f5dc3fb166c3", limit=40)
    stored = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ScanIndexForward=False,
        Limit=41,
        ExpressionAttributeValues={":pk": {"S": "MSG#3364f717-0448-48d9-b8ed-f5dc3fb166c3"}},
    )["Items"]
    from ddb.data.items import from_typed

    total = sum(capacity.item_size(from_typed(i)) for i in stored)  # the 41 items read (limit + 1)
    assert page.consumed_capacity["estimated"] == -(-total // 4096) / 2


def test_pattern_c_estimate_is_the_gsi_read_plus_one_message_write(client, seeded):
    written = messaging.create_message(client, TABLE, "248665fc-a3a4-41bd-b3b4-81b49c46262b", seeded.users["mira"], "ok", now=NOW)
    assert written.consumed_capacity["estimated"] == 0.5 + 1


def test_pattern_d_estimate_counts_both_claims_as_transaction_writes(client, seeded):
    written = messaging.create_conversation(client, TABLE, seeded.users["lena"], seeded.users["tomas"], "Hike?", now=NOW)
    # five small puts in one transaction (two group items, the message, two claims): 2 x 5 on the table,
    # plus one GSI write for each group item; the claims carry no message_group_uuid
    assert written.consumed_capacity["estimated"] == 2 * 5 + 2


def test_the_gsi_is_written_by_the_index_rules():
    group = {"pk": "GRP#u", "sk": "2026-11-25T16:20:00.000000+00:00", "message_group_uuid": "g", "message": "a" * 1500}
    message = {"pk": "MSG#g", "sk": "2026-11-25T16:20:00.000000+00:00", "message": "hi"}
    size = capacity.write_units(group)
    assert size == 2
    assert capacity.index_change_units(None, group) == 2  # enters the index: one put
    assert capacity.index_change_units(group, None) == 2  # leaves it: one delete
    assert capacity.index_change_units(group, {**group, "message": "short"}) == 1  # same key: one write of the new entry
    assert (
        capacity.index_change_units(group, {**group, "sk": "2026-11-26T00:00:00.000000+00:00"}) == 2 + 2
    )  # key changed: delete + put
    assert capacity.index_change_units(None, message) == capacity.index_change_units(message, None) == 0  # never in the index
