"""The bad-input corpus: every bad fixture set and bad command line is one clear line.

Each fixture case is a mutation of a copy of the repository's `fixtures/` (or a
directory built from nothing) and the exact line it must produce, with `{dir}` standing
for the fixture directory. Every case is checked twice:

- in the library: `fixtures.load(dir)` raises `FixtureError` with exactly that line;
- end to end: `invoke seed --fixtures DIR` (run in process, against the loopback moto
  server, on a table seeded with the repository's fixtures) exits 1, prints exactly
  `error: <line>` on stderr and nothing else, no traceback, and the table is item for
  item what it was.

Bad command lines (unknown handle or group, malformed cursor, missing or wrong table,
bad numbers) are checked end to end the same way.
"""

import functools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import astuple, dataclass

import boto3
import pytest

from ddb.app import patterns
from ddb.bulk.scan import scan_items
from ddb.core.errors import FixtureError, InvalidInput
from ddb.seed import fixtures

from .support import FIXTURES, TABLE, TaskRunner, free_port, reset_moto, seed_table

USERS = "users.json"
MIRA_JUNE = "conversations/mira-june.json"  # the 2nd of 4 files in sorted order
MIRA_TOMAS = "conversations/mira-tomas.json"  # the 3rd
MIRA_UUID = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
MIRA_TOMAS_GROUP = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
SOME_UUID = "11111111-2222-4333-8444-555555555555"
SEEDED_ITEMS = 112
RAVI_MIRA = "conversations/ravi-mira.json"  # the last file in sorted order
SECRET = "TOPSECRET-" * 8


# ------------------------------------------------------------------ mutations


def _walk(document, path):
    for step in path:
        document = document[step]
    return document


def edit(rel: str, change: Callable):
    """Rewrite the JSON file `rel` with `change(document)` (which may return a new document)."""

    def mutate(root):
        path = root / rel
        document = json.loads(path.read_text(encoding="utf-8"))
        changed = change(document)
        path.write_text(json.dumps(document if changed is None else changed, ensure_ascii=False, indent=2), encoding="utf-8")

    return mutate


def put(rel: str, path: tuple, value):
    """Set the value at `path` (keys and indexes) of file `rel`."""
    return edit(rel, lambda d: _walk(d, path[:-1]).__setitem__(path[-1], value))


def put_escaped(rel: str, path: tuple, value):
    """Like `put`, but the file spells non-ASCII as `\\u` escapes (how JSON carries a lone surrogate)."""

    def mutate(root):
        file = root / rel
        document = json.loads(file.read_text(encoding="utf-8"))
        _walk(document, path[:-1])[path[-1]] = value
        file.write_text(json.dumps(document, indent=2), encoding="ascii")

    return mutate


def symlink_out(rel: str):
    """Make file `rel` a symlink to a file outside the fixture folder, holding a secret."""

    def mutate(root):
        secret = root.parent / "secret.json"
        secret.write_text(json.dumps(SECRET), encoding="utf-8")
        (root / rel).unlink()
        (root / rel).symlink_to(secret)

    return mutate


def nested(depth: int):
    return json.loads("[" * depth + "]" * depth)


def remove(rel: str, path: tuple):
    """Delete the key at `path` of file `rel`."""
    return edit(rel, lambda d: _walk(d, path[:-1]).__delitem__(path[-1]))


def write(rel: str, content):
    """Replace file `rel` with this text or these bytes."""

    def mutate(root):
        (root / rel).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return mutate


def replace(rel: str, old: str, new: str):
    """Replace the first `old` in the text of file `rel` (for edits json.dumps cannot make)."""

    def mutate(root):
        text = (root / rel).read_text(encoding="utf-8")
        assert old in text, (rel, old)
        (root / rel).write_text(text.replace(old, new, 1), encoding="utf-8")

    return mutate


def both(*mutations):
    def mutate(root):
        for mutation in mutations:
            mutation(root)

    return mutate


def _no_conversation_files(root):
    for path in (root / "conversations").glob("*.json"):
        path.unlink()


def _empty_directory(root):
    shutil.rmtree(root)
    root.mkdir()


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable
    expected: str  # the exact message, `{dir}` standing for the fixture directory

    def message(self, root) -> str:
        return self.expected.replace("{dir}", str(root))


