"""`s3://` wherever a folder is taken: export to S3 and import from it, ours and AWS's, against moto server's S3.

The S3 stand-in is the session's moto server, found as the SDK finds any endpoint
(`AWS_ENDPOINT_URL_S3`), with no flag of the tool's. The round trip and the AWS-style
export also run into DynamoDB Local (`each_engine`): S3 stays moto's.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import uuid

import boto3
import pytest

from ddb.backup import location as export_location
from ddb.backup import s3_path
from ddb.backup.s3_folder import S3Upload
from ddb.backup.s3_path import S3Path
from ddb.core.errors import InvalidInput
from ddb.core.target import local_target, prod_target

from .faultproxy import FaultProxy
from .support import TABLE, local_client, seed_table, typed_items

COPY = "cruddur-copy"
AWS_EXPORT_ID = "01733875200000-a1b2c3d4"


def _s3(endpoint):
    return boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def bucket(moto_server):
    """A new bucket of the session's moto server (its own name: DynamoDB Local's tests do not reset moto)."""
    name = f"backups-{uuid.uuid4().hex[:12]}"
    _s3(moto_server).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_env(moto_server):
    """The environment of a task that finds moto's S3 the SDK's way."""
    return {"AWS_ENDPOINT_URL_S3": moto_server}


def _keys(moto_server, bucket, prefix=""):
    answer = _s3(moto_server).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(entry["Key"] for entry in answer.get("Contents", []))


@pytest.mark.each_engine  # table creation, batch writes and the read-back are the engine's
def test_export_to_s3_then_import_from_it_into_a_new_table_gives_back_every_item(invoke, engine, moto_server, bucket, s3_env):
    assert invoke("setup").code == 0
    before = typed_items(local_client(engine))
    exported = invoke("export", "--out", f"s3://{bucket}/nightly/2026-11-25", "--segments", "2", env=s3_env)
    assert exported.code == 0, exported
    folder = exported.out.strip()
    assert folder.startswith(f"s3://{bucket}/nightly/2026-11-25/AWSDynamoDB/")
    prefix = folder.removeprefix(f"s3://{bucket}/")
    keys = _keys(moto_server, bucket, prefix)
    assert {k.removeprefix(prefix + "/") for k in keys if "/data/" not in k} == {
        "_started",
        "manifest-files.checksum",
        "manifest-files.json",
        "manifest-summary.checksum",
        "manifest-summary.json",
        "table-description.json",
    }
    s3 = _s3(moto_server)
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/manifest-summary.json")["Body"].read())
    assert (summary["s3Bucket"], summary["s3Prefix"], summary["itemCount"]) == (bucket, "nightly/2026-11-25", len(before))
    lines = s3.get_object(Bucket=bucket, Key=f"{prefix}/manifest-files.json")["Body"].read().decode().splitlines()
    for entry in map(json.loads, lines):
        assert entry["dataFileS3Key"].startswith(prefix + "/data/")  # whole keys, as AWS writes them
        data = s3.get_object(Bucket=bucket, Key=entry["dataFileS3Key"])["Body"].read()
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(data).digest()).decode()
        assert len(gzip.decompress(data).splitlines()) == entry["itemCount"]
    imported = invoke("import", f"s3://{bucket}/nightly/2026-11-25", "--table", COPY, env=s3_env)
    assert imported.code == 0, imported
    assert f"validated {folder}: {len(before)} items in 2 data file(s)" in imported.err
    assert typed_items(local_client(engine), COPY) == before
    again = invoke("export", "--out", f"s3://{bucket}/nightly/2026-11-25", "--segments", "2", env=s3_env)
    assert again.code == 0 and "already complete" in again.err


def _aws_style_export(moto_server, bucket: str, prefix: str, items: list[dict]) -> str:
    """Put an export into S3 as AWS's ExportTableToPointInTime lays it out (DynamoDB docs, "Export output format").

    `<prefix>/AWSDynamoDB/<export id>/` holds `_started`, `manifest-summary.json` (+ `.md5`),
    `manifest-files.json` (+ `.md5`) and `data/<name>.json.gz`; dataFileS3Key and
    manifestFilesS3Key are whole keys; the etag of a file uploaded in parts is `<hex>-<parts>`;
    there is no table description. Returns the export's key prefix.
    """
    s3 = _s3(moto_server)
    export = f"{prefix}/AWSDynamoDB/{AWS_EXPORT_ID}"
    s3.put_object(Bucket=bucket, Key=f"{export}/_started", Body=b"")
    halves = [items[: len(items) // 2], items[len(items) // 2 :]]
    entries = []
    for number, half in enumerate(halves):
        data = gzip.compress("".join(json.dumps({"Item": item}) + "\n" for item in half).encode())
        key = f"{export}/data/{'ab3xk2m4qlyvfe7dzu6wc5n2pi'[number:] + 'q' * number}.json.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        digest = hashlib.md5(data).digest()
        etag = f"{hashlib.md5(digest).hexdigest()}-1"  # a multipart upload's ETag: not the file's MD5
        entries.append(
            {"itemCount": len(half), "md5Checksum": base64.b64encode(digest).decode(), "etag": etag, "dataFileS3Key": key}
        )
    files = "".join(json.dumps(entry) + "\n" for entry in entries)
    summary = {
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/export/{AWS_EXPORT_ID}",
        "startTime": "2024-12-11T00:00:00.000Z",
        "endTime": "2024-12-11T00:04:12.345Z",
        "tableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}",
        "tableId": "b5a3c1e8-4f0d-4a57-9d62-1f1f7a1e2c3d",
        "exportTime": "2024-12-11T00:00:00.000Z",
        "s3Bucket": bucket,
        "s3Prefix": prefix,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{export}/manifest-files.json",
        "billedSizeBytes": 20480,
        "itemCount": len(items),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    for name, text in (("manifest-files", files), ("manifest-summary", json.dumps(summary))):
        s3.put_object(Bucket=bucket, Key=f"{export}/{name}.json", Body=text.encode())
        s3.put_object(Bucket=bucket, Key=f"{export}/{name}.md5", Body=hashlib.md5(text.encode()).hexdigest().encode())
    return export


@pytest.mark.each_engine  # the table made from the declaration, batch writes, the read-back
def test_an_aws_style_export_is_read_straight_from_s3_into_a_table_made_from_the_declaration(
    invoke, engine, moto_server, bucket, s3_env
):
    client = local_client(engine)
    seed_table(client)
    items = typed_items(client)
    _aws_style_export(moto_server, bucket, "exports/prod", items)
    imported = invoke("import", f"s3://{bucket}/exports/prod", "--table", COPY, env=s3_env)
    assert imported.code == 0, imported
    assert f"validated s3://{bucket}/exports/prod/AWSDynamoDB/{AWS_EXPORT_ID}: {len(items)} items in 2 data file(s)" in (
        imported.err
    )
    assert "created from the project schema" in imported.err
    assert typed_items(client, COPY) == items


def test_a_tampered_object_is_refused_in_one_line_before_any_request_to_the_engine(invoke, engine, moto_server, bucket, s3_env):
    seed_table(local_client(engine))
    items = typed_items(local_client(engine))
    export = _aws_style_export(moto_server, bucket, "tampered", items)
    s3 = _s3(moto_server)
    [key, *_] = [k for k in _keys(moto_server, bucket, f"{export}/data/")]
    data = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[-5] ^= 1  # one bit of the gzip trailer: same size, another MD5
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    with FaultProxy(engine) as proxy:
        run = invoke("import", f"s3://{bucket}/tampered", "--table", COPY, env=s3_env, endpoint=proxy.endpoint)
        assert sum(proxy.seen.values()) == 0  # not even a DescribeTable: nothing created, nothing written
    assert run.code == 1 and "Traceback" not in run.err
    (line,) = run.err.strip().splitlines()
    assert line.startswith(f"error: s3://{bucket}/{key}: MD5 is ")
    assert line.endswith("the file is damaged or not the one exported")
    assert COPY not in local_client(engine).list_tables()["TableNames"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("s3://", "no bucket named"),
        ("s3:///prefix", "no bucket named"),
        ("s3://Backups/x", "is not a bucket name"),
        ("s3://ab/x", "is not a bucket name"),
        ("s3://a..b/x", "is not a bucket name"),
        ("s3://192.168.1.1/x", "is not a bucket name"),
        ("s3://bucket-" + "x" * 60, "is not a bucket name"),
        ("s3://backups/a/../b", "its prefix has an empty, '.' or '..' part"),
        ("s3://backups/a//b", "its prefix has an empty, '.' or '..' part"),
        ("s3://backups/a\x1b[2Jb", "it holds a control character"),
        ("s3://backups/a\\b", "it holds a control character, a backslash"),
        ("s3://backups/" + "p" * 901, "its prefix is longer than 900 bytes"),
    ],
)
def test_an_s3_url_that_s3_would_not_take_is_one_line_naming_why(url, why):
    with pytest.raises(InvalidInput) as refused:
        export_location.parse_s3_url(url)
    message = str(refused.value)
    assert why in message and message.endswith("(expected s3://bucket/prefix)")
    assert "\n" not in message and "\x1b" not in message and len(message) < 250


def test_a_bad_s3_url_or_a_missing_bucket_is_one_line_exit_1_on_the_command_line(invoke, engine, s3_env):
    assert invoke("setup").code == 0
    for args in (("import", "s3://Not_A_Bucket/x"), ("export", "--out", "s3://backups/../x")):
        run = invoke(*args, env=s3_env)
        assert run.code == 1 and "Traceback" not in run.err, run
        (line,) = run.err.strip().splitlines()
        assert line.startswith("error: ") and "is not an S3 location: " in line
        assert line.endswith("(expected s3://bucket/prefix)")
    missing = invoke("import", "s3://no-such-bucket-here/x", env=s3_env)
    assert missing.code == 1 and "Traceback" not in missing.err
    (line,) = missing.err.strip().splitlines()
    assert line.startswith("error: s3://no-such-bucket-here/x: cannot list (NoSuchBucket")
    out = invoke("export", "--out", "s3://no-such-bucket-here/x", env=s3_env)
    assert out.code == 1 and out.err.strip().startswith("error: cannot read s3://no-such-bucket-here/x/.export-progress.json")


def test_a_data_file_larger_than_a_part_is_uploaded_in_parts_and_read_back_whole(moto_server, bucket):
    where = S3Path(_s3(moto_server), bucket, "big/data.bin")
    payload = os.urandom(11 * 1024 * 1024)
    upload = S3Upload(where, part_size=5 * 1024 * 1024)
    for start in range(0, len(payload), 1_000_000):
        upload.write(payload[start : start + 1_000_000])
        assert len(upload.buffer) < 5 * 1024 * 1024  # a full part is sent at once: memory holds at most one
    upload.finish()
    assert [p["PartNumber"] for p in upload.parts] == [1, 2, 3] and upload.etag.endswith("-3")
    with where.open() as body:
        assert hashlib.md5(body.read()).digest() == hashlib.md5(payload).digest()


def test_an_aborted_upload_leaves_no_object(moto_server, bucket):
    where = S3Path(_s3(moto_server), bucket, "aborted/data.bin")
    upload = S3Upload(where, part_size=5 * 1024 * 1024)
    upload.write(os.urandom(6 * 1024 * 1024))
    upload.abort()
    assert not where.is_file()
    assert _s3(moto_server).list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


class _Body:
    """A GetObject body that breaks off after `cut` bytes (once), as a dropped connection does."""

    def __init__(self, data: bytes, cut: int | None):
        self.stream, self.cut = io.BytesIO(data), cut

    def read(self, size: int) -> bytes:
        if self.cut is not None and self.stream.tell() >= self.cut:
            from urllib3.exceptions import ProtocolError

            raise ProtocolError("Connection broken: IncompleteRead")
        return self.stream.read(size if self.cut is None else min(size, self.cut - self.stream.tell()))

    def close(self) -> None:
        pass


class _Client:
    """Answers GetObject from `data`; the first body breaks off half-way; records each request."""

    def __init__(self, data: bytes):
        self.data, self.requests = data, list[dict]()

    def get_object(self, **request):
        self.requests.append(request)
        offset = int(request.get("Range", "bytes=0-")[6:-1])
        cut = len(self.data) // 2 if len(self.requests) == 1 else None
        return {"Body": _Body(self.data[offset:], cut), "ContentLength": len(self.data) - offset, "ETag": '"e1"'}


def test_a_download_that_breaks_off_goes_on_from_where_it_stopped_with_the_same_object():
    data = os.urandom(3 * s3_path.READ_BUFFER + 17)
    client = _Client(data)
    with S3Path(client, "backups", "x/data.json.gz").open() as body:
        assert body.read() == data
    assert client.requests[1]["Range"] == f"bytes={len(data) // 2}-" and client.requests[1]["IfMatch"] == '"e1"'


def test_the_s3_client_sends_local_credentials_to_a_stand_in_and_the_sdk_chain_to_aws(monkeypatch, moto_server):
    local = local_target(TABLE, "us-east-1", "http://127.0.0.1:8000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    stand_in = export_location.s3_client(local)
    assert stand_in.meta.endpoint_url == moto_server
    assert stand_in._request_signer._credentials.access_key == "local"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    aws = export_location.s3_client(local)
    assert "amazonaws.com" in aws.meta.endpoint_url
    assert aws._request_signer._credentials.access_key == "testing"  # the environment's, as the SDK finds them
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    prod = export_location.s3_client(prod_target(TABLE, "us-east-1"))
    assert prod.meta.endpoint_url == moto_server and prod._request_signer._credentials.access_key == "testing"
