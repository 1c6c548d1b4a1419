"""Access patterns A (one conversation) and B (a user's conversations): order, limits, contents, pages."""

import pytest

from ddb.app import patterns
from ddb.core.errors import BadCursor, InvalidInput, NotFound
from ddb.data import items

from .support import TABLE

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"


def _conversation(seeded, group):
    return next(c for c in seeded.conversations if c.message_group_uuid == group)


def test_b_lists_a_users_conversations_most_recent_first(client, seeded):
    mira = seeded.users["mira"]
    page = patterns.list_conversations(client, TABLE, mira.uuid)
    assert [i["user_handle"] for i in page.items] == ["tomas", "june", "ravi"]
    times = [i["last_message_at"] for i in page.items]
    assert times == sorted(times, reverse=True)
    assert page.next_cursor is None


def test_b_items_carry_the_documented_fields(client, seeded):
    page = patterns.list_conversations(client, TABLE, seeded.users["lena"].uuid)
    (item,) = page.items
    june = seeded.users["june"]
    conversation = next(c for c in seeded.conversations if "lena" in c.between)
    assert item == {
        "message_group_uuid": conversation.message_group_uuid,
        "user_uuid": june.uuid,
        "user_handle": "june",
        "user_display_name": june.display_name,
        "message": conversation.messages[-1].text,
        "last_message_at": item["last_message_at"],
    }


def test_b_limit_and_cursor_page_through_every_conversation_once(client, seeded):
    mira = seeded.users["mira"]
    first = patterns.list_conversations(client, TABLE, mira.uuid, limit=2)
    assert [i["user_handle"] for i in first.items] == ["tomas", "june"]
    assert first.next_cursor
    second = patterns.list_conversations(client, TABLE, mira.uuid, limit=2, cursor=first.next_cursor)
    assert [i["user_handle"] for i in second.items] == ["ravi"]
    assert second.next_cursor is None


def test_b_for_a_user_without_conversations_is_empty(client, seeded):
    page = patterns.list_conversations(client, TABLE, "00000000-0000-4000-8000-000000000000")
    assert (page.items, page.next_cursor) == ([], None)


def test_a_returns_the_newest_messages_oldest_first(client, seeded):
    conversation = _conversation(seeded, MIRA_TOMAS)
    page = patterns.list_messages(client, TABLE, MIRA_TOMAS, limit=5)
    assert [i["message"] for i in page.items] == [m.text for m in conversation.messages[-5:]]
    assert [i["message_uuid"] for i in page.items] == [m.message_uuid for m in conversation.messages[-5:]]
    assert [i["user_handle"] for i in page.items] == [m.sender for m in conversation.messages[-5:]]
    assert page.next_cursor


def test_a_items_carry_the_documented_fields(client, seeded):
    (item,) = patterns.list_messages(client, TABLE, MIRA_TOMAS, limit=1).items
    assert set(item) == {"message_uuid", "user_uuid", "user_handle", "user_display_name", "message", "created_at"}


