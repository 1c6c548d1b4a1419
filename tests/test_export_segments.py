"""export's default segments: by the table's size and the engine that serves it (`ddb.backup.segments`)."""

import json
from types import SimpleNamespace

import pytest

from ddb.backup import exporting
from ddb.backup import segments as scan_segments
from ddb.core.errors import DdbError

from .support import TABLE, local_client, seed_table

MB = 1024 * 1024
LOCAL_ARN = f"arn:aws:dynamodb:ddblocal:000000000000:table/{TABLE}"
AWS_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"


def _client(endpoint: str):
    return SimpleNamespace(meta=SimpleNamespace(endpoint_url=endpoint))


@pytest.mark.parametrize(
    ("engine", "size", "segments"),
    [
        (scan_segments.MOTO_OR_OTHER, 0, 1),
        (scan_segments.MOTO_OR_OTHER, 10_000 * MB, 1),
        (scan_segments.DYNAMODB_LOCAL, 0, 1),
        (scan_segments.DYNAMODB_LOCAL, 612_366, 1),  # 2,000 items
        (scan_segments.DYNAMODB_LOCAL, 3_064_980, 2),  # 10,000 items
        (scan_segments.DYNAMODB_LOCAL, 15_841_625, 4),  # 51,500 items
        (scan_segments.DYNAMODB_LOCAL, 10_000 * MB, 4),
        (scan_segments.AWS, 16 * MB, 1),
        (scan_segments.AWS, 200 * MB, 3),
        (scan_segments.AWS, 10_000 * MB, 16),
    ],
)
def test_the_default_segments_grow_with_the_table_up_to_the_engines_cap(engine, size, segments):
    assert scan_segments.for_table(engine, size) == segments


def test_the_engine_is_known_by_dynamodb_locals_arn_and_by_the_aws_endpoint():
    local, elsewhere = {"TableArn": LOCAL_ARN}, {"TableArn": AWS_ARN}
    assert scan_segments.engine_of(_client("http://127.0.0.1:8000"), local) == scan_segments.DYNAMODB_LOCAL
    assert scan_segments.engine_of(_client("https://dynamodb.eu-west-1.amazonaws.com"), elsewhere) == scan_segments.AWS
    assert scan_segments.engine_of(_client("http://127.0.0.1:5000"), elsewhere) == scan_segments.MOTO_OR_OTHER
    assert scan_segments.engine_of(_client("http://127.0.0.1:5000"), {}) == scan_segments.MOTO_OR_OTHER


def test_the_default_segments_read_the_tables_size_from_its_description():
    local = {"TableArn": LOCAL_ARN, "TableSizeBytes": 15_841_625}
    assert scan_segments.default_segments(_client("http://127.0.0.1:8000"), local) == 4
    assert scan_segments.default_segments(_client("http://127.0.0.1:8000"), {"TableArn": LOCAL_ARN}) == 1


@pytest.mark.each_engine  # which engine serves the table decides
def test_an_export_with_default_segments_scans_in_parallel_on_dynamodb_local_only(engine, tmp_path, monkeypatch):
    client = local_client(engine)
    seed_table(client)
    monkeypatch.setattr(scan_segments, "LOCAL_SEGMENT_BYTES", 1000)  # the 112 items (about 30 KB) as a big table

    result = exporting.export_table(client, TABLE, tmp_path / "out", segments=None)

    local = "ddblocal" in client.describe_table(TableName=TABLE)["Table"]["TableArn"]
    assert (result.segments, len(result.files), result.item_count) == ((4, 4, 112) if local else (1, 1, 112))


def test_an_export_with_default_segments_resumes_with_the_segments_it_was_started_with(client, seeded, tmp_path):
    exporting.export_table(client, TABLE, tmp_path, segments=3)

    again = exporting.export_table(client, TABLE, tmp_path, segments=None)  # moto's default would be 1

    assert (again.already_complete, again.segments, again.item_count) == (True, 3, 112)
    with pytest.raises(DdbError, match="the --segments differs"):
        exporting.export_table(client, TABLE, tmp_path, segments=1)


def test_invoke_export_takes_auto_by_default_and_as_a_flag_and_refuses_zero(invoke, engine, tmp_path):
    assert invoke("setup").code == 0

    default = invoke("export", "--out", str(tmp_path / "a"))
    flag = invoke("export", "--out", str(tmp_path / "b"), "--segments", "auto")
    zero = invoke("export", "--out", str(tmp_path / "c"), "--segments", "0")

    assert default.code == flag.code == 0, (default, flag)
    for out in ("a", "b"):
        progress = json.loads((tmp_path / out / exporting.PROGRESS).read_text())
        assert progress["segments"] == 1  # moto serves one request at a time
    assert zero.code == 1 and "--segments must be a whole number from 1 to 1000, not '0'" in zero.err
