"""The one error hierarchy of the library.

Every foreseeable problem is raised as a `DdbError` whose message is one line a
user can act on. The tasks turn it into `invoke.Exit(message, code=1)` in one place.
"""


class DdbError(Exception):
    """Base of every error the library raises on purpose."""


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

    def __init__(self, message, failed_keys=()):
        super().__init__(message)
        self.failed_keys = list(failed_keys)


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

    def __init__(self, message, done=0, total=0):
        super().__init__(message)
        self.done, self.total = done, total
