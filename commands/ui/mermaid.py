"""The Mermaid script that draws the data model's diagram in the browser: its pinned npm package, vendored.

`npm pack mermaid@MERMAID_VERSION` fetches the package from the npm registry once; its
tarball is checked against the registry's sha512 integrity pinned here, and only
`dist/mermaid.min.js` (one self-contained file, no build step) and its LICENSE are kept,
under `.local/` (git-ignored). The view serves that file itself, so the page draws the
diagram offline: no CDN, no network once fetched. Without it the page shows the
diagram's Mermaid text and says how to fetch it: `python -m commands.ui.mermaid`
(`.ci/run` does).
"""

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ddb.core.errors import DdbError

MERMAID_VERSION = "12.4.0"
# `npm view mermaid@12.4.0 dist.integrity`: the registry's sha512 of the tarball.
MERMAID_INTEGRITY = "sha512-j2gvsGUFeS/53WdYLl9H5G2YtMZX9G/PlCvV3E5Pf4j5XSnK19DwazU6wki7OTcKeYKed7+qujRDLhy8NV2zBg=="
# The sha256 of package/dist/mermaid.min.js in that tarball, checked again when the file is served.
SCRIPT_SHA256 = "c0891e4c0413d0710ad193b431d8cbbe9d031636e51c467d11daa4721ba22094"
FOLDER = Path(__file__).resolve().parents[2] / ".local" / "ui" / f"mermaid-{MERMAID_VERSION}"
SCRIPT = "mermaid.min.js"
FETCH_COMMAND = "python -m commands.ui.mermaid"


def script_path(folder: Path = FOLDER) -> Path | None:
    """The vendored script, if it is there and is the pinned one."""
    path = folder / SCRIPT
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return path if hashlib.sha256(data).hexdigest() == SCRIPT_SHA256 else None


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(folder: Path = FOLDER, timeout: float = 300) -> Path:
    """`npm pack` the pinned package, check it, keep its script and LICENSE in `folder`; the script's path."""
    found = script_path(folder)
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise DdbError("npm is not installed: it fetches the Mermaid package once (e.g. `apt-get install npm`)")
    with tempfile.TemporaryDirectory() as work:
        try:
            done = subprocess.run(
                [npm, "pack", f"mermaid@{MERMAID_VERSION}", "--ignore-scripts", "--silent"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise DdbError(f"`npm pack mermaid@{MERMAID_VERSION}` took longer than {timeout:.0f}s: check the network") from None
        tarball = Path(work) / f"mermaid-{MERMAID_VERSION}.tgz"
        if done.returncode != 0 or not tarball.exists():
            why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no tarball"]
            raise DdbError(f"`npm pack mermaid@{MERMAID_VERSION}` failed: {why[0]}")
        if _integrity(tarball) != MERMAID_INTEGRITY:
            raise DdbError(f"mermaid-{MERMAID_VERSION}.tgz does not match the pinned integrity: not used")
        staging = Path(work) / "out"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for name, kept in ((f"package/dist/{SCRIPT}", SCRIPT), ("package/LICENSE", "LICENSE")):
                member = archive.extractfile(name)
                if member is None:
                    raise DdbError(f"mermaid-{MERMAID_VERSION}.tgz has no {name}")
                (staging / kept).write_bytes(member.read())
        if hashlib.sha256((staging / SCRIPT).read_bytes()).hexdigest() != SCRIPT_SHA256:
            raise DdbError(f"{SCRIPT} of mermaid-{MERMAID_VERSION} is not the pinned file: not used")
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(staging, folder)
    return folder / SCRIPT


if __name__ == "__main__":
    try:
        print(f"mermaid {MERMAID_VERSION}: {fetch()}")
    except DdbError as exc:
        sys.exit(f"error: {exc}")
