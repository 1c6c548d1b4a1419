"""Property tests: whatever text, handle, uuid or display name a caller hands over, the
write patterns and the fixture loader either refuse it before any request or store it
and read it back identical.

Arbitrary text here includes what real input can hold: lone surrogates, C0 and C1
controls, format characters, unassigned code points, and lengths around the limit.
Pattern C shares one seeded moto table across its examples, with a clock that moves on
with every example, so the newest message is the one just written. Pattern D and seed
get a fresh table per example, deleted after it: moto copies every table on each
transaction and memory grows with what the mock holds (about 12 MB per example with a
shared table). uuids that must be valid are fresh per example. The profile
(tests/conftest.py) bounds them: HYPOTHESIS_PROFILE=long tries many more.
"""

import itertools
import json
import shutil
from contextlib import contextmanager
from datetime import timedelta
from typing import Literal

from hypothesis import event, given
from hypothesis import strategies as st

from ddb.app import messaging, patterns
from ddb.core.errors import FixtureError, InvalidInput
from ddb.data import contract
from ddb.data.items import User
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding

from .support import NOW, TABLE

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"

_minutes = itertools.count(1)
_fresh = itertools.count(1)


def later():
    """A time after every earlier example's."""
    return NOW + timedelta(days=1, minutes=next(_minutes))


def fresh_uuid() -> str:
    return f"{next(_fresh):08x}-0000-4000-8000-{0xFEED:012x}"


_tables = itertools.count(1)


@contextmanager
def fresh_table(client):
    """A new, empty table of the declared schema for one example; deleted afterwards."""
    name = f"property-{next(_tables)}"
    schema.load(client, name)
    try:
        yield name
    finally:
        client.delete_table(TableName=name)


ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # surrogates and controls too
ANY_TEXT = st.text(ANY_CHARACTER, max_size=40)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "eve\n",
        "hi \ud800",
        "caf\udce9",
        "\x1b]0;title\x07",
        "\x1b[2J",
        "a\x85b",
        "\x7f",
        "tab\there",
        "line\nbreak",
        "\u2028",
        "\ufeff",
        "\U0010ffff",
        "👩‍👩‍👧",
        "ＭＩＲＡ",
        "x#y",
    ]
)
TEXTS = st.one_of(
    ANY_TEXT,
    NASTY,
    st.text(max_size=40),
    st.builds(lambda character, count: character * count, ANY_CHARACTER, st.integers(4090, 4100)),
)
HANDLES = st.one_of(
    st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True),
    st.from_regex(r"[a-z0-9_]{1,32}\n", fullmatch=True),
    st.text(max_size=40),
    ANY_TEXT,
    NASTY,
)
# "fresh" stands for a valid uuid unused so far; the rest are uuids as a caller might misspell them.
UUIDS = st.one_of(
    st.just("fresh"),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: f"{u}\n"),
    st.uuids().map(lambda u: u.hex),
    ANY_TEXT,
    NASTY,
)
NAMES = st.one_of(st.text(max_size=40), st.text(min_size=126, max_size=130), ANY_TEXT, NASTY)


# Values that keep the contract, mostly; an example spoils at most one field with an arbitrary value.
GOOD_HANDLES = st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True)
NO_CONTROLS: tuple[Literal["Cc"]] = ("Cc",)
GOOD_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=NO_CONTROLS), min_size=1, max_size=128)
GOOD_TEXTS = st.text(
    st.characters(codec="utf-8", exclude_categories=NO_CONTROLS, include_characters="\n\t"), min_size=1, max_size=300
)


@st.composite
def conversation_fields(draw) -> dict:
    """uuid, handle, display_name of a new user, the text they send and the group uuid, one of them maybe spoiled."""
    fields = {
        "uuid": "fresh",
        "handle": draw(GOOD_HANDLES),
        "display_name": draw(GOOD_NAMES),
        "text": draw(GOOD_TEXTS),
        "group": "fresh",
    }
    arbitrary = {"uuid": UUIDS, "handle": HANDLES, "display_name": NAMES, "text": TEXTS, "group": UUIDS}
    spoiled = draw(st.sampled_from([None, *arbitrary]))
    if spoiled:
        fields[spoiled] = draw(arbitrary[spoiled])
    return {name: fresh_uuid() if value == "fresh" else value for name, value in fields.items()}


