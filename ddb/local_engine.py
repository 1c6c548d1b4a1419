"""The embedded local engine: moto's server (or DynamoDB Local) as a detached background process.

State lives in one folder (git-ignored `.local/` by default): `engine.json` with the
pid, engine and endpoint, and `engine.log` with the engine's output. The process runs in
its own session with no inherited stdin/stdout, so a caller capturing the task's output
never waits on it. moto's server keeps everything in memory: it forgets on stop.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import EngineError

STATE_FILE = "engine.json"
LOG_FILE = "engine.log"


@dataclass
class EngineState:
    """What runs (or ran) where: the pid, engine name and version, and its endpoint."""

    pid: int | None
    engine: str
    version: str
    host: str
    port: int
    running: bool = False
    answering: bool = False
    log: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when an HTTP server answers at host:port (any status counts)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (same process started it, not yet reaped) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _read_state(state_dir: Path) -> EngineState | None:
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        return EngineState(**{k: data[k] for k in ("pid", "engine", "version", "host", "port")}, log=data.get("log", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(state_dir, host: str, port: int) -> EngineState:
    """The engine this tool started (if any) and whether something answers at host:port."""
    state = _read_state(Path(state_dir)) or EngineState(None, "", "", host, port)
    state.running = _alive(state.pid)
    state.answering = answers(state.host, state.port) if state.running else answers(host, port)
    if not state.running:
        state.host, state.port = host, port
    return state


def moto_command(host: str, port: int) -> list[str]:
    """The command line that runs moto's server."""
    return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def start(state_dir, host: str, port: int, command: list[str], engine: str, version: str,
          timeout: float = 60.0, env: dict | None = None) -> EngineState:
    """Start `command` detached, wait until it answers at host:port, record its state.

    Returns the running state; if this tool's engine already runs, returns that. Raises
    EngineError when the port is taken by something else or the engine dies or stays silent.
    """
    state_dir = Path(state_dir)
    current = status(state_dir, host, port)
    if current.running:
        return current
    if current.answering:
        raise EngineError(f"something else already answers at {current.endpoint}: use it as it is, or stop it first")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=env,
        )
    state = EngineState(process.pid, engine, version, host, port, running=True, log=str(log_path))
    deadline = time.monotonic() + timeout
    while not answers(host, port, timeout=0.5):
        if process.poll() is not None:
            raise EngineError(f"{engine} exited with code {process.returncode} before answering: see {log_path}")
        if time.monotonic() > deadline:
            _terminate(process.pid)
            raise EngineError(f"{engine} did not answer at {state.endpoint} within {timeout:.0f}s: see {log_path}")
        time.sleep(0.1)
    state.answering = True
    (state_dir / STATE_FILE).write_text(json.dumps({k: v for k, v in asdict(state).items() if k not in ("running", "answering")}))
    return state


def _terminate(pid: int, grace: float = 10.0):
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(state_dir, host: str, port: int) -> EngineState:
    """Stop the engine this tool started; returns its last state (running False)."""
    state_dir = Path(state_dir)
    state = status(state_dir, host, port)
    if state.running:
        _terminate(state.pid)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    state.running = False
    state.answering = answers(host, port)
    return state