CONV = "{dir}/" + MIRA_JUNE
USR = "{dir}/" + USERS

CASES = [
    # broken JSON, wrong encodings, empty files
    Case("broken-json-users", write(USERS, '[{"uuid": '), f"{USR}: line 1 column 11: invalid JSON: Expecting value"),
    Case(
        "broken-json-conversation",
        write(MIRA_JUNE, '{"message_group_uuid": "x",}'),
        f"{CONV}: line 1 column 28: invalid JSON: Expecting property name enclosed in double quotes",
    ),
    Case(
        "two-documents-in-a-file",
        write(MIRA_JUNE, '{"between": ["mira", "june"]}\n{"messages": []}\n'),
        f"{CONV}: line 2 column 1: invalid JSON: Extra data",
    ),
    Case(
        "non-utf8-file",
        write(MIRA_JUNE, '{\n  "between": ["mira", "Jüne"]\n}\n'.encode("latin-1")),
        f"{CONV}: line 2 column 25: byte 0xfc is not UTF-8: save the file as UTF-8",
    ),
    Case("empty-users-file", write(USERS, ""), f"{USR}: top level: the file is empty, expected JSON"),
    Case("blank-conversation-file", write(MIRA_JUNE, "  \n"), f"{CONV}: top level: the file is empty, expected JSON"),
    Case(
        "key-given-twice",
        replace(MIRA_JUNE, '"from": "june",', '"from": "june", "from": "ravi",'),
        f"{CONV}: messages[1].from: is given twice in one object: keep one",
    ),
    # wrong types
    Case("users-top-level-object", edit(USERS, lambda d: {"users": d}), f"{USR}: top level: expected an array, found an object"),
    Case(
        "conversation-top-level-array", edit(MIRA_JUNE, lambda d: [d]), f"{CONV}: top level: expected an object, found an array"
    ),
    Case("user-entry-a-string", put(USERS, (1,), "tomas"), f'{USR}: [1]: expected an object, found the string "tomas"'),
    Case(
        "minutes-ago-string",
        put(MIRA_JUNE, ("messages", 2, "minutes_ago"), "285"),
        f'{CONV}: messages[2].minutes_ago: expected an integer, found the string "285"',
    ),
    Case(
        "minutes-ago-float",
        put(MIRA_JUNE, ("messages", 2, "minutes_ago"), 285.5),
        f"{CONV}: messages[2].minutes_ago: expected an integer, found the number 285.5",
    ),
    Case(
        "minutes-ago-bool",
        put(MIRA_JUNE, ("messages", 2, "minutes_ago"), True),
        f"{CONV}: messages[2].minutes_ago: expected an integer, found the boolean true",
    ),
    Case(
        "message-a-number",
        put(MIRA_JUNE, ("messages", 2, "message"), 42),
        f"{CONV}: messages[2].message: expected a string, found the integer 42",
    ),
    Case(
        "message-null",
        put(MIRA_JUNE, ("messages", 2, "message"), None),
        f"{CONV}: messages[2].message: expected a string, found null",
    ),
    Case(
        "between-a-string",
        put(MIRA_JUNE, ("between",), "mira,june"),
        f'{CONV}: between: expected an array, found the string "mira,june"',
    ),
    Case(
        "messages-an-object",
        put(MIRA_JUNE, ("messages",), {"from": "mira"}),
        f"{CONV}: messages: expected an array, found an object",
    ),
    # missing fields
    *[
        Case(f"missing-{field}", remove(MIRA_JUNE, (field,)), f"{CONV}: {field}: is required but missing")
        for field in ("message_group_uuid", "between", "messages")
    ],
    *[
        Case(
            f"missing-message-{field}",
            remove(MIRA_JUNE, ("messages", 1, field)),
            f"{CONV}: messages[1].{field}: is required but missing",
        )
        for field in ("from", "minutes_ago", "message")
    ],
    *[
        Case(f"missing-user-{field}", remove(USERS, (2, field)), f"{USR}: [2].{field}: is required but missing")
        for field in ("uuid", "handle", "display_name")
    ],
    # extra fields
    Case(
        "extra-conversation-field",
        put(MIRA_JUNE, ("title",), "code review"),
        f"{CONV}: title: unknown field: the known fields are message_group_uuid, between, messages",
    ),
    Case(
        "extra-message-field",
        put(MIRA_JUNE, ("messages", 1, "sent_at"), "2026-11-25T12:00:00Z"),
        f"{CONV}: messages[1].sent_at: unknown field: the known fields are from, minutes_ago, message, message_uuid",
    ),
    Case(
        "extra-user-field",
        put(USERS, (1, "email"), "tomas@example.com"),
        f"{USR}: [1].email: unknown field: the known fields are uuid, handle, display_name",
    ),
    # handles and senders
    Case(
        "between-handle-not-in-users",
        put(MIRA_JUNE, ("between", 1), "nobody"),
        f"{CONV}: between[1]: handle 'nobody' is not in users.json",
    ),
    Case(
        "from-handle-not-in-users",
        put(MIRA_JUNE, ("messages", 1, "from"), "nobody"),
        f"{CONV}: messages[1].from: 'nobody' is not one of the conversation's users ['mira', 'june']",
    ),
    Case(
        "sender-outside-conversation",
        put(MIRA_JUNE, ("messages", 1, "from"), "ravi"),
        f"{CONV}: messages[1].from: 'ravi' is not one of the conversation's users ['mira', 'june']",
    ),
    Case(
        "conversation-with-themself",
        put(MIRA_JUNE, ("between",), ["mira", "mira"]),
        f"{CONV}: between: names the same handle twice: a conversation needs two different users",
    ),
    Case("between-one-handle", put(MIRA_JUNE, ("between",), ["mira"]), f"{CONV}: between: has 1 entry: needs at least 2 entries"),
    Case(
        "between-three-handles",
        put(MIRA_JUNE, ("between",), ["mira", "june", "ravi"]),
        f"{CONV}: between: has 3 entries: at most 2 entries allowed",
    ),
    Case(
        "handle-not-a-handle",
        put(USERS, (1, "handle"), "Tomas L"),
        f'{USR}: [1].handle: "Tomas L" is not a handle (1-32 of a-z, 0-9, _)',
    ),
    Case(
        "handle-with-accent",
        put(USERS, (1, "handle"), "tomás"),
        f'{USR}: [1].handle: "tomás" is not a handle (1-32 of a-z, 0-9, _)',
    ),
    Case("blank-display-name", put(USERS, (1, "display_name"), " "), f'{USR}: [1].display_name: " " is blank'),
    # duplicates
    Case(
        "duplicate-user-uuid", put(USERS, (3, "uuid"), MIRA_UUID), f"{USR}: [3].uuid: {MIRA_UUID} is already the uuid of 'mira'"
    ),
    Case("duplicate-handle", put(USERS, (3, "handle"), "mira"), f"{USR}: [3].handle: 'mira' is already the handle of [0]"),
    Case(
        "duplicate-group-across-files",
        put(MIRA_JUNE, ("message_group_uuid",), MIRA_TOMAS_GROUP),
        f"{{dir}}/{MIRA_TOMAS}: message_group_uuid: {MIRA_TOMAS_GROUP} is already used by {CONV}",
    ),
    Case(
        "duplicate-message-uuid-in-a-file",
        both(
            put(MIRA_JUNE, ("messages", 1, "message_uuid"), SOME_UUID), put(MIRA_JUNE, ("messages", 4, "message_uuid"), SOME_UUID)
        ),
        f"{CONV}: messages[4].message_uuid: {SOME_UUID} is already used by messages[1] of {CONV}",
    ),
    Case(
        "duplicate-message-uuid-across-files",
        both(
            put(MIRA_JUNE, ("messages", 0, "message_uuid"), SOME_UUID),
            put(MIRA_TOMAS, ("messages", 5, "message_uuid"), SOME_UUID),
        ),
        f"{{dir}}/{MIRA_TOMAS}: messages[5].message_uuid: {SOME_UUID} is already used by messages[0] of {CONV}",
    ),
    # message text
    Case("empty-message", put(MIRA_JUNE, ("messages", 2, "message"), ""), f"{CONV}: messages[2].message: is empty"),
    Case(
        "whitespace-message",
        put(MIRA_JUNE, ("messages", 2, "message"), "  \n\t "),
        f'{CONV}: messages[2].message: "  \\n\\t " is blank',
    ),
    Case(
        "oversize-message",
        put(MIRA_JUNE, ("messages", 2, "message"), "x" * 4097),
        f"{CONV}: messages[2].message: is 4097 characters long, more than the limit of 4096",
    ),
    Case("empty-messages", put(MIRA_JUNE, ("messages",), []), f"{CONV}: messages: is empty: needs at least 1 entry"),
    Case("empty-users", edit(USERS, lambda d: []), f"{USR}: top level: is empty: needs at least 1 entry"),
    # uuids
    Case(
        "upper-case-uuid",
        put(MIRA_JUNE, ("message_group_uuid",), "248665FC-A3A4-41BD-B3B4-81B49C46262B"),
        f'{CONV}: message_group_uuid: "248665FC-A3A4-41BD-B3B4-81B49C46262B" is not a lower-case canonical UUID',
    ),
    Case(
        "user-uuid-not-a-uuid",
        put(USERS, (0, "uuid"), "mira-uuid"),
        f'{USR}: [0].uuid: "mira-uuid" is not a lower-case canonical UUID',
    ),
    Case(
        "message-uuid-without-dashes",
        put(MIRA_JUNE, ("messages", 0, "message_uuid"), SOME_UUID.replace("-", "")),
        f'{CONV}: messages[0].message_uuid: "{SOME_UUID.replace("-", "")}" is not a lower-case canonical UUID',
    ),
    # minutes_ago
    Case(
        "negative-minutes-ago",
        put(MIRA_JUNE, ("messages", 3, "minutes_ago"), -1),
        f"{CONV}: messages[3].minutes_ago: -1 is less than the minimum of 0",
    ),
    Case(
        "minutes-ago-beyond-ten-years",
        put(MIRA_JUNE, ("messages", 3, "minutes_ago"), 10**9),
        f"{CONV}: messages[3].minutes_ago: 1000000000 is greater than the maximum of 5256000",
    ),
    Case(
        "minutes-ago-out-of-order",
        put(MIRA_JUNE, ("messages", 3, "minutes_ago"), 299),
        f"{CONV}: messages[3].minutes_ago: 299 is earlier than the message before it (285): list messages oldest first",
    ),
    # text the table cannot hold or the contract does not allow
    Case(
        "lone-surrogate-in-message",
        put_escaped(MIRA_JUNE, ("messages", 2, "message"), "hi \ud800"),
        f"{CONV}: messages[2].message: 'hi \\ud800' holds a lone surrogate U+D800, which is not Unicode text and cannot be stored",
    ),
    Case(
        "lone-surrogate-in-the-last-conversation",
        put_escaped(RAVI_MIRA, ("messages", 7, "message"), "caf\udce9"),
        f"{{dir}}/{RAVI_MIRA}: messages[7].message: 'caf\\udce9' holds the byte 0xe9, which is not UTF-8: give UTF-8 text",
    ),
    Case(
        "terminal-title-escape-in-message",
        put(MIRA_JUNE, ("messages", 2, "message"), "\x1b]0;pwned\x07hello"),
        f"{CONV}: messages[2].message: '\\x1b]0;pwned\\x07hello' holds the control character '\\x1b' at position 0",
    ),
    Case(
        "c1-control-in-message",
        put(MIRA_JUNE, ("messages", 2, "message"), "clear \x9b2J"),
        f"{CONV}: messages[2].message: 'clear \\x9b2J' holds the control character '\\x9b' at position 6",
    ),
    Case(
        "carriage-return-in-message",
        put(MIRA_JUNE, ("messages", 2, "message"), "line\r\nbreak"),
        f"{CONV}: messages[2].message: 'line\\r\\nbreak' holds the control character '\\r' at position 4",
    ),
    Case(
        "handle-with-trailing-newline",
        put(USERS, (4, "handle"), "eve\n"),
        f'{USR}: [4].handle: "eve\\n" is not a handle (1-32 of a-z, 0-9, _)',
    ),
    Case(
        "between-handle-with-trailing-newline",
        put(MIRA_JUNE, ("between", 1), "june\n"),
        f'{CONV}: between[1]: "june\\n" is not a handle (1-32 of a-z, 0-9, _)',
    ),
    Case(
        "handle-a-lone-surrogate",
        put_escaped(USERS, (4, "handle"), "\ud800"),
        f'{USR}: [4].handle: "\\ud800" is not a handle (1-32 of a-z, 0-9, _)',
    ),
    Case(
        "uuid-with-trailing-newline",
        put(MIRA_JUNE, ("message_group_uuid",), "248665fc-a3a4-41bd-b3b4-81b49c46262b\n"),
        f'{CONV}: message_group_uuid: "248665fc-a3a4-41bd-b3b4-81b49c46262b\\n" is not a lower-case canonical UUID',
    ),
    Case(
        "display-name-with-escape",
        put(USERS, (1, "display_name"), "Tomás\x1b[2J"),
        f"{USR}: [1].display_name: 'Tomás\\x1b[2J' holds the control character '\\x1b' at position 5",
    ),
    Case(
        "display-name-on-two-lines",
        put(USERS, (1, "display_name"), "Tomás\nLindqvist"),
        f"{USR}: [1].display_name: 'Tomás\\nLindqvist' holds the control character '\\n' at position 5",
    ),
    Case(
        "display-name-a-lone-surrogate",
        put_escaped(USERS, (1, "display_name"), "T\udfff"),
        f"{USR}: [1].display_name: 'T\\udfff' holds a lone surrogate U+DFFF, which is not Unicode text and cannot be stored",
    ),
    Case(
        "unknown-field-with-escape-and-a-long-name",
        put(MIRA_JUNE, ("\x1b[2J" + "x" * 500,), 1),
        f"{CONV}: \\x1b[2J{'x' * 36}…: unknown field: the known fields are message_group_uuid, between, messages",
    ),
    # hostile files
    Case(
        "nested-200000-deep",
        write(MIRA_JUNE, "[" * 200_000 + "]" * 200_000),
        f"{CONV}: top level: nested more than 64 levels deep: a fixture file has 4",
    ),
    Case(
        "nested-100-deep-in-a-display-name",
        put(USERS, (1, "display_name"), nested(100)),
        f"{USR}: top level: nested more than 64 levels deep: a fixture file has 4",
    ),
    Case(
        "integer-of-5000-digits",
        replace(MIRA_JUNE, '"minutes_ago": 300', '"minutes_ago": ' + "9" * 5000),
        f"{CONV}: top level: invalid JSON: Exceeds the limit (4300 digits) for integer string conversion",
    ),
    Case(
        "integer-of-4000-digits",
        replace(MIRA_JUNE, '"minutes_ago": 300', '"minutes_ago": ' + "9" * 4000),
        f"{CONV}: messages[0].minutes_ago: {'9' * 60} is greater than the maximum of 5256000",
    ),
    Case(
        "conversation-symlinked-out-of-the-folder",
        symlink_out(MIRA_JUNE),
        f"{CONV}: is a symlink that leads out of the fixture folder {{dir}}: copy the file into it instead",
    ),
    Case(
        "users-symlinked-out-of-the-folder",
        symlink_out(USERS),
        f"{USR}: is a symlink that leads out of the fixture folder {{dir}}: copy the file into it instead",
    ),
    # directories
    Case("missing-directory", shutil.rmtree, "{dir}: fixture directory does not exist"),
    Case("directory-is-a-file", both(shutil.rmtree, lambda root: root.write_text("[]")), "{dir}: is not a directory"),
    Case("empty-directory", _empty_directory, "{dir}/users.json: missing: a fixture directory needs users.json"),
    Case("no-conversation-files", _no_conversation_files, "{dir}/conversations: no conversation files (*.json) to seed"),
    Case(
        "no-conversations-directory",
        lambda root: shutil.rmtree(root / "conversations"),
        "{dir}/conversations: no conversation files (*.json) to seed",
    ),
]

