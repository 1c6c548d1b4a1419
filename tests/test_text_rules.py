"""Text the table cannot hold, or the contract does not allow, is refused before any request.

And what is stored is shown safely: human output escapes control characters (a stored
terminal escape never reaches the terminal raw), `--json` stays exact.
"""

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from commands import views
from ddb.app import messaging, patterns
from ddb.core.errors import FixtureError, InvalidInput
from ddb.data import contract, validate
from ddb.data.items import User, group_item, iso_time, message_item, to_typed
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding

from .support import FIXTURES, NOW, ROOT, TABLE, all_items, fake_aws_environment, local_client

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"
MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
HANDLE_RULE = "is not a handle (1-32 of a-z, 0-9, _)"
UUID_RULE = "is not a lower-case canonical UUID"


# ------------------------------------------------------------------ users


@pytest.mark.parametrize(
    "uuid, handle, display_name, expected",
    [
        (MIRA, "Mira Smith!\n", "Mira", f"handle: 'Mira Smith!\\n' {HANDLE_RULE}"),
        (MIRA, "mira\n", "Mira", f"handle: 'mira\\n' {HANDLE_RULE}"),
        (MIRA, "", "Mira", f"handle: '' {HANDLE_RULE}"),
        (MIRA, "mira", "", "display_name: is empty"),
        (MIRA, "mira", " \t", "display_name: ' \\t' holds the control character '\\t' at position 1"),
        (MIRA, "mira", "   ", "display_name: '   ' is blank"),
        (
            MIRA,
            "mira",
            "Mira\x1b]0;title\x07",
            "display_name: 'Mira\\x1b]0;title\\x07' holds the control character '\\x1b' at position 4",
        ),
        (
            MIRA,
            "mira",
            "Mira \ud800",
            "display_name: 'Mira \\ud800' holds a lone surrogate U+D800, which is not Unicode text and cannot be stored",
        ),
        (MIRA, "mira", "M" * 129, "display_name: is 129 characters long, more than the limit of 128"),
        ("x#y", "mira", "Mira", f"uuid: 'x#y' {UUID_RULE}"),
        (MIRA.upper(), "mira", "Mira", f"uuid: '{MIRA.upper()}' {UUID_RULE}"),
        (MIRA + "\n", "mira", "Mira", f"uuid: '{MIRA}\\n' {UUID_RULE}"),
        (None, "mira", "Mira", "uuid: expected a string, found None"),
        (MIRA, "m" * 3000, "Mira", f"handle: '{'m' * 40}'… {HANDLE_RULE}"),
    ],
    ids=[
        "handle-with-space-and-newline",
        "handle-with-trailing-newline",
        "empty-handle",
        "empty-display-name",
        "display-name-with-tab",
        "blank-display-name",
        "display-name-with-title-escape",
        "display-name-with-surrogate",
        "long-display-name",
        "uuid-x#y",
        "upper-case-uuid",
        "uuid-with-trailing-newline",
        "uuid-none",
        "handle-of-3000-characters",
    ],
)
def test_a_user_that_breaks_the_contract_cannot_be_made(uuid, handle, display_name, expected):
    with pytest.raises(InvalidInput) as caught:
        User(uuid, handle, display_name)
    assert str(caught.value) == expected


def test_a_user_that_keeps_the_contract_is_made():
    assert User(MIRA, "mira_2", "Mira Okafor 🌻").handle == "mira_2"


def test_the_schema_patterns_are_the_library_patterns_anchored_at_the_very_end():
    for name in ("users", "conversation", "item"):
        definitions = contract.schema(name)["$defs"]
        assert definitions["handle"]["pattern"] == f"^{validate.HANDLE.pattern}(?![\\s\\S])"
        assert definitions["uuid"]["pattern"] == f"^{validate.UUID.pattern}(?![\\s\\S])"
    assert (
        contract.item_problems(
            {
                "pk": f"GRP#{MIRA}\n",
                "sk": "2026-11-25T16:20:00.000000+00:00\n",
                "message_group_uuid": MIRA,
                "message": "hi",
                "user_uuid": MIRA,
                "user_display_name": "Mira",
                "user_handle": "eve\n",
            }
        )
        != []
    )


# ------------------------------------------------------------------ write patterns


def bad_user(**fields):
    """A user-like object that skipped User's checks (as an app might hand one over)."""
    return SimpleNamespace(**{"uuid": MIRA, "handle": "mira", "display_name": "Mira Okafor", **fields})