def refused_before_any_request(error, sent) -> bool:
    assert sent == [] and "\n" not in str(error)
    event("refused")
    return True


@given(text=TEXTS)
def test_create_message_refuses_before_any_request_or_stores_the_text_exactly(client, seeded, sent, text):
    june = seeded.users["june"]
    sent.clear()
    try:
        written = messaging.create_message(client, TABLE, MIRA_JUNE, june, text, now=later())
    except InvalidInput as refused:
        assert refused_before_any_request(refused, sent)
        return
    event("stored")
    newest = patterns.list_messages(client, TABLE, MIRA_JUNE, limit=1).items[-1]
    assert (newest["message"], newest["message_uuid"]) == (text, written.message["message_uuid"])
    assert contract.item_problems(written.message) == []


@given(fields=conversation_fields())
def test_create_conversation_refuses_before_any_request_or_stores_both_users_exactly(client, repo_fixtures, sent, fields):
    lena = repo_fixtures.users["lena"]
    handle, display_name, text = fields["handle"], fields["display_name"], fields["text"]
    with fresh_table(client) as table:
        sent.clear()
        try:
            user = User(fields["uuid"], handle, display_name)
            written = messaging.create_conversation(client, table, user, lena, text, now=NOW, message_group_uuid=fields["group"])
        except InvalidInput as refused:
            assert refused_before_any_request(refused, sent)
            return
        event("stored")
        message = patterns.list_messages(client, table, written.message_group_uuid, limit=1).items[-1]
        mine = patterns.list_conversations(client, table, user.uuid, limit=1).items[0]
        theirs = patterns.list_conversations(client, table, lena.uuid, limit=1).items[0]
    assert (message["message"], message["user_uuid"], message["user_handle"], message["user_display_name"]) == (
        text,
        user.uuid,
        handle,
        display_name,
    )
    assert (mine["message_group_uuid"], mine["user_handle"], mine["message"]) == (written.message_group_uuid, "lena", text)
    assert (theirs["user_uuid"], theirs["user_handle"], theirs["user_display_name"]) == (user.uuid, handle, display_name)


@given(fields=conversation_fields())
def test_seeding_a_fixture_folder_refuses_before_any_request_or_stores_it_exactly(client, repo_fixtures, sent, tmp_path, fields):
    lena = repo_fixtures.users["lena"]
    uuid, handle, display_name, text, group = (fields[name] for name in ("uuid", "handle", "display_name", "text", "group"))
    root = tmp_path / "fx"
    shutil.rmtree(root, ignore_errors=True)
    (root / "conversations").mkdir(parents=True)
    users = [
        {"uuid": uuid, "handle": handle, "display_name": display_name},
        {"uuid": lena.uuid, "handle": lena.handle, "display_name": lena.display_name},
    ]
    conversation = {
        "message_group_uuid": group,
        "between": [handle, "lena"],
        "messages": [{"from": handle, "minutes_ago": 1, "message": text}, {"from": "lena", "minutes_ago": 0, "message": "ok"}],
    }
    # ASCII with \u escapes: the only way a file can carry a lone surrogate to the loader
    (root / "users.json").write_text(json.dumps(users), encoding="ascii")
    (root / "conversations" / "one.json").write_text(json.dumps(conversation), encoding="ascii")
    with fresh_table(client) as table:
        sent.clear()
        try:
            seeding.run(client, table, seeding.plan(client, table, fixtures.load(root), NOW))
        except FixtureError as refused:
            assert refused_before_any_request(refused, sent)
            return
        event("stored")
        stored = patterns.list_messages(client, table, group, limit=10).items
    assert [(m["message"], m["user_handle"], m["user_display_name"], m["user_uuid"]) for m in stored] == [
        (text, handle, display_name, uuid),
        ("ok", "lena", lena.display_name, lena.uuid),
    ]
