"""Processes: a short command run to completion, and an engine run detached in the background.

An engine runs in its own session with no inherited stdin/stdout (its output goes to a
log), so a caller capturing the task's output never waits on it. Its whole process group
is terminated, so nothing it started is left behind.
"""

import http.client
import os
import signal
import subprocess
import time
from pathlib import Path

from ddb.core.errors import EngineError


def run_captured(command: list[str], timeout: float, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run `command` to completion with no stdin, its output captured as text."""
    return subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout, cwd=cwd
    )


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


def alive(pid: int | None) -> bool:
    """True when process `pid` exists and is not a zombie."""
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


def spawn_detached(
    command: list[str], label: str, log_path: Path, env: dict | None = None, cwd: str | Path | None = None
) -> subprocess.Popen:
    """Start `command` in its own session, no stdin, its output appended to `log_path`; EngineError if it cannot start."""
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
                cwd=cwd,
            )
        except OSError as exc:
            raise EngineError(f"{label} could not be started ({exc})") from None


def start_detached(
    command: list[str],
    label: str,
    host: str,
    port: int,
    log_path: Path,
    timeout: float = 60.0,
    env: dict | None = None,
    cwd: str | Path | None = None,
) -> int:
    """Start `command` in its own session, its output appended to `log_path`; wait until it answers at host:port.

    Returns its pid. Raises EngineError (naming the engine by `label`) when it cannot be
    started, exits (saying so when its port was taken) or stays silent for `timeout`
    seconds; a process that fails to come up is terminated, never left behind.
    """
    log_start = log_path.stat().st_size if log_path.exists() else 0
    process = spawn_detached(command, label, log_path, env=env, cwd=cwd)
    deadline = time.monotonic() + timeout
    try:
        while not answers(host, port, timeout=0.5):
            if process.poll() is not None:
                if b"Address already in use" in _read_from(log_path, log_start):
                    raise EngineError(
                        f"port {port} is taken by another program ({label} could not listen on it): "
                        "stop that program or set ddb.engine_port (INVOKE_DDB_ENGINE_PORT)"
                    )
                raise EngineError(f"{label} exited with code {process.returncode} before answering: see {log_path}")
            if time.monotonic() > deadline:
                raise EngineError(f"{label} did not answer at http://{host}:{port} within {timeout:.0f}s: see {log_path}")
            time.sleep(0.1)
    except BaseException:
        terminate(process.pid)
        process.poll()
        raise
    return process.pid


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""


def terminate(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process group led by `pid`; SIGKILL it if it still lives after `grace` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
