"""Seeding: the items it writes keep the contract, and re-seeding is idempotent."""

from datetime import timedelta

from ddb.data import contract, items
from ddb.seed import fixtures, seeding

from .support import NOW, TABLE, all_items, all_keys


def _seed(client, loaded, now=NOW):
    return seeding.run(client, TABLE, seeding.plan(client, TABLE, loaded, now))


def test_seed_writes_every_message_and_two_group_items_per_conversation(client, seeded):
    stored = all_items(client)
    messages = [i for i in stored if i["pk"].startswith("MSG#")]
    groups = [i for i in stored if i["pk"].startswith("GRP#")]
    assert len(messages) == sum(len(c.messages) for c in seeded.conversations) == 100
    assert len(groups) == 2 * len(seeded.conversations) == 8


def test_every_seeded_item_keeps_the_item_contract(client, seeded):
    stored = all_items(client)
    assert stored
    for item in stored:
        assert contract.item_problems(item) == [], item


def test_item_contract_catches_a_message_item_with_a_group_uuid():
    item = {
        "pk": "MSG#3364f717-0448-48d9-b8ed-f5dc3fb166c3",
        "sk": "2026-11-25T16:20:00.000000+00:00",
        "message_uuid": "4e840c41-3cf1-5f32-abfc-47ad725b94ba",
        "message": "hi",
        "user_uuid": "c8d570ce-751b-4d03-85a6-4c0f876ca3ca",
        "user_display_name": "Mira",
        "user_handle": "mira",
    }
    assert contract.item_problems(item) == []
    assert contract.item_problems({**item, "message_group_uuid": "3364f717-0448-48d9-b8ed-f5dc3fb166c3"})
    assert contract.item_problems({**item, "sk": "2026-11-25T17:20:00.000000+01:00"})


def test_message_times_follow_minutes_ago_in_utc_and_are_unique(client, seeded):
    conversation = next(c for c in seeded.conversations if c.between == ("mira", "tomas"))
    stored = sorted((i for i in all_items(client) if i["pk"] == f"MSG#{conversation.message_group_uuid}"), key=lambda i: i["sk"])
    assert [i["message"] for i in stored] == [m.text for m in conversation.messages]
    first = conversation.messages[0]
    assert stored[0]["sk"] == items.iso_time(NOW - timedelta(minutes=first.minutes_ago))
    assert all(i["sk"].endswith("+00:00") for i in stored)
    assert len({i["sk"] for i in stored}) == len(stored)


def test_group_items_carry_the_other_participant_and_the_last_message(client, seeded):
    conversation = next(c for c in seeded.conversations if c.between == ("mira", "tomas"))
    mira, tomas = seeded.users["mira"], seeded.users["tomas"]
    by_pk = {i["pk"]: i for i in all_items(client) if i.get("message_group_uuid") == conversation.message_group_uuid}
    assert set(by_pk) == {f"GRP#{mira.uuid}", f"GRP#{tomas.uuid}"}
    assert by_pk[f"GRP#{mira.uuid}"]["user_handle"] == "tomas"
    assert by_pk[f"GRP#{tomas.uuid}"]["user_uuid"] == mira.uuid
    last = conversation.messages[-1]
    for item in by_pk.values():
        assert item["message"] == last.text
        assert item["sk"] == items.iso_time(
            NOW - timedelta(minutes=last.minutes_ago) + timedelta(microseconds=len(conversation.messages) - 1)
        )


def test_the_gsi_holds_group_items_only(client, seeded):
    conversation = seeded.conversations[0]
    response = client.query(
        TableName=TABLE,
        IndexName="message-group-sk-index",
        KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": conversation.message_group_uuid}},
    )
    assert [i["pk"]["S"][:4] for i in response["Items"]] == ["GRP#", "GRP#"]


def test_reseed_leaves_the_same_keys_as_one_seed(client, seeded):
    once = all_keys(client)
    _seed(client, seeded)
    assert all_keys(client) == once


def test_reseed_later_replaces_items_without_leftovers(client, seeded):
    later = NOW + timedelta(hours=3)
    result = _seed(client, seeded, later)
    assert result.written.deleted == 108
    fresh = seeding.plan(client, TABLE, seeded, later)
    assert fresh.deletes == []
    assert all_keys(client) == {(i["pk"], i["sk"]) for i in fresh.puts}


def test_reseed_touches_nothing_outside_the_fixtures(client, seeded):
    stranger = {
        "pk": "GRP#00000000-0000-4000-8000-000000000000",
        "sk": "2026-01-01T00:00:00.000000+00:00",
        "message_group_uuid": "11111111-1111-4111-8111-111111111111",
        "message": "keep me",
        "user_uuid": "22222222-2222-4222-8222-222222222222",
        "user_display_name": "X",
        "user_handle": "x",
    }
    client.put_item(TableName=TABLE, Item=items.to_typed(stranger))
    _seed(client, seeded, NOW + timedelta(minutes=1))
    assert ("GRP#00000000-0000-4000-8000-000000000000", "2026-01-01T00:00:00.000000+00:00") in all_keys(client)


def test_reseed_after_a_message_is_removed_from_a_fixture_deletes_it(client, seeded, tmp_path):
    import json
    import shutil

    from .support import FIXTURES

    copy = tmp_path / "fx"
    shutil.copytree(FIXTURES, copy)
    path = copy / "conversations" / "mira-june.json"
    document = json.loads(path.read_text())
    document["messages"] = document["messages"][:-1]
    path.write_text(json.dumps(document))
    _seed(client, fixtures.load(copy))
    assert len(all_keys(client)) == 111


def test_dry_run_plan_writes_nothing(client, table, repo_fixtures):
    plan = seeding.plan(client, TABLE, repo_fixtures, NOW)
    assert len(plan.puts) == 112 and plan.deletes == []
    assert all_keys(client) == set()
