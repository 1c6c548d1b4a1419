"""Where an export lives: a folder, or an S3 prefix given as `s3://bucket/prefix`.

`location(text, target)` makes either a `pathlib.Path` or a `ddb.backup.s3_path.S3Path`
of what a user typed; both read alike (`Location`), so the import's checks are one code
path, and `ddb.backup.exporting` writes into either (a `Folder` or an `S3Folder`).

The S3 client follows the AWS SDK's own conventions, as `ddb.core.target.client` does for
DynamoDB: the endpoint is the SDK's (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the
profile's), never a flag. With a local target and an S3 endpoint set in the environment
(a local stand-in: moto, MinIO), the client sends the local dummy credentials, so real
keys never reach it; otherwise (`--prod`, or a local target reading AWS's own S3) the
standard chain finds the credentials, profile and region.
"""

import os
import re
from pathlib import Path
from typing import TypeAlias

from ddb.backup.export_files import Folder
from ddb.backup.s3_folder import S3Folder
from ddb.backup.s3_path import S3Path
from ddb.core import retry
from ddb.core.clients import S3Client
from ddb.core.errors import CredentialsError, InvalidInput
from ddb.core.target import LOCAL_CREDENTIALS, Target, prod_region
from ddb.core.text import escaped, shown

Location: TypeAlias = Path | S3Path  # a folder or an S3 prefix (or a file below either)
Writable: TypeAlias = Folder | S3Folder  # the same, opened for an export to write into

SCHEME = "s3://"
# S3's rules for a bucket name: 3-63 of a-z 0-9 . -, a letter or digit at each end, no "..".
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\\\\]|[\ud800-\udfff]")
# An S3 key is at most 1,024 bytes; the export adds AWSDynamoDB/<id>/data/<26 chars>.json.gz (80 bytes).
MAX_PREFIX_BYTES = 900


def is_s3_url(text: str | Path) -> bool:
    """True when `text` names an S3 location (`s3://…`, any case of the scheme)."""
    return isinstance(text, str) and text[: len(SCHEME)].lower() == SCHEME


def parse_s3_url(text: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`; InvalidInput in one line for anything S3 would not take."""

    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"{shown(text)} is not an S3 location: {why} (expected s3://bucket/prefix)")

    if not is_s3_url(text):
        raise refuse("it does not start with s3://")
    bucket, _, prefix = text[len(SCHEME) :].partition("/")
    if _UNSAFE.search(text):
        raise refuse("it holds a control character, a backslash or a lone surrogate")
    if not bucket:
        raise refuse("no bucket named")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP_ADDRESS.fullmatch(bucket):
        raise refuse(f"{escaped(bucket[:70])!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if any(part in ("", ".", "..") for part in parts):
        raise refuse("its prefix has an empty, '.' or '..' part")
    if len(prefix.encode("utf-8")) > MAX_PREFIX_BYTES:
        raise refuse(f"its prefix is longer than {MAX_PREFIX_BYTES} bytes")
    return bucket, prefix


def s3_endpoint_from_environment() -> str | None:
    """The S3 endpoint the SDK takes from the environment (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`), if any."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def s3_client(target: Target) -> S3Client:
    """A boto3 S3 client for the exports of `target` (see the module's docstring), with the target's timeouts and retries."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        connect_timeout=target.connect_timeout,
        read_timeout=target.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},  # ddb.core.retry decides every retry
    )
    try:
        if target.prod or s3_endpoint_from_environment() is None:
            region = prod_region(target) if target.prod else target.region
            session = boto3.session.Session(region_name=region)
        else:
            session = boto3.session.Session(region_name=target.region, **LOCAL_CREDENTIALS)
        return retry.install(session.client("s3", config=config), target.retries)
    except BotoCoreError as exc:  # a profile that does not exist, an endpoint that is no URL, …
        first = escaped(str(exc).splitlines()[0][:200]) if str(exc) else type(exc).__name__
        raise CredentialsError(f"the AWS configuration for S3 is unusable: {first}") from None


def location(text: str | Path, target: Target, client: S3Client | None = None) -> Location:
    """The folder or S3 prefix `text` names; an S3 one is read and written through `client` (else `s3_client(target)`)."""
    if isinstance(text, S3Path):
        return text
    if not is_s3_url(text):
        return Path(text)
    bucket, prefix = parse_s3_url(str(text))
    return S3Path(client or s3_client(target), bucket, prefix)


def open_out(out: "Location | str") -> Writable:
    """`out` opened for an export to write into: a `Folder` (made 0700 if missing) or an `S3Folder`."""
    if isinstance(out, S3Path):
        return S3Folder.open_out(out)
    if is_s3_url(out):
        raise InvalidInput(f"{shown(out)}: an S3 location needs a client: make it with location(text, target)")
    return Folder.open_out(Path(out))
