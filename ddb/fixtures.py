"""Reading and validating a fixture directory (`ddb.stamping` turns it into table items).

`load(dir)` reads `users.json` and `conversations/*.json`, checks every file against
its JSON Schema, the library's text rules (`ddb.validate`) and the cross-file rules,
and raises one `FixtureError` line (`file: place: problem`) before anything could be
written. `ddb.stamping` then makes the items with times relative to one `now`.
"""

import hashlib
import json
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import contract, validate
from .errors import FixtureError, NotFound
from .items import User
from .quickschema import plainly_valid

# Namespace for deriving message uuids that a fixture does not give.
_MESSAGE_NAMESPACE = uuidlib.UUID("6f1c3c1e-2b7a-4f0e-9a55-3d2f1b8c7e10")


def derived_message_uuid(group: str, index: int) -> str:
    """uuid5(_MESSAGE_NAMESPACE, "group/index"), the uuid of a message given none, at a quarter of uuid5's cost."""
    digest = bytearray(hashlib.sha1(_MESSAGE_NAMESPACE.bytes + f"{group}/{index}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


# Fixture files nest 4 levels; anything far deeper is refused before a recursive check could overflow.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Message:
    sender: str  # handle
    minutes_ago: int
    text: str
    message_uuid: str


@dataclass(frozen=True)
class Conversation:
    """One fixture conversation, validated."""

    source: str  # the file it came from, for messages
    message_group_uuid: str
    between: tuple[str, str]
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Fixtures:
    """A validated fixture directory."""

    users: dict[str, User]  # by handle
    conversations: tuple[Conversation, ...]

    @property
    def conversation_count(self) -> int:
        return len(self.conversations)

    @property
    def message_count(self) -> int:
        return sum(len(c.messages) for c in self.conversations)

    def user(self, handle: str) -> User:
        """The user with this handle, or NotFound naming the known handles."""
        return find_user(self.users, handle)


def find_user(users: dict[str, User], handle: str) -> User:
    """The user with this handle, or NotFound naming the handles users.json knows."""
    try:
        return users[handle]
    except KeyError:
        known = ", ".join(sorted(users))
        raise NotFound(f"unknown handle {handle!r}: users.json knows {known}") from None


class _KeyTwice(dict):
    """A JSON object that names a key twice (plain JSON would silently keep the last)."""

    key = ""


def _object(pairs: list[tuple[str, Any]]):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            twice = _KeyTwice(pairs)
            twice.key = key
            return twice
        seen.add(key)
    return dict(pairs)


def _key_twice(node: Any, path: tuple[str | int, ...] = ()):
    """The path of the first key given twice in one object, or None."""
    if isinstance(node, _KeyTwice):
        return (*path, node.key)
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for step, child in children:
        found = _key_twice(child, (*path, step))
        if found:
            return found
    return None


def _depth_exceeds(document: Any, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` deep (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _inside(path: Path, root: Path, shown: str):
    """Refuse a file that leads, through a symlink, out of the fixture folder: it is never read."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise FixtureError(f"{shown}: is a symlink that leads out of the fixture folder {root}: copy the file into it instead")


def _require(problem: str | None, shown: str, place: str):
    """The library's own text rules (validate), as one fixture line naming file and place."""
    if problem:
        raise FixtureError(f"{shown}: {place}: {problem}")


def _read_bytes(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"{shown}: cannot read: {exc.strerror}") from None


def _read_json(path: Path, shown: str, schema_name: str):
    return _parse(_read_bytes(path, shown), shown, schema_name)


def _parse(raw: bytes, shown: str, schema_name: str):
    """The JSON document in `raw`, refused in one line when it is not UTF-8, not JSON, too deep, names a key twice
    or breaks the JSON Schema `schema_name`."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a byte order mark is allowed (RFC 8259)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise FixtureError(
            f"{shown}: line {line} column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8: save the file as UTF-8"
        ) from None
    if not text.strip():
        raise FixtureError(f"{shown}: top level: the file is empty, expected JSON")
    too_deep = f"{shown}: top level: nested more than {MAX_DEPTH} levels deep: a fixture file has 4"
    try:
        document = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{shown}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise FixtureError(too_deep) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise FixtureError(f"{shown}: top level: invalid JSON: {str(exc).split(':')[0]}") from None
    if plainly_valid(contract.schema(schema_name), document):
        # The common case, checked once: a document that keeps the schema is 4 levels deep at most
        # and names no key twice (an object that does is no plain dict to quickschema).
        return document
    if _depth_exceeds(document, MAX_DEPTH):
        raise FixtureError(too_deep)
    twice = _key_twice(document)
    if twice:
        raise FixtureError(f"{shown}: {contract.location(twice)}: is given twice in one object: keep one")
    _check(schema_name, document, shown)
    return document


def _check(schema_name: str, document: Any, shown: str):
    problem = contract.first_problem(schema_name, document)
    if problem:
        raise FixtureError(f"{shown}: {problem}")


def _load_users(path: Path, shown: str) -> dict[str, User]:
    document = _read_json(path, shown, "users")
    users: dict[str, User] = {}
    seen_uuids: dict[str, str] = {}  # uuid -> handle
    seen_handles: dict[str, int] = {}  # handle -> index
    for index, entry in enumerate(document):
        _require(validate.uuid_problem(entry["uuid"]), shown, f"[{index}].uuid")
        _require(validate.handle_problem(entry["handle"]), shown, f"[{index}].handle")
        _require(validate.display_name_problem(entry["display_name"]), shown, f"[{index}].display_name")
        if entry["handle"] in seen_handles:
            raise FixtureError(
                f"{shown}: [{index}].handle: {entry['handle']!r} is already the handle of [{seen_handles[entry['handle']]}]"
            )
        seen_handles[entry["handle"]] = index
        if entry["uuid"] in seen_uuids:
            raise FixtureError(f"{shown}: [{index}].uuid: {entry['uuid']} is already the uuid of {seen_uuids[entry['uuid']]!r}")
        seen_uuids[entry["uuid"]] = entry["handle"]
        users[entry["handle"]] = User(entry["uuid"], entry["handle"], entry["display_name"])
    return users


def _conversation(document: Any, shown: str, users: dict[str, User]) -> Conversation:
    """A conversation file parsed and checked against its schema (`_parse`), checked against the text rules."""
    _require(validate.uuid_problem(document["message_group_uuid"]), shown, "message_group_uuid")
    between = tuple(document["between"])
    for index, handle in enumerate(between):
        _require(validate.handle_problem(handle), shown, f"between[{index}]")
        if handle not in users:
            raise FixtureError(f"{shown}: between[{index}]: handle {handle!r} is not in users.json")
    group = document["message_group_uuid"]
    messages, previous = [], None
    for index, entry in enumerate(document["messages"]):
        place = f"{shown}: messages[{index}]"
        _require(validate.handle_problem(entry["from"]), shown, f"messages[{index}].from")
        _require(validate.text_problem(entry["message"]), shown, f"messages[{index}].message")
        if "message_uuid" in entry:
            _require(validate.uuid_problem(entry["message_uuid"]), shown, f"messages[{index}].message_uuid")
        if entry["from"] not in between:
            raise FixtureError(f"{place}.from: {entry['from']!r} is not one of the conversation's users {list(between)}")
        if previous is not None and entry["minutes_ago"] > previous:
            raise FixtureError(
                f"{place}.minutes_ago: {entry['minutes_ago']} is earlier than the message before it ({previous}): list messages oldest first"
            )
        previous = entry["minutes_ago"]
        message_uuid = entry.get("message_uuid") or derived_message_uuid(group, index)
        messages.append(Message(entry["from"], entry["minutes_ago"], entry["message"], message_uuid))
    return Conversation(shown, group, between, tuple(messages))


def load(directory: str | Path) -> Fixtures:
    """Read and validate a whole fixture directory, keeping it in memory; raise FixtureError on the first problem."""
    from .fixture_stream import walk

    users: dict[str, User] = {}
    conversations = []
    for found, _, conversation in walk(directory):
        users = found
        conversations.append(conversation)
    return Fixtures(users, tuple(conversations))


def users_file(root: Path) -> tuple[Path, dict[str, User]]:
    """The fixture directory's users.json, validated, after the directory itself was checked."""
    if not root.is_dir():
        raise FixtureError(f"{root}: {'is not a directory' if root.exists() else 'fixture directory does not exist'}")
    users_path = root / "users.json"
    if not users_path.is_file():
        raise FixtureError(f"{users_path}: missing: a fixture directory needs users.json")
    _inside(users_path, root, str(users_path))
    return users_path, _load_users(users_path, str(users_path))


def load_users(directory: str | Path) -> Fixtures:
    """Only the user directory of a fixture directory (for resolving handles)."""
    path = Path(directory) / "users.json"
    if not path.is_file():
        raise FixtureError(f"{path}: missing: the user directory is needed to resolve handles")
    _inside(path, Path(directory), str(path))
    return Fixtures(_load_users(path, str(path)), ())
