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
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import DdbError, FixtureError
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


class CheckAside:
    """The validation pass run in a child process while this one goes on; `result()` is `check(directory)`.

    A seed has its client to make (importing boto3) before its first request, and
    nothing to send before the check ends: the child checks on the other core meanwhile.
    Elsewhere than on Linux (no `fork`, or one that is unsafe without an exec, as on
    macOS), `result()` simply runs the check.
    """

    def __init__(self, directory: str | Path):
        self.directory = directory
        self._child: tuple[int, int] | None = None  # (pid, read end of its pipe)
        if sys.platform.startswith("linux"):
            readable, writable = os.pipe()
            pid = os.fork()
            if pid == 0:
                self._report(readable, writable)
            os.close(writable)
            self._child = (pid, readable)

    def _report(self, readable: int, writable: int):
        """In the child: check, send back the result or the FixtureError, and leave without any cleanup of the parent's."""
        try:
            os.close(readable)
            try:
                outcome: tuple[str, object] = ("checked", check(self.directory))
            except DdbError as refused:
                outcome = ("refused", refused)
            except Exception:  # noqa: BLE001 -- anything else: the parent checks again and shows it
                outcome = ("again", None)
            with os.fdopen(writable, "wb") as pipe:
                pipe.write(pickle.dumps(outcome))
        finally:
            os._exit(0)

    def __del__(self):
        """A result never asked for (the task failed first): stop the child and reap it."""
        if self._child is not None:
            pid, readable = self._child
            self._child = None
            try:
                os.close(readable)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass

    def result(self) -> CheckedFixtures:
        """The checked fixtures, or the FixtureError the check raised."""
        if self._child is None:
            return check(self.directory)
        pid, readable = self._child
        self._child = None
        with os.fdopen(readable, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        kind, value = pickle.loads(answer) if answer else ("again", None)
        if kind == "checked":
            return value  # type: ignore[return-value]
        if kind == "refused":
            raise value  # type: ignore[misc]
        return check(self.directory)


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
