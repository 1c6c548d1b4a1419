"""Writing an export into an S3 prefix: the same calls as `export_files.Folder`, made of S3 requests.

`ddb.backup.exporting` and `ddb.backup.progress` write through a folder's few methods
(`child`, `exists`, `read_text`, `write_atomically`, `write_manifests`, `data_file`, …);
`S3Folder` answers them for `s3://bucket/prefix`, so an export to S3 is the same export:
the same files, manifests, MD5s and progress record (resume included).

- A small file (a manifest, the progress record) is one PutObject: S3 stores an object
  whole or not at all, as the folder's write-then-rename does.
- A data file is streamed through `S3Upload`: bytes gather in one part of `PART_SIZE`;
  each full part is sent (UploadPart) and dropped, so memory holds one part per segment
  however large the file. A file smaller than a part is one PutObject. The object appears
  only when the upload completes; a failed one is aborted (AbortMultipartUpload), so no
  half-written data file is ever listed. (A killed process leaves an unfinished upload,
  never an object: a bucket lifecycle rule "abort incomplete multipart uploads" clears them.)
- S3 has no folders and no links: `child` only extends the prefix, and the clean-up
  calls (`unlink`, `remove_folder`) have nothing to do, as a data file is never half there.
  So an S3 export needs s3:PutObject, s3:GetObject, s3:ListBucket and
  s3:AbortMultipartUpload, and never deletes.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from ddb.backup.export_files import ExportWriteError, manifest_texts
from ddb.backup.layout import DataFile
from ddb.backup.s3_path import S3Path, s3_reason
from ddb.core.clients import S3Client

PART_SIZE = 8 * 1024 * 1024  # S3 takes parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 a file
MAX_TEXT_BYTES = 16 * 1024 * 1024  # the progress record and the manifests are far smaller


def _failed(doing: str, where: S3Path, exc: BaseException) -> ExportWriteError:
    return ExportWriteError(f"{doing} {where}: {s3_reason(exc)}")


@contextmanager
def _s3_errors(doing: str, where: S3Path) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise _failed(doing, where, exc) from None


class S3Upload:
    """A new object written as a stream: parts of PART_SIZE sent as they fill; `finish` completes it, `abort` drops it."""

    def __init__(self, where: S3Path, part_size: int = PART_SIZE):
        self.where, self.part_size = where, part_size
        self.buffer = bytearray()
        self.parts: list[dict] = []
        self.upload_id: str | None = None
        self.etag = ""  # S3's ETag of the finished object, without quotes

    @property
    def client(self) -> S3Client:
        """The S3 client the object is written through."""
        return self.where.client

    def write(self, data: bytes) -> int:
        """Add `data`; send every full part."""
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            self._send(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]
        return len(data)

    def flush(self) -> None:
        """Nothing: a part is sent when it is full (S3 takes no part under 5 MiB but the last)."""

    def _send(self, part: bytes) -> None:
        where = self.where
        with _s3_errors("cannot write", where):
            if self.upload_id is None:
                self.upload_id = self.client.create_multipart_upload(Bucket=where.bucket, Key=where.key)["UploadId"]
            number = len(self.parts) + 1
            answer = self.client.upload_part(
                Bucket=where.bucket, Key=where.key, UploadId=self.upload_id, PartNumber=number, Body=part
            )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        """Store the object: one PutObject when it fits a part, else the last part and CompleteMultipartUpload."""
        where = self.where
        if self.upload_id is None:
            with _s3_errors("cannot write", where):
                answer = self.client.put_object(Bucket=where.bucket, Key=where.key, Body=bytes(self.buffer))
        else:
            if self.buffer:
                self._send(bytes(self.buffer))
            with _s3_errors("cannot write", where):
                answer = self.client.complete_multipart_upload(
                    Bucket=where.bucket, Key=where.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
                )
        self.buffer = bytearray()
        self.etag = str(answer.get("ETag", "")).strip('"')

    def abort(self) -> None:
        """Drop an unfinished upload (best effort: the error that stopped it is the one to report)."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.buffer = bytearray()
        if self.upload_id is not None:
            try:
                self.client.abort_multipart_upload(Bucket=self.where.bucket, Key=self.where.key, UploadId=self.upload_id)
            except (BotoCoreError, ClientError):
                pass
            self.upload_id = None


class S3Folder:
    """An export's place in S3, written with the calls of `export_files.Folder` (see the module's docstring)."""

    def __init__(self, path: S3Path):
        self.path = path

    @classmethod
    def open_out(cls, out: S3Path) -> "S3Folder":
        """The prefix `out`; nothing is sent until the first read or write."""
        return cls(out)

    @property
    def s3_place(self) -> tuple[str, str]:
        """(bucket, key prefix) of this folder: what the manifests name as s3Bucket and s3Prefix."""
        return self.path.bucket, self.path.key

    def close(self) -> None:
        """Nothing to close: S3 keeps no open folder."""

    def child(self, name: str, *, create: bool) -> "S3Folder":
        """The prefix `name` below this one (S3 has no folders to make)."""
        return S3Folder(self.path / name)

    def exists(self, name: str) -> bool:
        """True when an object is stored at `name` or below `name/`."""
        found = self.path / name
        return found.is_dir() or found.is_file()

    def read_text(self, name: str) -> str | None:
        """The text of the object `name`, or None when there is none."""
        where = self.path / name
        try:
            with where.open("rb") as body:
                raw = body.read(MAX_TEXT_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ExportWriteError(f"cannot read {where}: {exc.strerror or exc}") from None
        if len(raw) > MAX_TEXT_BYTES:
            raise ExportWriteError(f"{where}: larger than {MAX_TEXT_BYTES} bytes: not a file of an export")
        return raw.decode("utf-8", "replace")

    def unlink(self, name: str) -> None:
        """Nothing: an export to S3 leaves no partial object to remove (see the module's docstring)."""

    def remove_folder(self, name: str) -> None:
        """Nothing: S3 has no folders."""

    def write_atomically(self, name: str, text: str) -> None:
        """Store `text` at `name` in one PutObject (S3 stores it whole or not at all)."""
        where = self.path / name
        with _s3_errors("cannot write", where):
            where.client.put_object(Bucket=where.bucket, Key=where.key, Body=text.encode("utf-8"))

    def write_manifests(self, summary: dict, files: list[DataFile]) -> None:
        """manifest-files.json first, then manifest-summary.json, with their .checksum objects."""
        for name, text in manifest_texts(summary, files):
            self.write_atomically(name, text)

    @contextmanager
    def data_file(self, name: str) -> Iterator[S3Upload]:
        """A data file streamed to `name`: stored when the block ends, aborted when it raises."""
        upload = S3Upload(self.path / name)
        try:
            yield upload
            upload.finish()
        except BaseException:
            upload.abort()
            raise