@pytest.mark.parametrize(
    "group, sender, text, expected",
    [
        (
            MIRA_JUNE,
            None,
            json.loads('"hi \\ud800"'),
            "message: 'hi \\ud800' holds a lone surrogate U+D800, which is not Unicode text and cannot be stored",
        ),
        (MIRA_JUNE, None, "caf\udce9", "message: 'caf\\udce9' holds the byte 0xe9, which is not UTF-8: give UTF-8 text"),
        (MIRA_JUNE, None, "\x1b[2J", "message: '\\x1b[2J' holds the control character '\\x1b' at position 0"),
        (MIRA_JUNE, None, "ok\x7f", "message: 'ok\\x7f' holds the control character '\\x7f' at position 2"),
        (MIRA_JUNE, None, "a" * 100 + "\x00", f"message: '{'a' * 40}'… holds the control character '\\x00' at position 100"),
        (MIRA_JUNE, None, "x" * 5000, "message: is 5000 characters long, more than the limit of 4096"),
        (MIRA_JUNE, None, " \n ", "message: ' \\n ' is blank"),
        (MIRA_JUNE, None, None, "message: expected a string, found None"),
        (MIRA_JUNE + "\n", None, "hi", f"message_group_uuid: '{MIRA_JUNE}\\n' {UUID_RULE}"),
        (MIRA_JUNE.upper(), None, "hi", f"message_group_uuid: '{MIRA_JUNE.upper()}' {UUID_RULE}"),
        (MIRA_JUNE, bad_user(handle="Mira Smith!\n"), "hi", f"sender.handle: 'Mira Smith!\\n' {HANDLE_RULE}"),
        (MIRA_JUNE, bad_user(display_name=""), "hi", "sender.display_name: is empty"),
        (MIRA_JUNE, bad_user(uuid="x#y"), "hi", f"sender.uuid: 'x#y' {UUID_RULE}"),
    ],
    ids=[
        "lone-surrogate",
        "byte-not-utf8",
        "clear-screen",
        "delete",
        "nul-after-100-characters",
        "too-long",
        "blank",
        "none",
        "group-with-trailing-newline",
        "upper-case-group",
        "sender-handle",
        "sender-display-name",
        "sender-uuid",
    ],
)
def test_create_message_refuses_bad_text_before_any_request(client, table, repo_fixtures, sent, group, sender, text, expected):
    sent.clear()
    with pytest.raises(InvalidInput) as caught:
        messaging.create_message(client, TABLE, group, sender or repo_fixtures.users["mira"], text, now=NOW)
    assert str(caught.value) == expected
    assert sent == []


@pytest.mark.parametrize(
    "other, text, group, expected",
    [
        (bad_user(uuid=MIRA.upper(), handle="mira2"), "hello me", None, f"other.uuid: '{MIRA.upper()}' {UUID_RULE}"),
        (bad_user(uuid="b" * 8 + MIRA[8:], handle="Eve\n"), "hi", None, f"other.handle: 'Eve\\n' {HANDLE_RULE}"),
        (
            None,
            json.loads('"hi \\ud800"'),
            None,
            "message: 'hi \\ud800' holds a lone surrogate U+D800, which is not Unicode text and cannot be stored",
        ),
        (None, "\x1b]0;title\x07", None, "message: '\\x1b]0;title\\x07' holds the control character '\\x1b' at position 0"),
        (None, "hi", "x#y", f"message_group_uuid: 'x#y' {UUID_RULE}"),
    ],
    ids=["upper-cased-copy-of-own-uuid", "other-handle", "lone-surrogate", "terminal-title", "group-x#y"],
)
def test_create_conversation_refuses_bad_text_before_any_request(
    client, table, repo_fixtures, sent, other, text, group, expected
):
    sent.clear()
    with pytest.raises(InvalidInput) as caught:
        messaging.create_conversation(
            client,
            TABLE,
            repo_fixtures.users["mira"],
            other or repo_fixtures.users["lena"],
            text,
            now=NOW,
            message_group_uuid=group,
        )
    assert str(caught.value) == expected
    assert sent == []


def test_create_conversation_refuses_a_bad_sender_before_any_request(client, table, repo_fixtures, sent):
    sent.clear()
    with pytest.raises(InvalidInput) as caught:
        messaging.create_conversation(client, TABLE, bad_user(display_name="Mira\n"), repo_fixtures.users["lena"], "hi")
    assert str(caught.value) == "sender.display_name: 'Mira\\n' holds the control character '\\n' at position 4"
    assert sent == []


def test_a_message_with_line_feeds_and_tabs_is_stored_and_read_back_exactly(client, seeded):
    text = "Agenda:\n\t1. café ☕\n\t2. 日本語 👩‍👩‍👧"
    messaging.create_message(client, TABLE, MIRA_JUNE, seeded.users["june"], text, now=NOW)
    assert patterns.list_messages(client, TABLE, MIRA_JUNE, limit=1).items[-1]["message"] == text