# Each `invoke` run costs a fraction of a second, so by default a spread of the corpus,
# at least one case of every kind, also runs end to end; BAD_INPUT_ALL_E2E=1 runs all of them.
END_TO_END = [
    "broken-json-conversation",
    "non-utf8-file",
    "key-given-twice",
    "users-top-level-object",
    "minutes-ago-string",
    "missing-message-from",
    "extra-message-field",
    "between-handle-not-in-users",
    "sender-outside-conversation",
    "conversation-with-themself",
    "duplicate-group-across-files",
    "duplicate-message-uuid-in-a-file",
    "oversize-message",
    "handle-with-accent",
    "negative-minutes-ago",
    "missing-directory",
    "no-conversation-files",
    "lone-surrogate-in-the-last-conversation",
    "handle-with-trailing-newline",
    "nested-200000-deep",
    "conversation-symlinked-out-of-the-folder",
]
# `invoke setup` must stop on a bad fixture before it drops the table.
THROUGH_SETUP = ["broken-json-users", "duplicate-message-uuid-across-files", "empty-directory"]


def _by_name(names):
    return [case for case in CASES if case.name in names]


def build(case: Case, tmp_path):
    root = tmp_path / "fx"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("schema"))
    case.mutate(root)
    return root


def test_the_corpus_is_big_and_every_case_is_distinct():
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)
    messages = [c.expected for c in CASES if not c.name.startswith("no-conversation")]
    assert len(set(messages)) == len(messages)
    assert set(END_TO_END + THROUGH_SETUP) <= {c.name for c in CASES}
    assert len(END_TO_END) >= 15