def test_a_walks_a_long_conversation_in_pages_exactly_once(client, seeded):
    conversation = _conversation(seeded, MIRA_TOMAS)
    pages: list[list[items.MessageRow]] = []
    cursor: patterns.Cursor = patterns.FIRST_PAGE
    while cursor is not None:  # the next_cursor of the last page is None
        page = patterns.list_messages(client, TABLE, MIRA_TOMAS, limit=7, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [7] * 10
    chat = [item for page in reversed(pages) for item in page]
    assert [i["message"] for i in chat] == [m.text for m in conversation.messages]


def test_a_page_that_ends_exactly_at_the_last_message_has_no_cursor(client, seeded):
    page = patterns.list_messages(client, TABLE, MIRA_TOMAS, limit=70)
    assert len(page.items) == 70 and page.next_cursor is None


def test_a_for_an_unknown_group_is_not_found(client, seeded):
    with pytest.raises(NotFound, match="no conversation 00000000-0000-4000-8000-000000000000 in table 'cruddur-messages'"):
        patterns.list_messages(client, TABLE, "00000000-0000-4000-8000-000000000000")


@pytest.mark.parametrize("cursor", ["garbage!", "e30", "bm90IGpzb24"])
def test_a_malformed_cursor_is_one_clear_error(client, seeded, cursor):
    with pytest.raises(BadCursor, match=r"malformed cursor .*: pass the next_cursor value of a previous page unchanged"):
        patterns.list_messages(client, TABLE, MIRA_TOMAS, cursor=cursor)


def test_a_cursor_of_another_query_is_refused(client, seeded):
    other = patterns.list_conversations(client, TABLE, seeded.users["mira"].uuid, limit=1).next_cursor
    with pytest.raises(BadCursor, match="belongs to another query"):
        patterns.list_messages(client, TABLE, MIRA_TOMAS, cursor=other)


def test_patterns_report_consumed_capacity(client, seeded):
    page = patterns.list_messages(client, TABLE, MIRA_TOMAS, limit=3)
    assert page.consumed_capacity["reported"] > 0
    assert page.consumed_capacity["estimated"] == 0.5


LONG = "x" * 3000
NOT = " is not a lower-case canonical UUID"


@pytest.mark.parametrize(
    "cursor, shown",
    [
        (0, "0"),
        (5, "5"),
        (2.5, "2.5"),
        (True, "True"),
        ({}, "{}"),
        ([], "[]"),
        (b"abc", "b'abc'"),
        ({"pk": "MSG#" + "a" * 3000}, repr({"pk": "MSG#" + "a" * 3000})[:40] + "…"),
        ("!" * 3000, repr("!" * 40)),
        ("line\nbreak", repr("line\nbreak")),
    ],
    ids=["zero", "int", "float", "bool", "empty-dict", "empty-list", "bytes", "huge-dict", "3000-characters", "newline"],
)
def test_a_cursor_that_is_not_one_of_ours_is_one_bounded_line(client, seeded, cursor, shown):
    for read in (
        lambda: patterns.list_messages(client, TABLE, MIRA_TOMAS, cursor=cursor),
        lambda: patterns.list_conversations(client, TABLE, seeded.users["mira"].uuid, cursor=cursor),
    ):
        with pytest.raises(BadCursor) as caught:
            read()
        assert str(caught.value) == f"malformed cursor {shown}: pass the next_cursor value of a previous page unchanged"


def test_a_cursor_whose_sort_key_dynamodb_cannot_take_is_refused_before_any_request(client, seeded):
    cursor = patterns.encode_cursor(f"MSG#{MIRA_TOMAS}", "9" * 1025)
    with pytest.raises(BadCursor) as caught:
        patterns.list_messages(None, TABLE, MIRA_TOMAS, cursor=cursor)
    assert str(caught.value) == f"malformed cursor {cursor[:40]!r}: pass the next_cursor value of a previous page unchanged"


@pytest.mark.parametrize(
    "group, shown",
    [
        (None, "expected a string, found None"),
        (42, "expected a string, found 42"),
        (["a"], "expected a string, found ['a']"),
        ("", f"''{NOT}"),
        ("mira-tomas", f"'mira-tomas'{NOT}"),
        (MIRA_TOMAS.upper(), f"{MIRA_TOMAS.upper()!r}{NOT}"),
        (MIRA_TOMAS + "\n", f"{MIRA_TOMAS + chr(10)!r}{NOT}"),
        (LONG, f"{'x' * 40!r}…{NOT}"),
    ],
    ids=["None", "int", "list", "empty", "name", "upper-case", "newline", "3000-characters"],
)
def test_a_group_uuid_that_is_not_a_canonical_uuid_is_one_bounded_line_before_any_request(group, shown):
    with pytest.raises(InvalidInput) as caught:
        patterns.list_messages(None, TABLE, group)
    assert str(caught.value) == f"message_group_uuid: {shown}"


def test_paging_with_the_last_pages_next_cursor_is_the_end_not_the_first_page_again(client, seeded, sent):
    mira = seeded.user("mira").uuid
    page = patterns.list_conversations(client, TABLE, mira, limit=100)
    assert page.next_cursor is None and page.items
    sent.clear()
    after = patterns.list_conversations(client, TABLE, mira, limit=100, cursor=page.next_cursor)
    assert (after.items, after.next_cursor, sent) == ([], None, [])
    chat = patterns.list_messages(client, TABLE, "3364f717-0448-48d9-b8ed-f5dc3fb166c3", limit=1000)
    assert chat.next_cursor is None
    assert patterns.list_messages(client, TABLE, "3364f717-0448-48d9-b8ed-f5dc3fb166c3", cursor=None).items == []