# ------------------------------------------------------------------ fixtures


def test_a_bad_string_in_the_last_conversation_leaves_a_seeded_table_untouched(client, seeded, tmp_path):
    root = tmp_path / "fx"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("schema"))
    last = max((root / "conversations").glob("*.json"))
    document = json.loads(last.read_text(encoding="utf-8"))
    document["messages"][-1]["message"] = "hi \ud800"
    last.write_text(json.dumps(document), encoding="ascii")  # the surrogate travels as the JSON escape \ud800
    before = all_items(client)
    with pytest.raises(FixtureError) as caught:
        seeding.run(client, TABLE, seeding.plan(client, TABLE, fixtures.load(root), NOW))
    index = len(document["messages"]) - 1
    assert str(caught.value) == (
        f"{last}: messages[{index}].message: 'hi \\ud800' holds a lone surrogate U+D800, "
        "which is not Unicode text and cannot be stored"
    )
    assert all_items(client) == before


def test_a_symlink_inside_the_fixture_folder_is_followed(tmp_path):
    root = tmp_path / "fx"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("schema"))
    (root / "kept").mkdir()
    (root / "conversations" / "mira-june.json").rename(root / "kept" / "mira-june.json")
    (root / "conversations" / "mira-june.json").symlink_to(root / "kept" / "mira-june.json")
    assert len(fixtures.load(root).conversations) == 4


# ------------------------------------------------------------------ human output

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
GROUP = "0a0b0c0d-1111-4222-8333-444455556666"


def _stored_escapes():
    """A group item and a message whose stored text holds terminal escapes (written by another tool)."""
    sender: Any = SimpleNamespace(uuid="d1d2d3d4-1111-4222-8333-444455556666", handle=f"eve{CLEAR}", display_name=f"Eve{TITLE}")
    owner = User(MIRA, "mira", "Mira Okafor")
    at = iso_time(NOW)
    text = f"hello{TITLE}\n[/bold] not markup{CLEAR}\x9b"
    return group_item(owner, sender, GROUP, text, at), message_item(GROUP, GROUP, sender, text, at), text


def _shown_at_a_terminal(view) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=200, highlight=False).print(view)
    return out.getvalue()


def _assert_escaped(text: str):
    assert TITLE not in text and CLEAR not in text and "\x07" not in text and "\x9b" not in text
    assert "\\x1b]0;pwned\\x07" in text and "\\x1b[2J" in text and "\\x9b" in text


def test_stored_terminal_escapes_are_shown_escaped_by_every_human_view():
    group, message, _ = _stored_escapes()
    inbox = views.conversations_view(patterns.Page([{**group, "last_message_at": group["sk"]}], None), "mira")
    chat = views.chat_table(patterns.Page([{**message, "created_at": message["sk"]}], None), GROUP)
    for shown in (inbox.plain(), _shown_at_a_terminal(inbox), _shown_at_a_terminal(chat), " ".join(views.scan_row(message))):
        _assert_escaped(shown)
    assert "[/bold] not markup" in _shown_at_a_terminal(chat)
    assert "hello\\x1b]0;pwned\\x07\n  [/bold] not markup\\x1b[2J\\x9b\n" in inbox.plain()


def test_stored_terminal_escapes_never_reach_the_terminal_raw_and_json_stays_exact(engine, invoke):
    client = local_client(engine)
    schema.load(client, TABLE)
    group, message, text = _stored_escapes()
    for item in (group, message):
        client.put_item(TableName=TABLE, Item=to_typed(item))
    commands = [
        ["patterns.get-conversation", "--message-group-uuid", GROUP],
        ["patterns.list-conversations", "--handle", "mira"],
        ["scan"],
    ]
    for args in commands:
        piped = invoke(*args)
        assert piped.code == 0, piped
        _assert_escaped(piped.out)
        terminal = _run_at_a_terminal(engine, args)
        _assert_escaped(terminal)
    exact = invoke("patterns.get-conversation", "--message-group-uuid", GROUP, "--json")
    assert json.loads(exact.out)["items"][0]["message"] == text


def _run_at_a_terminal(endpoint, args) -> str:
    """What `invoke ARGS` writes to stdout when stdout is a terminal (a pseudo-terminal here)."""
    env = {**fake_aws_environment(), "INVOKE_DDB_ENDPOINT_URL": endpoint, "COLUMNS": "200"}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(60) == 0, process.communicate()[1]
    return re.sub(r"\x1b\[[0-9;]*m", "", output.decode("utf-8"))  # rich's own styling