def test_the_unmutated_copy_is_valid(tmp_path):
    root = build(Case("none", lambda root: None, ""), tmp_path)
    assert len(fixtures.load(root).conversations) == 4


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_library_refuses_with_the_exact_line(case, tmp_path):
    root = build(case, tmp_path)
    with pytest.raises(FixtureError) as caught:
        fixtures.load(root)
    assert str(caught.value) == case.message(root)
    assert "\n" not in str(caught.value)


def test_a_byte_order_mark_is_accepted(tmp_path):
    root = build(Case("bom", write(USERS, b"\xef\xbb\xbf" + (FIXTURES / USERS).read_bytes()), ""), tmp_path)
    assert len(fixtures.load(root).users) == 5


# ------------------------------------------------------------------ end to end


@functools.cache
def _client(endpoint):
    return boto3.client(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local", aws_secret_access_key="local"
    )


def _items(client, table=TABLE):
    return list(scan_items(client, table))


@pytest.fixture
def seeded_engine(moto_server):
    """The session's moto server holding the seeded table, and its items as seeded.

    Seeded once, again only if another test wiped it: every refusal leaves it as it was.
    """
    client = _client(moto_server)
    try:
        count = client.scan(TableName=TABLE, Select="COUNT")["Count"]
    except client.exceptions.ResourceNotFoundException:
        count = None
    if count != SEEDED_ITEMS or moto_server not in _SEEDED:
        reset_moto(moto_server)
        seed_table(client)
        _SEEDED[moto_server] = _items(client)
    return moto_server, _SEEDED[moto_server]


