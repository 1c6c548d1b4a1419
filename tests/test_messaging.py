"""Patterns C (send a message) and D (start a conversation)."""

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from ddb.app import claims, messaging, patterns
from ddb.core.errors import InvalidInput, NotFound
from ddb.data import contract

from .support import NOW, TABLE, all_items

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"


def test_c_writes_a_message_item_that_keeps_the_contract(client, seeded):
    june = seeded.users["june"]
    written = messaging.create_message(client, TABLE, MIRA_JUNE, june, "Merged it, thanks!", now=NOW)
    assert contract.item_problems(written.message) == []
    assert written.message["pk"] == f"MSG#{MIRA_JUNE}"
    assert written.message["sk"] == "2026-11-25T16:20:00.000000+00:00"
    assert (written.message["user_handle"], written.message["user_uuid"]) == ("june", june.uuid)
    newest = patterns.list_messages(client, TABLE, MIRA_JUNE, limit=1).items[-1]
    assert newest["message"] == "Merged it, thanks!"


def test_c_two_messages_in_the_same_microsecond_are_both_kept(client, seeded):
    mira, june = seeded.users["mira"], seeded.users["june"]
    first = messaging.create_message(client, TABLE, MIRA_JUNE, mira, "one", now=NOW)
    second = messaging.create_message(client, TABLE, MIRA_JUNE, june, "two", now=NOW)
    assert first.message["sk"] == "2026-11-25T16:20:00.000000+00:00"
    assert second.message["sk"] == "2026-11-25T16:20:00.000001+00:00"
    texts = [i["message"] for i in patterns.list_messages(client, TABLE, MIRA_JUNE, limit=2).items]
    assert texts == ["one", "two"]


def test_c_sender_outside_the_conversation_is_refused(client, seeded):
    with pytest.raises(NotFound, match=f"@ravi is not a participant of conversation {MIRA_JUNE}"):
        messaging.create_message(client, TABLE, MIRA_JUNE, seeded.users["ravi"], "hi")
    assert len(all_items(client)) == 112


def test_c_unknown_conversation_is_refused(client, seeded):
    with pytest.raises(NotFound, match="no conversation 00000000-0000-4000-8000-000000000000"):
        messaging.create_message(client, TABLE, "00000000-0000-4000-8000-000000000000", seeded.users["mira"], "hi")


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
def test_c_empty_or_oversize_text_is_refused(client, seeded, text):
    with pytest.raises(InvalidInput):
        messaging.create_message(client, TABLE, MIRA_JUNE, seeded.users["mira"], text)


def test_d_writes_two_group_items_and_the_first_message(client, seeded):
    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    written = messaging.create_conversation(client, TABLE, lena, tomas, "Hi Tomás, Mira says you hike?", now=NOW)
    assert written.created_conversation
    group = written.message_group_uuid
    mine = [i for i in all_items(client) if i.get("message_group_uuid") == group or i["pk"] == f"MSG#{group}"]
    assert len(mine) == 3
    for item in mine:
        assert contract.item_problems(item) == []
        assert item["sk"] == "2026-11-25T16:20:00.000000+00:00"
    by_owner = {i["pk"]: i for i in mine if i["pk"].startswith("GRP#")}
    assert by_owner[f"GRP#{lena.uuid}"]["user_handle"] == "tomas"
    assert by_owner[f"GRP#{tomas.uuid}"]["user_handle"] == "lena"
    assert patterns.list_conversations(client, TABLE, tomas.uuid).items[0]["message_group_uuid"] == group


def test_d_between_users_who_already_talk_goes_into_their_conversation(client, seeded):
    written = messaging.create_conversation(client, TABLE, seeded.users["june"], seeded.users["mira"], "One more thing!")
    assert written.message_group_uuid == MIRA_JUNE and not written.created_conversation
    assert len(all_items(client)) == 113


def test_d_with_oneself_is_refused(client, seeded):
    with pytest.raises(InvalidInput, match="@mira cannot start a conversation with themself"):
        messaging.create_conversation(client, TABLE, seeded.users["mira"], seeded.users["mira"], "hello me")


def test_d_is_all_or_nothing_when_a_write_fails(client, seeded):
    """A taken key makes the transaction fail; none of its three items is left behind."""
    from ddb.core.errors import ConditionFailed
    from ddb.data import items

    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    when = NOW + timedelta(days=1)
    blocker = items.group_item(tomas, seeded.users["ravi"], "99999999-9999-4999-8999-999999999999", "x", items.iso_time(when))
    client.put_item(TableName=TABLE, Item=items.to_typed(blocker))
    before = all_items(client)
    with pytest.raises(ConditionFailed, match="nothing was written"):
        messaging.create_conversation(client, TABLE, lena, tomas, "hello", now=when)
    assert all_items(client) == before


