"""Two conversations of one user whose last messages land on one microsecond keep both group items.

A group item's key is its owner and the last message's time (`GRP#<owner>`, time), so a
seed that stamped two such conversations alike wrote one group item over the other and
the user lost a conversation from their list. `ddb.seed.stamping.GroupTimes` moves the later
conversation on by a microsecond, all its messages with it.
"""

import json
from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from ddb.app import patterns
from ddb.data.items import User, iso_time
from ddb.seed import seeding
from ddb.seed.fixtures import Conversation, Fixtures, Message

from .support import NOW, TABLE, all_items

USERS = {h: User(f"{n:08x}-0000-4000-8000-000000000000", h, h.title()) for n, h in enumerate(["ana", "bo", "cy", "di"], 1)}


def conversation(number: int, between: tuple[str, str], last_minutes: list[int]) -> Conversation:
    """A conversation whose messages are `last_minutes` minutes ago (oldest first), from alternate participants."""
    messages = tuple(
        Message(between[i % 2], minutes, f"message {i} of {number}", f"{number:08x}-1111-4111-8111-{i:012x}")
        for i, minutes in enumerate(last_minutes)
    )
    return Conversation(f"c{number}.json", f"{number:08x}-2222-4222-8222-222222222222", between, messages)


@st.composite
def fixture_sets(draw):
    """Up to six conversations among four users, their messages 0 or 1 minute ago: times that collide often."""
    pairs = draw(st.lists(st.sampled_from([(a, b) for a in USERS for b in USERS if a < b]), min_size=1, max_size=6, unique=True))
    found = []
    for number, pair in enumerate(pairs, 1):
        minutes = sorted(draw(st.lists(st.integers(0, 1), min_size=1, max_size=3)), reverse=True)
        found.append(conversation(number, pair, minutes))
    return Fixtures(USERS, tuple(found))


@given(fixture_sets())
def test_no_two_planned_items_share_a_key_and_every_group_item_sits_at_its_last_message(client, table, fixture_set):
    puts = seeding.plan(client, TABLE, fixture_set, NOW, "empty").puts
    keys = Counter((item["pk"], item["sk"]) for item in puts)
    assert [key for key, times in keys.items() if times > 1] == []
    last: dict[str, str] = {}
    for item in puts:
        if item["pk"].startswith("MSG#"):
            last[item["pk"][4:]] = max(last.get(item["pk"][4:], ""), item["sk"])
    groups = [item for item in puts if item["pk"].startswith("GRP#")]
    assert len(groups) == 2 * len(fixture_set.conversations)
    assert all(item["sk"] == last[item["message_group_uuid"]] for item in groups)


def write_set(directory, fixture_set: Fixtures):
    """The fixture set as a fixture directory."""
    (directory / "conversations").mkdir(parents=True)
    users = [{"uuid": u.uuid, "handle": u.handle, "display_name": u.display_name} for u in fixture_set.users.values()]
    (directory / "users.json").write_text(json.dumps(users))
    for c in fixture_set.conversations:
        document = {
            "message_group_uuid": c.message_group_uuid,
            "between": list(c.between),
            "messages": [{"from": m.sender, "minutes_ago": m.minutes_ago, "message": m.text} for m in c.messages],
        }
        (directory / "conversations" / c.source).write_text(json.dumps(document))
    return directory


def test_a_user_with_two_conversations_last_written_in_one_minute_sees_both_after_a_seed_and_a_reseed(client, table, tmp_path):
    both_five_minutes_ago = Fixtures(USERS, (conversation(1, ("ana", "bo"), [5]), conversation(2, ("ana", "cy"), [5])))
    directory = write_set(tmp_path / "fx", both_five_minutes_ago)
    later = NOW + timedelta(hours=1)
    for now in (NOW, later):
        result = seeding.seed_fixtures(client, TABLE, directory, now=now)
        assert (result.written.put, result.written.failed_keys) == (8, [])
        listed = patterns.list_conversations(client, TABLE, USERS["ana"].uuid).items
        assert sorted(g["message_group_uuid"] for g in listed) == [
            c.message_group_uuid for c in both_five_minutes_ago.conversations
        ]
        assert len(all_items(client)) == 8  # two messages, four group items, two claims: the re-seed left nothing stale
    stamps = sorted(i["sk"] for i in all_items(client) if i["pk"].startswith("MSG#"))
    five_minutes_ago = later - timedelta(minutes=5)
    assert stamps == [iso_time(five_minutes_ago), iso_time(five_minutes_ago + timedelta(microseconds=1))]  # the second moved on