_SEEDED: dict[str, list[dict]] = {}  # endpoint -> its items as seeded


@pytest.fixture
def refused(seeded_engine, tmp_path):
    """Run a command that must be refused: exit 1, exactly `error: <expected>`, no traceback, table untouched."""
    endpoint, before = seeded_engine
    client = _client(endpoint)
    run_task = TaskRunner(endpoint, free_port(), tmp_path / "state")

    def check(args, expected, env=None, code=1):
        assert len(before) == SEEDED_ITEMS
        run_code, out, err = astuple(run_task(*args, env=env))
        expected = expected.replace("{endpoint}", endpoint)
        assert "Traceback" not in out + err
        assert (run_code, err) == (code, f"error: {expected}\n" if code else f"{expected}\n"), out
        assert out == ""
        assert _items(client) == before, "the table changed"
        assert client.list_tables()["TableNames"] == [TABLE]

    return check


@pytest.mark.parametrize("case", CASES if os.environ.get("BAD_INPUT_ALL_E2E") else _by_name(END_TO_END), ids=lambda c: c.name)
def test_seed_refuses_end_to_end_and_writes_nothing(case, tmp_path, refused):
    root = build(case, tmp_path)
    refused(["seed", "--fixtures", str(root)], case.message(root))


@pytest.mark.parametrize("case", _by_name(THROUGH_SETUP), ids=lambda c: c.name)
def test_setup_refuses_before_dropping_the_table(case, tmp_path, refused):
    root = build(case, tmp_path)
    refused(["setup", "--fixtures", str(root)], case.message(root))


