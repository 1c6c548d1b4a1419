"""Reading and validating a fixture directory (`ddb.seed.stamping` turns it into table items).

`load(dir)` reads `users.json` and `conversations/*.json`, checks every file against
its JSON Schema, the library's text rules (`ddb.data.validate`) and the cross-file rules,
and raises one `FixtureError` line (`file: place: problem`) before anything could be
written. `ddb.seed.stamping` then makes the items with times relative to one `now`.
"""

import hashlib
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddb.core.errors import FixtureError, NotFound
from ddb.data import validate
from ddb.data.items import User
from ddb.seed.fixture_json import parse, read_bytes, read_json

# Namespace for deriving message uuids that a fixture does not give.
_MESSAGE_NAMESPACE = uuidlib.UUID("6f1c3c1e-2b7a-4f0e-9a55-3d2f1b8c7e10")


def derived_message_uuid(group: str, index: int) -> str:
    """uuid5(_MESSAGE_NAMESPACE, "group/index"), the uuid of a message given none, at a quarter of uuid5's cost."""
    digest = bytearray(hashlib.sha1(_MESSAGE_NAMESPACE.bytes + f"{group}/{index}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


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


def inside(path: Path, root: Path, shown: str) -> None:
    """Refuse a file that leads, through a symlink, out of the fixture folder: it is never read."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise FixtureError(f"{shown}: is a symlink that leads out of the fixture folder {root}: copy the file into it instead")


def _require(problem: str | None, shown: str, place: str):
    """The library's own text rules (validate), as one fixture line naming file and place."""
    if problem:
        raise FixtureError(f"{shown}: {place}: {problem}")


def _load_users(path: Path, shown: str) -> dict[str, User]:
    document = read_json(path, shown, "users")
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


def read_conversation(document: Any, shown: str, users: dict[str, User]) -> Conversation:
    """A conversation file parsed and checked against its schema (`fixture_json.parse`), checked against the text rules."""
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


def file_digest(raw: bytes) -> bytes:
    """The fingerprint of a file's bytes that the write pass compares with the validation pass's."""
    return hashlib.blake2b(raw, digest_size=16).digest()


def _files(root: Path) -> list[Path]:
    conversation_dir = root / "conversations"
    files = sorted(conversation_dir.glob("*.json")) if conversation_dir.is_dir() else []
    if not files:
        raise FixtureError(f"{conversation_dir}: no conversation files (*.json) to seed")
    for path in files:
        inside(path, root, str(path))
    return files


def _where(files: list[Path], users: dict[str, User], message_uuid: str) -> str | None:
    """Where an earlier file (or message) already used `message_uuid`: read again only on a suspected repeat."""
    for path in files:
        conversation = read_conversation(read_json(path, str(path), "conversation"), str(path), users)
        for index, message in enumerate(conversation.messages):
            if message.message_uuid == message_uuid:
                return f"messages[{index}] of {path}"
    return None


def walk(directory: str | Path) -> Iterator[tuple[dict[str, User], bytes, Conversation]]:
    """Each conversation file, validated and checked against the files before it: (users, digest, conversation).

    The first problem raises FixtureError. Message uuids seen are kept as hashes only
    (a set of ints, not the strings and their places): a repeat is confirmed, and its
    first place found, by reading the earlier files again.
    """
    root = Path(directory)
    _, users = users_file(root)
    files = _files(root)
    groups: dict[str, str] = {}  # message_group_uuid -> file
    seen: set[int] = set()  # hash of each message uuid so far
    for number, path in enumerate(files):
        raw = read_bytes(path, str(path))
        conversation = read_conversation(parse(raw, str(path), "conversation"), str(path), users)
        group = conversation.message_group_uuid
        if group in groups:
            raise FixtureError(f"{path}: message_group_uuid: {group} is already used by {groups[group]}")
        groups[group] = str(path)
        for index, message in enumerate(conversation.messages):
            key = hash(message.message_uuid)
            if key in seen:
                where = _where(files[:number], users, message.message_uuid) or next(
                    (
                        f"messages[{i}] of {path}"
                        for i, m in enumerate(conversation.messages[:index])
                        if m.message_uuid == message.message_uuid
                    ),
                    None,
                )
                if where:
                    raise FixtureError(
                        f"{path}: messages[{index}].message_uuid: {message.message_uuid} is already used by {where}"
                    )
            seen.add(key)
        yield users, file_digest(raw), conversation


def load(directory: str | Path) -> Fixtures:
    """Read and validate a whole fixture directory, keeping it in memory; raise FixtureError on the first problem."""
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
    inside(users_path, root, str(users_path))
    return users_path, _load_users(users_path, str(users_path))


def load_users(directory: str | Path) -> Fixtures:
    """Only the user directory of a fixture directory (for resolving handles)."""
    path = Path(directory) / "users.json"
    if not path.is_file():
        raise FixtureError(f"{path}: missing: the user directory is needed to resolve handles")
    inside(path, Path(directory), str(path))
    return Fixtures(_load_users(path, str(path)), ())
