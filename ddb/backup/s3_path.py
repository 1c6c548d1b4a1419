"""An S3 prefix that reads like a folder: what an import needs of `pathlib.Path`, over S3.

`S3Path` has the few methods the export readers (`ddb.backup.layout`, `ddb.backup.source`)
call on a folder or a file: `/`, `name`, `parent`, `is_file`, `is_dir`, `glob`, `stat`,
`open("rb")`. So every check of an export (sizes, MD5s, counts, line caps, the item
contract) is the same code for a folder and for S3. Reading is streamed: `open` hands
a buffered reader over GetObject's body, which is read a buffer at a time and, when the
connection drops, asked again from where it stopped (a Range request pinned to the
object's ETag, so the bytes are always of one object).

A file that is not there is `FileNotFoundError`, any other failure an `OSError` with one
line, as the readers expect of a file. Listing and HEAD failures other than "not there"
raise `S3AccessError` (a `DdbError`). Building the client and parsing `s3://` URLs is
`ddb.backup.s3_url`.
"""

import fnmatch
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ddb.core.awserrors import error_code
from ddb.core.clients import S3Client
from ddb.core.errors import DdbError
from ddb.core.text import escaped

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

READ_BUFFER = 256 * 1024  # bytes read from the body at a time
REOPEN_ATTEMPTS = 5  # a dropped body is asked again from its offset this many times
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3AccessError(DdbError):
    """S3 refused or failed a request (no such bucket, access denied, no answer): one line naming the object."""


def s3_reason(exc: BaseException) -> str:
    """One short line of what S3 (or the connection) said: `NoSuchBucket: The specified bucket does not exist`."""
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    if error.get("Code"):
        text = f"{error['Code']}: {error.get('Message') or 'no message'}"
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return escaped(text[:200])


def _missing(exc: BaseException) -> bool:
    response = getattr(exc, "response", None) or {}
    status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return error_code(exc) in _MISSING or (status == "404" and error_code(exc) != "NoSuchBucket")


def _as_os_error(exc: BaseException, where: "S3Path") -> OSError:
    if _missing(exc):
        return FileNotFoundError(2, "no such object", str(where))
    if error_code(exc) in ("AccessDenied", "403"):
        return PermissionError(13, f"access denied ({s3_reason(exc)})", str(where))
    return OSError(5, s3_reason(exc), str(where))


@dataclass(frozen=True)
class Stat:
    """What `S3Path.stat` answers: the object's size in bytes."""

    st_size: int