# ------------------------------------------------------------------ bad command lines

MISSING_TABLE = "table 'nope' does not exist in us-east-1 at {endpoint}: create it with `invoke schema-load` (or `invoke setup`)"
UNKNOWN_GROUP = "0b1d2c3e-5f60-4718-8a9b-0c1d2e3f4a5b"
LIMIT = "--limit must be a whole number from 1 to 1000, not {!r}"
LONG_GROUP = "3364f717-" * 333 + "abc"
LONG_GROUP_LINE = f"message_group_uuid: {LONG_GROUP[:40]!r}… is not a lower-case canonical UUID"
OTHER_QUERY_CURSOR = patterns.encode_cursor(f"MSG#{MIRA_TOMAS_GROUP}", "2026-11-25T16:20:00.000000+00:00")

COMMAND_LINES = [
    (
        "unknown-handle",
        ["patterns.list-conversations", "--handle", "nobody"],
        None,
        "unknown handle 'nobody': not in fixtures/users.json, and no conversation of table 'cruddur-messages' names them; "
        "pass --user-uuid if you know the uuid",
    ),
    (
        "unknown-group",
        ["patterns.get-conversation", "--message-group-uuid", UNKNOWN_GROUP],
        None,
        f"no conversation {UNKNOWN_GROUP} in table 'cruddur-messages': check the uuid with `invoke patterns.list-conversations`",
    ),
    (
        "group-not-a-uuid",
        ["patterns.get-conversation", "--message-group-uuid", "mira-tomas"],
        None,
        "message_group_uuid: 'mira-tomas' is not a lower-case canonical UUID",
    ),
    ("group-of-3000-characters", ["patterns.get-conversation", "--message-group-uuid", LONG_GROUP], None, LONG_GROUP_LINE),
    (
        "group-of-3000-characters-to-write-into",
        ["patterns.create-message", "--message-group-uuid", LONG_GROUP, "--message", "hi"],
        None,
        LONG_GROUP_LINE,
    ),
    (
        "cursor-of-3000-characters",
        ["patterns.list-conversations", "--cursor", "?" * 3000],
        None,
        f"malformed cursor {'?' * 40!r}: pass the next_cursor value of a previous page unchanged",
    ),
    (
        "malformed-cursor",
        ["patterns.get-conversation", "--cursor", "nonsense"],
        None,
        "malformed cursor 'nonsense': pass the next_cursor value of a previous page unchanged",
    ),
    (
        "cursor-of-another-query",
        ["patterns.list-conversations", "--cursor", OTHER_QUERY_CURSOR],
        None,
        f"cursor {OTHER_QUERY_CURSOR[:40]!r} belongs to another query: start again without --cursor",
    ),
    ("wrong-table-scan", ["scan"], {"INVOKE_DDB_TABLE": "nope"}, MISSING_TABLE),
    ("wrong-table-list-conversations", ["patterns.list-conversations"], {"INVOKE_DDB_TABLE": "nope"}, MISSING_TABLE),
    ("wrong-table-seed", ["seed"], {"INVOKE_DDB_TABLE": "nope"}, MISSING_TABLE),
    ("limit-zero", ["patterns.list-conversations", "--limit", "0"], None, LIMIT.format("0")),
    ("limit-not-a-number", ["patterns.list-conversations", "--limit", "ten"], None, LIMIT.format("ten")),
    ("limit-negative", ["patterns.get-conversation", "--limit=-3"], None, LIMIT.format("-3")),
    ("scan-limit-not-a-number", ["scan", "--limit", "abc"], None, "--limit must be a whole number of at least 1, not 'abc'"),
    ("writers-not-a-number", ["seed", "--writers", "many"], None, "--writers must be a whole number of at least 1, not 'many'"),
    (
        "users-directory-missing",  # the table is asked instead, and does not know the handle either
        ["patterns.list-conversations", "--handle", "nobody"],
        {"INVOKE_DDB_FIXTURES": "/nonexistent"},
        "unknown handle 'nobody': not in /nonexistent/users.json, and no conversation of table 'cruddur-messages' names them; "
        "pass --user-uuid if you know the uuid",
    ),
    (
        "empty-table-name",
        ["drop", "--table", ""],
        None,
        "table name '' is not valid: DynamoDB takes 3-255 characters of a-z A-Z 0-9 _ . -",
    ),
    (
        "short-table-name",
        ["scan"],
        {"INVOKE_DDB_TABLE": "ab"},
        "table name 'ab' is not valid: DynamoDB takes 3-255 characters of a-z A-Z 0-9 _ . -",
    ),
    (
        "bad-billing",
        ["schema-load"],
        {"INVOKE_DDB_BILLING": "free"},
        "billing must be PROVISIONED or PAY_PER_REQUEST, not 'free'",
    ),
    (
        "bad-engine-port",
        ["local.status"],
        {"INVOKE_DDB_ENGINE_PORT": "abc"},
        "ddb.engine_port must be a whole number from 1 to 65535, not 'abc'",
    ),
    (
        "bad-read-timeout",
        ["scan"],
        {"INVOKE_DDB_READ_TIMEOUT": "soon"},
        "ddb.read_timeout must be a number of seconds above 0, not 'soon'",
    ),
    # `--message $'caf\xe9'` from a shell: Python carries the byte that is not UTF-8 as a lone surrogate
    (
        "message-not-utf8",
        ["patterns.create-message", "--message-group-uuid", MIRA_TOMAS_GROUP, "--message", "caf\udce9"],
        None,
        "message: 'caf\\udce9' holds the byte 0xe9, which is not UTF-8: give UTF-8 text",
    ),
    (
        "message-with-terminal-escape",
        ["patterns.create-conversation", "--with", "lena", "--message", "\x1b[2Jhi"],
        None,
        "message: '\\x1b[2Jhi' holds the control character '\\x1b' at position 0",
    ),
]


