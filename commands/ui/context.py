"""What every page acts on: the target and its client, the users, the configured files, the secrets.

`UiContext` is built once by the task (or by a test) and shared by the server's threads;
boto3 clients are safe to share between threads. Notices (what a write stored) are kept
in memory under a random id, for the page the browser is sent to after a POST.
"""

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddb.core.target import Target, describe
from ddb.data.items import User

from .security import Csrf

MAX_NOTICES = 100


@dataclass
class UiContext:
    """The target, the client that reaches it, and what the pages read besides the table."""

    target: Target
    client: Any
    users: dict[str, User] = field(default_factory=dict)  # the fixture set's directory (local only)
    default_handle: str = "mira"
    default_group: str = ""
    migrations: Path | None = None
    fixtures: Path | None = None
    traffic: Path | None = None
    prices: Any = None  # ddb.modeling.pricing.Prices for the cost page
    billing: str = "PROVISIONED"  # the declared billing mode the schema plan compares with
    mermaid: Path | None = None  # the vendored Mermaid script (commands.ui.mermaid), if fetched
    account: str | None = None  # prod: the account STS named at start
    streams_client: Any = None
    port: int = 0  # set when the server is bound
    csrf: Csrf = field(default_factory=Csrf)
    _notices: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def prod(self) -> bool:
        return self.target.prod

    @property
    def table(self) -> str:
        return self.target.table

    @property
    def banner(self) -> str:
        """The target in one line, read back from the client (prod: region, account, table)."""
        return describe(self.target, self.client, self.account)

    def remember(self, notice: str) -> str:
        """Keep `notice` for the next page; its id."""
        key = secrets.token_urlsafe(8)
        with self._lock:
            self._notices[key] = notice
            while len(self._notices) > MAX_NOTICES:
                self._notices.pop(next(iter(self._notices)))
        return key

    def notice(self, key: str | None) -> str | None:
        with self._lock:
            return self._notices.get(key or "")
