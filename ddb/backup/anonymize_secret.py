"""The key of `export --anonymize`: a secret made once per installation, or a team's own salt.

With no salt configured (`ddb.anonymize_salt` empty, the default), the key is 32 random
bytes, kept as 64 hex digits in a file outside the repository:
`$XDG_CONFIG_HOME/cruddur-ddb/anonymize-secret` (`~/.config/cruddur-ddb/anonymize-secret`
when XDG_CONFIG_HOME is unset), or the file `ddb.anonymize_secret_file` names. The first
anonymized export makes it: the folder 0700, the file 0600, created with
O_CREAT|O_EXCL|O_NOFOLLOW (never through a link, never over another file); later exports
read it again, so stand-ins stay the same from run to run. A secret file that is a
symbolic link, not a regular file, someone else's, readable or writable by group or
others, or not 64 hex digits is refused in one line.

A configured salt (`INVOKE_DDB_ANONYMIZE_SALT`, for a team that shares its stand-ins) is
used as it is, except the old public default `cruddur-ddb-anonymize-v1`, which anyone can
recompute stand-ins with: it is refused.
"""

import errno
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import DdbError

PUBLIC_SALT = "cruddur-ddb-anonymize-v1"  # the default of earlier versions, published in invoke.yaml
SECRET_BYTES = 32
_READ = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)


class SecretError(DdbError):
    """The anonymization key cannot be used: a public salt, or an unsafe or damaged secret file."""


@dataclass(frozen=True)
class AnonymizeKey:
    """The key stand-ins are derived from, and where it came from."""

    key: bytes
    source: str  # "salt" (ddb.anonymize_salt) or the secret file's path
    created: bool = False  # the secret file was made by this call


def secret_file(configured: str | None = None) -> Path:
    """Where the installation's secret is: `configured` if given, else under $XDG_CONFIG_HOME (default ~/.config)."""
    if configured and str(configured).strip():
        return Path(str(configured)).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if Path(base).is_absolute() else Path.home() / ".config"
    return root / "cruddur-ddb" / "anonymize-secret"


def anonymize_key(salt: str | None, secret_path: Path) -> AnonymizeKey:
    """The configured salt if there is one (never the old public default), else the installation's secret."""
    salt = (salt or "").strip()
    if salt == PUBLIC_SALT:
        raise SecretError(
            f"ddb.anonymize_salt is {PUBLIC_SALT!r}, the old public default: anyone can recompute its stand-ins; "
            "unset it (a secret of this installation is then made and used) or set a salt of your own"
        )
    if salt:
        return AnonymizeKey(salt.encode("utf-8"), "salt")
    created = _make_secret(secret_path)
    return AnonymizeKey(_read_secret(secret_path), str(secret_path), created)


def _make_secret(path: Path) -> bool:
    """Make the secret file if there is none (0600, in a 0700 folder); True when this call made it."""
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SecretError(f"cannot make the folder {folder} for the anonymization secret: {exc.strerror}") from None
    try:
        fd = os.open(path, _CREATE, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SecretError(f"cannot make the anonymization secret {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(SECRET_BYTES) + "\n").encode("ascii"))
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        os.unlink(path)
        raise SecretError(f"cannot write the anonymization secret {path}: {exc.strerror}") from None
    os.close(fd)
    return True


def _read_secret(path: Path) -> bytes:
    """The secret's 32 bytes, after checking that the file is a regular file of ours that only we can read."""
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SecretError(f"the anonymization secret {path} is a symbolic link: refused (remove it)") from None
        raise SecretError(f"cannot read the anonymization secret {path}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SecretError(f"the anonymization secret {path} is not a regular file: refused")
    with os.fdopen(fd, "rb") as file:
        if info.st_uid != os.geteuid():
            raise SecretError(f"the anonymization secret {path} belongs to another user (uid {info.st_uid}): refused")
        if info.st_mode & 0o077:
            raise SecretError(
                f"the anonymization secret {path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}): "
                f"refused; `chmod 600 {path}` if no one else has read it, else delete it to make a new one"
            )
        text = file.read(4 * SECRET_BYTES).decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != SECRET_BYTES:
        raise SecretError(
            f"the anonymization secret {path} is not {2 * SECRET_BYTES} hex digits: damaged (delete it to make a new one)"
        )
    return key