@pytest.mark.parametrize("args, env, expected", [c[1:] for c in COMMAND_LINES], ids=[c[0] for c in COMMAND_LINES])
def test_a_bad_command_line_is_one_line_exit_1_and_touches_nothing(refused, args, env, expected):
    refused(args, expected, env=env)


def test_drop_of_a_wrong_table_name_is_a_clear_no_op(refused):
    refused(["drop", "--table", "nope"], "table 'nope': not there, nothing to delete", code=0)
    refused(
        ["drop", "--table", "nope", "--dry-run"], "dry run: would skip (no such table) local table 'nope' at {endpoint}", code=0
    )


@pytest.mark.each_engine  # the engine's answer for a missing table becomes the line
def test_a_missing_table_is_one_line_for_every_reading_task_and_seed_creates_nothing(invoke, engine):
    expected = f"error: table 'cruddur-messages' does not exist in us-east-1 at {engine}: create it with `invoke schema-load` (or `invoke setup`)\n"
    for args in (["scan"], ["scan", "--json"], ["patterns.list-conversations"], ["patterns.get-conversation"], ["seed"]):
        run = invoke(*args)
        assert "Traceback" not in run.out + run.err
        assert (run.code, run.err, run.out) == (1, expected, ""), args
    assert _client(engine).list_tables()["TableNames"] == []


