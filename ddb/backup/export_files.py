"""Writing an export's files without following a link that export did not create.

Everything below `out` is reached through an open folder (`Folder`, a file descriptor
opened with O_NOFOLLOW) and named relative to it, so a symbolic link planted in `out`
(at `AWSDynamoDB/`, at an export id, at `data/`, at a `.part` or `.tmp` name) is never
written through, even if it is planted while the export runs:

- a folder the export makes is created 0700 (and chmod-ed so, whatever the umask); an
  existing one that is a symbolic link, or not a folder, is refused in one line;
- a file the export writes is first unlinked (unlink removes a link, it never follows
  it), then created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600;
- a file is moved into place by rename, which replaces a link at the new name rather
  than following it.

`out` itself may be the user's own symbolic link to a folder: it is opened as given.
Every OSError becomes an `ExportWriteError`: one line naming the path.
"""

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ddb.backup.layout import FILES, SUMMARY, DataFile
from ddb.core.errors import DdbError

if TYPE_CHECKING:
    from ddb.backup.s3_path import S3Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)


class ExportWriteError(DdbError):
    """The export cannot write where it was told to (a file, a read-only folder, a planted link, a full disk)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


@contextmanager
def reported(path: "Path | S3Path", doing: str = "cannot write") -> Iterator[None]:
    """Turn an OSError inside the block into one line: `<doing> <path>: <reason>`."""
    try:
        yield
    except OSError as exc:
        raise ExportWriteError(f"{doing} {path}: {_reason(exc)}") from None


class Folder:
    """An open folder: files and folders below it are made and read relative to it, never through a link."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def open_out(cls, out: Path) -> "Folder":
        """`out`, made 0700 if missing; it may be the user's own link to a folder, and must be a folder."""
        try:
            os.makedirs(out, FOLDER_MODE)
            os.chmod(out, FOLDER_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise ExportWriteError(f"cannot make the folder {out}: {_reason(exc)}") from None
        try:
            fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except NotADirectoryError:
            raise ExportWriteError(f"{out} is a file, not a folder: give a folder to --out") from None
        except OSError as exc:
            raise ExportWriteError(f"cannot open the folder {out}: {_reason(exc)}") from None
        return cls(out, fd)

    def close(self) -> None:
        """Close the folder's descriptor."""
        os.close(self.fd)

    def child(self, name: str, *, create: bool) -> "Folder | None":
        """The folder `name` below this one (made 0700 when `create` and missing); None when missing and not `create`.

        A `name` that is a symbolic link or not a folder is refused in one line.
        """
        path = self.path / name
        made = False
        if create:
            try:
                os.mkdir(name, FOLDER_MODE, dir_fd=self.fd)
                made = True
            except FileExistsError:
                pass
            except OSError as exc:
                raise ExportWriteError(f"cannot make the folder {path}: {_reason(exc)}") from None
        try:
            fd = os.open(name, _DIRECTORY, dir_fd=self.fd)
        except FileNotFoundError:
            if create:
                raise ExportWriteError(f"cannot open the folder {path}: it went away while the export ran") from None
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ExportWriteError(self._not_a_folder(name)) from None
            raise ExportWriteError(f"cannot open the folder {path}: {_reason(exc)}") from None
        if made:
            with reported(path):
                os.fchmod(fd, FOLDER_MODE)
        return Folder(path, fd)

    def _not_a_folder(self, name: str) -> str:
        path = self.path / name
        kind = "a symbolic link" if self.is_link(name) else "not a folder"
        return f"{path} is {kind}: an export writes only into folders it made; remove it or give another --out"

    def is_link(self, name: str) -> bool:
        """True when `name` is a symbolic link (not followed)."""
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def exists(self, name: str) -> bool:
        """True when something (a link included, not followed) is at `name`."""
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ExportWriteError(f"cannot read {self.path / name}: {_reason(exc)}") from None

    def read_text(self, name: str) -> str | None:
        """The text of the regular file `name`, or None when there is none; a link there is refused."""
        path = self.path / name
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=self.fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ExportWriteError(f"{path} is a symbolic link: remove it or give another --out") from None
            raise ExportWriteError(f"cannot read {path}: {_reason(exc)}") from None
        with reported(path, "cannot read"), os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ExportWriteError(f"{path} is not a file: remove it or give another --out")
            return file.read().decode("utf-8", "replace")

    def unlink(self, name: str) -> None:
        """Remove `name` if it is there (a link is removed, never followed)."""
        with reported(self.path / name, "cannot remove"):
            try:
                os.unlink(name, dir_fd=self.fd)
            except FileNotFoundError:
                pass

    def remove_folder(self, name: str) -> None:
        """Remove the empty folder `name` if it is there."""
        with reported(self.path / name, "cannot remove"):
            try:
                os.rmdir(name, dir_fd=self.fd)
            except FileNotFoundError:
                pass

    def create(self, name: str) -> BinaryIO:
        """A new file `name`, open for writing, mode 0600: whatever was at `name` (a link too) is unlinked first."""
        path = self.path / name
        self.unlink(name)
        with reported(path):
            fd = os.open(name, _NEW_FILE, FILE_MODE, dir_fd=self.fd)
            os.fchmod(fd, FILE_MODE)
            return os.fdopen(fd, "wb")

    def rename(self, name: str, new_name: str) -> None:
        """Move `name` to `new_name` in this folder (a link at `new_name` is replaced, not followed)."""
        with reported(self.path / new_name):
            os.replace(name, new_name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def write_atomically(self, name: str, text: str) -> None:
        """Write `text` to `<name>.tmp` (a new 0600 file), flush it to disk, then rename it to `name`."""
        temporary = name + ".tmp"
        with self.create(temporary) as file, reported(self.path / temporary):
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        self.rename(temporary, name)

    def write_manifests(self, summary: dict, files: list[DataFile]) -> None:
        """manifest-files.json first, then manifest-summary.json, each atomically, with their .checksum files."""
        for name, text in manifest_texts(summary, files):
            self.write_atomically(name, text)

    @property
    def s3_place(self) -> None:
        """A folder is not in S3 (see `S3Folder.s3_place`)."""
        return None

    @contextmanager
    def data_file(self, name: str) -> Iterator[BinaryIO]:
        """A new data file `name`, written as `<name>.part`, flushed to disk, then renamed into place when the block ends."""
        part = name + ".part"
        with self.create(part) as raw:
            yield raw
            with reported(self.path / part):
                raw.flush()
                os.fsync(raw.fileno())
        self.rename(part, name)


def manifest_texts(summary: dict, files: list[DataFile]) -> list[tuple[str, str]]:
    """(name, text) of manifest-files.json, its .checksum, manifest-summary.json and its .checksum, in writing order."""
    lines = "".join(json.dumps(f.as_json()) + "\n" for f in files)
    texts = []
    for name, text in ((FILES, lines), (SUMMARY, json.dumps(summary, indent=2) + "\n")):
        texts += [(name, text), (name.replace(".json", ".checksum"), hashlib.md5(text.encode()).hexdigest() + "\n")]
    return texts


class Sink(Protocol):
    """Where a data file's bytes go: a file, or an S3 upload."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class HashingWriter:
    """A binary file that keeps the MD5 of every byte written to it (for gzip to write through).

    A failed write (a full disk) is an ExportWriteError naming `path`.
    """

    def __init__(self, raw: Sink, path: "Path | S3Path | None" = None):
        self.raw, self.md5, self.path = raw, hashlib.md5(), path

    def write(self, data: bytes) -> int:
        """Write `data` and add it to the MD5."""
        self.md5.update(data)
        with reported(self.path or Path(str(getattr(self.raw, "name", "?")))):
            return self.raw.write(data)

    def flush(self) -> None:
        """Flush the file below."""
        with reported(self.path or Path(str(getattr(self.raw, "name", "?")))):
            self.raw.flush()
