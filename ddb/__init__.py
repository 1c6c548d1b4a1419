"""cruddur-ddb: Cruddur's direct messages in one DynamoDB table.

The app's surface is five modules, importable from here:

- `patterns`: the read patterns A (one conversation) and B (a user's conversations);
- `messaging`: the write patterns C (send a message) and D (start a conversation);
- `stream`: pattern E, the stream handler (`ddb.stream.lambda_handler` on Lambda);
- `items`: the item shapes and keys (`items.User`, `items.GroupItem`, ...);
- `errors`: the one error hierarchy (`errors.DdbError` and its kinds).

Everything else under `ddb/` is tooling for the tasks (schema, seed, backup, migrate,
modeling, deploy, local engines), one folder per subsystem (ARCHITECTURE.md). The
surface is imported on first use, so `import ddb.stream` on Lambda loads only the
handler's modules.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ddb import stream
    from ddb.app import messaging, patterns
    from ddb.core import errors
    from ddb.data import items

__all__ = ["errors", "items", "messaging", "patterns", "stream"]

_SURFACE = {
    "errors": "ddb.core.errors",
    "items": "ddb.data.items",
    "messaging": "ddb.app.messaging",
    "patterns": "ddb.app.patterns",
    "stream": "ddb.stream",
}


def __getattr__(name: str) -> object:
    """`ddb.patterns` and the rest of the surface, imported when first asked for."""
    if name in _SURFACE:
        module = importlib.import_module(_SURFACE[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ddb' has no attribute {name!r}")