@pytest.mark.parametrize(
    "flag, value, high, expected",
    [
        ("--limit", "", 1000, LIMIT.format("")),
        ("--limit", "1001", 1000, LIMIT.format("1001")),
        ("--limit", "2.5", 1000, LIMIT.format("2.5")),
        ("--limit", "0x10", 1000, LIMIT.format("0x10")),
        ("--limit", "0", None, "--limit must be a whole number of at least 1, not '0'"),
        ("--writers", "-1", None, "--writers must be a whole number of at least 1, not '-1'"),
    ],
)
def test_number_flags_are_refused_in_one_line(flag, value, high, expected):
    from commands import flags

    with pytest.raises(InvalidInput) as caught:
        flags.whole_number(flag, value, 20, high=high)
    assert str(caught.value) == expected


def test_number_flags_take_whole_numbers_and_defaults():
    from commands import flags

    assert flags.whole_number("--limit", "7", 20, high=1000) == 7
    assert flags.whole_number("--limit", None, 20, high=1000) == 20
    assert flags.whole_number("--limit", "1000", 20, high=1000) == 1000


@pytest.mark.parametrize("limit", [0, -1, 1001, "5", True, None])
def test_the_library_refuses_a_bad_limit_as_a_ddb_error(limit):
    with pytest.raises(InvalidInput) as caught:
        patterns.list_messages(None, TABLE, MIRA_TOMAS_GROUP, limit)
    assert str(caught.value) == f"limit must be a whole number from 1 to 1000, not {limit!r}"
