"""What runs where: `EngineState`, and the state folder that records it.

State lives in one folder (git-ignored `.local/` by default): `engine.json` with the
pid, engine and version, endpoint and storage of the engine this tool started, and
`engine.log` with the engine's output.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ddb.engines import LABELS

STATE_FILE = "engine.json"
LOG_FILE = "engine.log"


@dataclass
class EngineState:
    """What runs (or ran) where: the pid, engine name and version, its endpoint and storage."""

    pid: int | None
    engine: str
    version: str
    host: str
    port: int
    running: bool = False
    answering: bool = False
    log: str = ""
    db_path: str | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """The engine's human name: `moto` or `DynamoDB Local`."""
        return LABELS.get(self.engine, self.engine or "engine")

    @property
    def storage(self) -> str:
        """Where the tables live: `in memory` or `tables kept in DIR`."""
        return f"tables kept in {self.db_path}" if self.db_path else "in memory"


def read_state(state_dir: Path) -> EngineState | None:
    """The state recorded in `state_dir` (running and answering unknown, so False); None if there is none."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        return EngineState(
            **{k: data[k] for k in ("pid", "engine", "version", "host", "port")},
            log=data.get("log", ""),
            db_path=data.get("db_path"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(state_dir: Path, state: EngineState) -> None:
    """Record `state` in `state_dir` (all but whether it runs and answers, which are checked each time)."""
    (state_dir / STATE_FILE).write_text(json.dumps({k: v for k, v in asdict(state).items() if k not in ("running", "answering")}))


def forget_state(state_dir: Path) -> None:
    """Remove the record of the engine in `state_dir`, if any."""
    (state_dir / STATE_FILE).unlink(missing_ok=True)