class S3Path:
    """The object (or the prefix) `key` of `bucket`, read through `client`; shown as `s3://bucket/key`."""

    def __init__(self, client: S3Client, bucket: str, key: str = ""):
        self.client, self.bucket, self.key = client, bucket, key.strip("/")
        self._etag: str | None = None  # the ETag of the first read: later reads must be of the same object

    def __truediv__(self, name: str) -> "S3Path":
        return S3Path(self.client, self.bucket, f"{self.key}/{name}" if self.key else name)

    def __str__(self) -> str:
        return escaped(f"s3://{self.bucket}/{self.key}")

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and (other.bucket, other.key) == (self.bucket, self.key)

    def __hash__(self) -> int:
        return hash((self.bucket, self.key))

    def __lt__(self, other: "S3Path") -> bool:
        return self.key < other.key

    @property
    def name(self) -> str:
        """The last part of the key."""
        return self.key.rsplit("/", 1)[-1]

    @property
    def parent(self) -> "S3Path":
        """The prefix above this key."""
        return S3Path(self.client, self.bucket, self.key.rsplit("/", 1)[0] if "/" in self.key else "")

    def _head(self) -> dict | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self.key, **self._pinned())
        except ClientError as exc:
            if _missing(exc):
                return None
            raise S3AccessError(f"{self}: cannot read ({s3_reason(exc)})") from None
        except BotoCoreError as exc:
            raise S3AccessError(f"{self}: cannot read ({s3_reason(exc)})") from None
        self._etag = self._etag or answer.get("ETag")
        return answer

    def _pinned(self) -> dict:
        return {"IfMatch": self._etag} if self._etag else {}

    def is_file(self) -> bool:
        """True when an object is stored at this key (HeadObject)."""
        return bool(self.key) and self._head() is not None

    def stat(self) -> Stat:
        """The object's size (HeadObject); FileNotFoundError when there is none."""
        answer = self._head()
        if answer is None:
            raise FileNotFoundError(2, "no such object", str(self))
        return Stat(int(answer["ContentLength"]))

    def _list(self, prefix: str, delimiter: bool, most: int | None = None) -> tuple[list[str], list[str]]:
        """(keys, common prefixes) listed below `prefix`, page by page (ListObjectsV2)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[str] = []
        prefixes: list[str] = []
        request: dict = {"Bucket": self.bucket, "Prefix": prefix, **({"Delimiter": "/"} if delimiter else {})}
        if most:
            request["MaxKeys"] = most
        try:
            while True:
                page = self.client.list_objects_v2(**request)
                keys += [entry["Key"] for entry in page.get("Contents", [])]
                prefixes += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
                if most or not page.get("IsTruncated"):
                    return keys, prefixes
                request["ContinuationToken"] = page["NextContinuationToken"]
        except (ClientError, BotoCoreError) as exc:
            raise S3AccessError(f"{self}: cannot list ({s3_reason(exc)})") from None

    def is_dir(self) -> bool:
        """True when any object is stored below this prefix."""
        keys, prefixes = self._list(f"{self.key}/" if self.key else "", delimiter=True, most=1)
        return bool(keys or prefixes)

    def glob(self, pattern: str) -> list["S3Path"]:
        """The objects and prefixes below this one that match `pattern` (`*.json`, `*/manifest-summary.json`)."""
        first, _, rest = pattern.partition("/")
        keys, prefixes = self._list(f"{self.key}/" if self.key else "", delimiter=True)
        if rest:
            found = []
            for prefix in prefixes:
                child = S3Path(self.client, self.bucket, prefix)
                if fnmatch.fnmatchcase(child.name, first):
                    found += child.glob(rest)
            return found
        return [S3Path(self.client, self.bucket, key) for key in keys if fnmatch.fnmatchcase(key.rsplit("/", 1)[-1], first)]

    def open(self, mode: str = "rb") -> io.BufferedReader:
        """The object's bytes, streamed from GetObject's body; FileNotFoundError when there is none."""
        if mode != "rb":
            raise ValueError("S3Path opens objects for reading bytes only")
        return io.BufferedReader(_ObjectReader(self), READ_BUFFER)

    def get(self, offset: int = 0) -> dict:
        """GetObject from `offset`, of the same object as the first read (IfMatch its ETag); OSError when it fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        request = {"Bucket": self.bucket, "Key": self.key, **self._pinned()}
        if offset:
            request["Range"] = f"bytes={offset}-"
        try:
            answer = self.client.get_object(**request)
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise OSError(5, "the object changed while it was read", str(self)) from None
            raise _as_os_error(exc, self) from None
        except BotoCoreError as exc:
            raise OSError(5, s3_reason(exc), str(self)) from None
        self._etag = self._etag or answer.get("ETag")
        return answer


class _ObjectReader(io.RawIOBase):
    """GetObject's body as a raw stream: each read fills the buffer it is given; a dropped body is asked again."""

    def __init__(self, path: S3Path):
        super().__init__()
        self.path, self.offset, self.reopened = path, 0, 0
        answer = path.get()
        self.body, self.size = answer["Body"], int(answer.get("ContentLength", 0))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer", /) -> int:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                chunk = self.body.read(len(view) - filled)
            except (BotoCoreError, HTTPError, OSError) as exc:
                self._reopen(exc)
                continue
            if not chunk:
                if self.offset < self.size:
                    self._reopen(EOFError(f"the body ended at byte {self.offset} of {self.size}"))
                    continue
                break
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self.offset += len(chunk)
        return filled

    def _reopen(self, exc: BaseException) -> None:
        self.body.close()
        self.reopened += 1
        if self.reopened > REOPEN_ATTEMPTS:
            raise OSError(5, f"the download broke off {REOPEN_ATTEMPTS} times ({s3_reason(exc)})", str(self.path))
        self.body = self.path.get(self.offset)["Body"]

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()
