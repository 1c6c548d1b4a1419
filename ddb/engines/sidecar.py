"""A process run beside the local engine (the stream follower of `local.start --with-stream`): started, watched, stopped.

Like the engine, it runs detached (its own session, no stdin, its output appended to a
log in the state folder) and is recorded there, as `<name>.json` (pid, command, log).
It has no port to answer on, so it counts as up once it has written to its log and is
still alive a moment later; one that exits first is an EngineError quoting its last line.
"""

import json
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ddb.core.errors import EngineError
from ddb.engines.process import alive, spawn_detached, terminate

FOLLOWER = "stream-follower"  # the sidecar `local.start --with-stream` runs
SETTLE_SECONDS = 0.3  # how long it must stay alive after its first words


@dataclass
class SidecarState:
    """A sidecar's pid, command line and log, and whether it runs (checked each time, never recorded)."""

    name: str
    pid: int | None = None
    command: list[str] = field(default_factory=list)
    log: str = ""
    running: bool = False


def _state_file(state_dir: Path, name: str) -> Path:
    return Path(state_dir) / f"{name}.json"


def sidecar_status(state_dir: Path, name: str) -> SidecarState:
    """The sidecar `name` recorded in `state_dir`, and whether it still runs."""
    try:
        data = json.loads(_state_file(state_dir, name).read_text())
        state = SidecarState(name, data["pid"], list(data.get("command", [])), data.get("log", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return SidecarState(name)
    state.running = alive(state.pid)
    return state


def start_sidecar(
    state_dir: Path, name: str, command: list[str], cwd: str | Path | None = None, env: dict | None = None, timeout: float = 60.0
) -> SidecarState:
    """Start `command` detached as the sidecar `name` (or return it as it runs), its output in `<name>.log`.

    Raises EngineError when it cannot be started, exits before it is up, or stays silent for
    `timeout` seconds; one that fails to come up is terminated, never left behind.
    """
    state_dir = Path(state_dir)
    current = sidecar_status(state_dir, name)
    if current.running:
        return current
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"{name}.log"
    start = log_path.stat().st_size if log_path.exists() else 0
    process = spawn_detached(command, name, log_path, env=env, cwd=cwd)
    try:
        _wait_until_up(process, name, log_path, start, timeout)
    except BaseException:
        terminate(process.pid)
        process.poll()
        raise
    state = SidecarState(name, process.pid, list(command), str(log_path), running=True)
    _state_file(state_dir, name).write_text(json.dumps({k: v for k, v in asdict(state).items() if k != "running"}))
    return state


def _wait_until_up(process: subprocess.Popen, name: str, log_path: Path, start: int, timeout: float) -> None:
    """Return once the process has written to its log and lived SETTLE_SECONDS more; EngineError if it exits first."""
    deadline = time.monotonic() + timeout
    settled_at = None
    while True:
        if process.poll() is not None:
            said = _last_line(log_path, start)
            raise EngineError(f"{name} exited with code {process.returncode} as it started" + (f": {said}" if said else ""))
        now = time.monotonic()
        if settled_at is None and log_path.stat().st_size > start:
            settled_at = now + SETTLE_SECONDS
        if settled_at is not None and now >= settled_at:
            return
        if now > deadline:
            raise EngineError(f"{name} said nothing within {timeout:.0f}s: see {log_path}")
        time.sleep(0.05)


def _last_line(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def stop_sidecar(state_dir: Path, name: str) -> SidecarState:
    """Stop the sidecar `name` if it runs and forget it; its last state (running False)."""
    state = sidecar_status(state_dir, name)
    if state.pid and state.running:
        terminate(state.pid)
    _state_file(state_dir, name).unlink(missing_ok=True)
    state.running = False
    return state
