"""The stream Lambda's deployment zip: the `ddb` package, reproducibly.

The zip holds what the wheel holds of `ddb` (its modules and its package data) at the
zip's root, so Lambda finds the handler as `ddb.stream.lambda_handler`; nothing else.
boto3 and botocore, `ddb`'s only run-time dependency, come with Lambda's Python runtime.

The same sources give the same bytes: entries sorted by name, every timestamp
1980-01-01 00:00 (the earliest a zip can hold), every file mode 0644 with a Unix
"made by", one compression level, no directory entries, no `__pycache__`. So the
sha256 names the code, and an unchanged package is never uploaded twice.
"""

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import DdbError

PACKAGE_ROOT = Path(__file__).resolve().parent
# Package data beside the modules: the same patterns as pyproject.toml's [tool.setuptools.package-data].
PACKAGE_DATA = ("py.typed", "schemas/*.schema.json")
HANDLER = "ddb.stream.lambda_handler"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # a regular file, rw-r--r--
_UNIX = 3  # ZipInfo.create_system: the external attributes are Unix mode bits


@dataclass(frozen=True)
class Package:
    """A built zip: where it is, its size in bytes, its sha256 (hex) and its entries."""

    path: Path
    size: int
    sha256: str
    entries: tuple[str, ...]

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "entries": len(self.entries),
            "handler": HANDLER,
        }


def package_files(root: Path = PACKAGE_ROOT) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every module and data file of the package under `root`, sorted by name."""
    files = {p for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    for pattern in PACKAGE_DATA:
        files.update(root.glob(pattern))
    prefix = root.name
    named = [(f"{prefix}/{p.relative_to(root).as_posix()}", p) for p in files if p.is_file()]
    return sorted(named)


def zip_bytes(files: list[tuple[str, Path]]) -> bytes:
    """The zip of `files`, the same bytes for the same names and contents."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = _UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def build(out: Path, root: Path = PACKAGE_ROOT) -> Package:
    """Write the Lambda zip of the package under `root` to `out`; its size and sha256."""
    files = package_files(root)
    if not any(name.endswith("/stream.py") for name, _ in files):
        raise DdbError(f"no stream handler module under {root}: is it the ddb package?")
    data = zip_bytes(files)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        partial.write_bytes(data)
        partial.replace(out)  # a reader never sees half a zip
    except OSError as exc:
        raise DdbError(f"cannot write the package to {out}: {exc.strerror or exc}") from None
    return Package(out, len(data), hashlib.sha256(data).hexdigest(), tuple(name for name, _ in files))
