"""Patterns C (send a message) and D (start a conversation)."""

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from ddb import contract, messaging, patterns
from ddb.errors import InvalidInput, NotFound

from .conftest import NOW, TABLE, all_items

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
    assert len(all_items(client)) == 108


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
    assert len(all_items(client)) == 109


def test_d_with_oneself_is_refused(client, seeded):
    with pytest.raises(InvalidInput, match="@mira cannot start a conversation with themself"):
        messaging.create_conversation(client, TABLE, seeded.users["mira"], seeded.users["mira"], "hello me")


def test_d_is_all_or_nothing_when_a_write_fails(client, seeded):
    """A taken key makes the transaction fail; none of its three items is left behind."""
    from ddb import items
    from ddb.errors import ConditionFailed

    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    when = NOW + timedelta(days=1)
    blocker = items.group_item(tomas, seeded.users["ravi"], "99999999-9999-4999-8999-999999999999", "x", items.iso_time(when))
    client.put_item(TableName=TABLE, Item=items.to_typed(blocker))
    before = all_items(client)
    with pytest.raises(ConditionFailed, match="nothing was written"):
        messaging.create_conversation(client, TABLE, lena, tomas, "hello", now=when)
    assert all_items(client) == before


def test_d_is_all_or_nothing_when_the_engine_fails_mid_request(client, seeded, monkeypatch):
    from ddb import retry

    monkeypatch.setattr(retry.RetryPolicy, "delay", lambda self, attempt: 0)
    lena, tomas = seeded.users["lena"], seeded.users["tomas"]
    before = all_items(client)

    def fail(**kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")

    client.transact_write_items = fail
    with pytest.raises(Exception, match="InternalServerError"):
        messaging.create_conversation(client, TABLE, lena, tomas, "hello")
    assert all_items(client) == before
