"""A fixture directory read one conversation file at a time, for sets of any size.

`check(dir)` is the validation pass: every file is read, parsed and checked (its schema,
the text rules, the cross-file rules) exactly as `ddb.seed.fixtures.load` does, in the same
order and with the same lines, but only what the cross-file rules need is kept: the
users, each file's group uuid, pair and digest, and one small number per message uuid.
`conversations(checked)` is the write pass: it reads each file again, one at a time,
refusing in one line a file whose bytes changed since the check. `CheckAside(dir)` runs
the validation pass in a forked child while the caller goes on (Linux).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ddb.core.aside import Aside
from ddb.core.errors import FixtureError
from ddb.data.items import User
from ddb.seed.fixture_json import read_bytes
from ddb.seed.fixtures import Conversation, Message, derived_message_uuid, file_digest, find_user, walk


@dataclass(frozen=True)
class FixtureFile:
    """What the validation pass keeps of one conversation file."""

    path: Path
    digest: bytes
    message_group_uuid: str
    between: tuple[str, str]
    message_count: int


@dataclass(frozen=True)
class CheckedFixtures:
    """A fixture directory that passed the validation pass, without its messages."""

    users: dict[str, User]
    files: tuple[FixtureFile, ...]

    @property
    def conversation_count(self) -> int:
        return len(self.files)

    @property
    def message_count(self) -> int:
        return sum(f.message_count for f in self.files)

    def user(self, handle: str) -> User:
        """The user with this handle, or NotFound naming the known handles."""
        return find_user(self.users, handle)


def check(directory: str | Path) -> CheckedFixtures:
    """The validation pass: the whole directory checked, one file in memory at a time."""
    users: dict[str, User] = {}
    kept = []
    for found, digest, conversation in walk(directory):
        users = found
        kept.append(
            FixtureFile(
                Path(conversation.source),
                digest,
                conversation.message_group_uuid,
                conversation.between,
                len(conversation.messages),
            )
        )
    return CheckedFixtures(users, tuple(kept))


class CheckAside(Aside[CheckedFixtures]):
    """The validation pass run in a child process while this one goes on; `result()` is `check(directory)`.

    A seed has its client to make (importing boto3) before its first request, and
    nothing to send before the check ends: the child checks on the other core meanwhile
    (`ddb.core.aside`; elsewhere than on Linux `result()` simply runs the check).
    """

    def __init__(self, directory: str | Path):
        self.directory = directory
        super().__init__(lambda: check(directory))  # not self: no cycle, so a dropped aside stops its child at once


def read(checked_file: FixtureFile, users: dict[str, User]) -> Conversation:
    """One file of the write pass, read again: refused in one line if its bytes changed since the check."""
    shown = str(checked_file.path)
    raw = read_bytes(checked_file.path, shown)
    if file_digest(raw) != checked_file.digest:
        raise FixtureError(f"{shown}: changed since it was validated: seed again to validate it anew")
    # The very bytes the validation pass checked: parsed plainly, not checked again.
    document = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    group = document["message_group_uuid"]
    messages = tuple(
        Message(
            entry["from"],
            entry["minutes_ago"],
            entry["message"],
            entry.get("message_uuid") or derived_message_uuid(group, index),
        )
        for index, entry in enumerate(document["messages"])
    )
    return Conversation(shown, group, tuple(document["between"]), messages)


def conversations(checked: CheckedFixtures) -> Iterator[Conversation]:
    """The write pass: every conversation, read again one file at a time."""
    for checked_file in checked.files:
        yield read(checked_file, checked.users)
