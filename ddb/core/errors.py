"""The one error hierarchy of the library.

Every foreseeable problem is raised as a `DdbError` whose message is one line a
user can act on. The message states the fact; where the next step is a command of the
caller's (the command line's `invoke local.start`, an app's own button), the error names
it by a `hint` key (see `Hint`) and the caller words it. The tasks turn a `DdbError` into
`invoke.Exit(message + hint, code=1)` in one place.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a batch write's tally, carried by two errors: imported by the batch writer, not by every error
    from ddb.core.tally import BatchResult


class Hint:
    """What a user can do next, named here and worded by the caller, who knows its commands.

    Facts a hint's wording needs travel on the error as `facts` (e.g. `asked` for STOP_ENGINE).
    """

    START_ENGINE = "start-engine"  # nothing answers at a local endpoint: start an engine
    CREATE_TABLE = "create-table"  # the table does not exist: create it
    LIST_CONVERSATIONS = "list-conversations"  # an unknown conversation uuid: list the user's conversations
    INSTALL_DYNAMODB_LOCAL = "install-dynamodb-local"  # no DynamoDB Local jar: fetch it
    REINSTALL_DYNAMODB_LOCAL = "reinstall-dynamodb-local"  # our copy of the jar is damaged: fetch it again (facts: `joiner`)
    STOP_ENGINE = "stop-engine"  # another engine runs: stop it first (facts: `asked`, what was asked for)
    INSTALL_JAVA = "install-java"  # no usable Java for DynamoDB Local (facts: `minimum`, its major version)


class DdbError(Exception):
    """Base of every error the library raises on purpose; `hint` (a `Hint` key) and `facts` are for the caller's wording."""

    def __init__(self, message: str = "", *, hint: str | None = None, **facts: object):
        super().__init__(message)
        self.hint = hint
        self.facts = facts


class EngineUnreachable(DdbError):
    """Nothing answers at the endpoint (local engine down, network gone)."""


class CredentialsError(DdbError):
    """AWS credentials or region are missing or rejected."""


class TableMissing(DdbError):
    """The table the command needs does not exist on the target."""


class SchemaDrift(DdbError):
    """The live table differs from the declaration."""


class FixtureError(DdbError):
    """A fixture file breaks the contract; the message names file, place and problem."""


class NotFound(DdbError):
    """An unknown handle, group or other name given on the command line."""


class BadCursor(DdbError):
    """A pagination cursor that this tool did not produce for this query."""


class Refused(DdbError):
    """A guarded action on prod was not confirmed."""


class WriteIncomplete(DdbError):
    """Some items were still unwritten after every retry; `failed_keys` names them."""

    def __init__(self, message: str, failed_keys: Iterable[dict[str, str]] = ()):
        super().__init__(message)
        self.failed_keys = list(failed_keys)
        self.result: BatchResult | None = None  # the tally so far, when `batch.write` raised it


class ConditionFailed(DdbError):
    """A conditional write lost to a concurrent one (or the item was not what we expected)."""


class EngineError(DdbError):
    """The local engine could not be started, found or stopped."""


class InvalidInput(DdbError):
    """A value given by the caller that the contract does not allow (empty message, bad limit)."""


class Busy(DdbError):
    """Another run holds the lock this one needs (e.g. a concurrent seed)."""


class MalformedRecord(DdbError):
    """A stream record that can never apply, however often it is retried (a poison record)."""


class LockLost(Busy):
    """The lock this run held was taken over (its lease ran out): it stopped writing."""


class Interrupted(DdbError):
    """A run stopped part-way on request (Ctrl-C); `done` of `total` items were written."""

    def __init__(self, message: str, done: int = 0, total: int = 0):
        super().__init__(message)
        self.done, self.total = done, total
        self.result: BatchResult | None = None  # the tally so far, when `batch.write` raised it