def test_d_is_all_or_nothing_when_the_engine_fails_mid_request(client, seeded, monkeypatch):
    from ddb.core import retry

    monkeypatch.setattr(retry.RetryPolicy, "delay", lambda self, attempt: 0)
    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    before = all_items(client)

    def fail(**kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")

    client.transact_write_items = fail
    with pytest.raises(Exception, match="InternalServerError"):
        messaging.create_conversation(client, TABLE, lena, tomas, "hello")
    assert all_items(client) == before


MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
TAKEN = (
    f"message group uuid {MIRA_TOMAS} is already used by another conversation: leave it out to get a new one; nothing was written"
)


def test_d_refuses_the_group_uuid_of_another_pairs_conversation_and_writes_nothing(client, seeded):
    june, ravi = seeded.users["june"], seeded.users["ravi"]
    before = all_items(client)
    with pytest.raises(InvalidInput) as caught:
        messaging.create_conversation(client, TABLE, june, ravi, "Let me in", message_group_uuid=MIRA_TOMAS)
    assert str(caught.value) == TAKEN
    assert all_items(client) == before
    with pytest.raises(NotFound, match="@june is not a participant"):
        messaging.create_message(client, TABLE, MIRA_TOMAS, june, "Still not in")


def test_d_refuses_a_group_uuid_that_is_claimed_even_before_its_items_are_visible(client, seeded, monkeypatch):
    """The transaction itself refuses a claimed group uuid: no lookup can close the race."""
    monkeypatch.setattr(claims, "group_in_use", lambda *args: False)  # as if the claim landed after the lookup
    before = all_items(client)
    with pytest.raises(InvalidInput) as caught:
        messaging.create_conversation(
            client, TABLE, seeded.users["june"], seeded.users["ravi"], "Let me in", message_group_uuid=MIRA_TOMAS
        )
    assert str(caught.value) == TAKEN
    assert all_items(client) == before


def test_d_refuses_a_group_uuid_it_gave_to_another_pair_before(client, seeded):
    group = "5a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    lena, tomas, ravi = seeded.users["lena"], seeded.users["tomas"], seeded.users["ravi"]
    assert messaging.create_conversation(client, TABLE, lena, tomas, "Hike?", message_group_uuid=group).created_conversation
    before = all_items(client)
    with pytest.raises(InvalidInput, match=f"message group uuid {group} is already used by another conversation"):
        messaging.create_conversation(client, TABLE, ravi, lena, "Me too", message_group_uuid=group)
    assert all_items(client) == before
    again = messaging.create_conversation(client, TABLE, tomas, lena, "Yes!", message_group_uuid=group)
    assert (again.message_group_uuid, again.created_conversation) == (group, False)


def test_d_writes_a_claim_on_the_group_uuid_and_one_on_the_pair(client, seeded):
    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    group = messaging.create_conversation(client, TABLE, lena, tomas, "Hi", now=NOW).message_group_uuid
    low, high = sorted([lena.uuid, tomas.uuid])
    claims = [i for i in all_items(client) if i["pk"] in (f"CLAIM#GROUP#{group}", f"CLAIM#PAIR#{low}#{high}")]
    assert sorted(claims, key=lambda i: i["pk"]) == [
        {"pk": f"CLAIM#GROUP#{group}", "sk": "claim", "user_uuids": [low, high]},
        {"pk": f"CLAIM#PAIR#{low}#{high}", "sk": "claim", "group_uuid": group},
    ]
    for claim in claims:
        assert contract.item_problems(claim) == []


def test_d_takes_over_a_pair_claim_that_names_a_conversation_of_other_users(client, seeded):
    from ddb.data import items

    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    stale = items.pair_claim(lena.uuid, tomas.uuid, MIRA_TOMAS)  # left behind after MIRA_TOMAS was re-seeded
    client.put_item(TableName=TABLE, Item=items.to_typed(stale))
    written = messaging.create_conversation(client, TABLE, lena, tomas, "Hi")
    assert written.created_conversation and written.message_group_uuid != MIRA_TOMAS
    claim = client.get_item(TableName=TABLE, Key=items.to_typed(items.pair_claim_key(lena.uuid, tomas.uuid)))["Item"]
    assert claim["group_uuid"]["S"] == written.message_group_uuid


LONG_GROUP = "g" * 3000
NOT = " is not a lower-case canonical UUID"


@pytest.mark.parametrize(
    "group, shown",
    [
        (None, "expected a string, found None"),
        (7, "expected a string, found 7"),
        ("x#y", f"'x#y'{NOT}"),
        (MIRA_TOMAS.upper(), f"{MIRA_TOMAS.upper()!r}{NOT}"),
        (LONG_GROUP, f"{'g' * 40!r}…{NOT}"),
    ],
    ids=["None", "int", "hash", "upper-case", "3000-characters"],
)
def test_c_refuses_a_group_uuid_that_is_not_a_canonical_uuid_in_one_bounded_line(repo_fixtures, group, shown):
    with pytest.raises(InvalidInput) as caught:
        messaging.create_message(None, TABLE, group, repo_fixtures.users["mira"], "hi")  # no client: no request is made
    assert str(caught.value) == f"message_group_uuid: {shown}"


@pytest.mark.parametrize(
    "group, shown",
    [
        (7, "expected a string, found 7"),
        ("", f"''{NOT}"),
        ("x#y", f"'x#y'{NOT}"),
        (LONG_GROUP, f"{'g' * 40!r}…{NOT}"),
    ],
    ids=["int", "empty", "hash", "3000-characters"],
)
def test_d_refuses_a_group_uuid_that_is_not_a_canonical_uuid_in_one_bounded_line(repo_fixtures, group, shown):
    users = repo_fixtures.users
    with pytest.raises(InvalidInput) as caught:
        messaging.create_conversation(None, TABLE, users["lena"], users["tomas"], "hi", message_group_uuid=group)
    assert str(caught.value) == f"message_group_uuid: {shown}"
