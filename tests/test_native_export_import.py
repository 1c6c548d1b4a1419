"""AWS's own export and import (`--native`), and incremental exports applied by `invoke import`.

moto server stands in for AWS (DynamoDB and S3, reached the SDK's way: AWS_ENDPOINT_URL_DYNAMODB,
AWS_ENDPOINT_URL_S3, STS for the prompt's account). Where moto's stand-in differs from AWS's
documented layout, the code follows AWS and `test_moto_gap_...` shows what moto lacks. Exports in
AWS's documented layout (full and incremental) are written into moto's S3 here; their import runs
into moto and DynamoDB Local alike (`each_engine`).
"""

import base64
import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from ddb.backup import native_export
from ddb.core.errors import InvalidInput
from ddb.schema import declaration as schema

from .support import TABLE, local_client, seed_table, typed_items

COPY = "cruddur-messages-restored"
FULL_ID = "01764990000000-0f0f0f0f"
T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _s3(endpoint):
    return boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def bucket(engine, moto_server):
    """A new bucket of moto's S3 (made after `engine` reset moto; its own name, as DynamoDB Local's tests do not reset it)."""
    name = f"native-{uuid.uuid4().hex[:12]}"
    _s3(moto_server).create_bucket(Bucket=name)
    return name


@pytest.fixture
def prod_env(moto_server):
    """--prod pointed at moto server the SDK's way, as the prod tests do."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": moto_server,
        "AWS_ENDPOINT_URL_S3": moto_server,
        "AWS_ENDPOINT_URL_STS": moto_server,  # the prompt's account: moto answers GetCallerIdentity
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def put_aws_export(s3, bucket: str, prefix: str, export_id: str, lines: list[dict], summary: dict) -> str:
    """An export in AWS's documented layout ("DynamoDB table export output format"): `_started`, the manifests, one data file."""
    export = f"{prefix}/AWSDynamoDB/{export_id}"
    s3.put_object(Bucket=bucket, Key=f"{export}/_started", Body=b"")
    # UTF-8 as is, not \\u escapes: moto's ImportTable keeps an escape as its six characters (a moto gap, below).
    data = gzip.compress("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode(), mtime=0)
    key = f"{export}/data/{hashlib.sha256(export_id.encode()).hexdigest()[:26]}.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    digest = hashlib.md5(data).digest()
    entry = {
        "itemCount": len(lines),
        "md5Checksum": base64.b64encode(digest).decode(),
        "etag": digest.hex(),
        "dataFileS3Key": key,
    }
    whole = {
        "exportArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/export/{export_id}",
        "tableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}",
        "s3Bucket": bucket,
        "s3Prefix": prefix,
        "manifestFilesS3Key": f"{export}/manifest-files.json",
        "billedSizeBytes": len(data) * 3,
        "itemCount": len(lines),
        "outputFormat": "DYNAMODB_JSON",
        **summary,
    }
    for name, text in (("manifest-files", json.dumps(entry) + "\n"), ("manifest-summary", json.dumps(whole))):
        s3.put_object(Bucket=bucket, Key=f"{export}/{name}.json", Body=text.encode())
        s3.put_object(Bucket=bucket, Key=f"{export}/{name}.checksum", Body=hashlib.md5(text.encode()).hexdigest().encode())
    return export


def put_full(s3, bucket, prefix, items, taken=T0, export_id=FULL_ID) -> str:
    summary = {"version": "2020-06-30", "exportType": "FULL_EXPORT", "exportTime": _iso(taken), "startTime": _iso(taken)}
    return put_aws_export(s3, bucket, prefix, export_id, [{"Item": item} for item in items], summary)


def change_lines(before: list[dict], after: list[dict], view: str) -> list[dict]:
    """An incremental export's lines between two states of the table, as AWS documents them for `view`."""
    old = {(i["pk"]["S"], i["sk"]["S"]): i for i in before}
    new = {(i["pk"]["S"], i["sk"]["S"]): i for i in after}
    lines = []
    for number, key in enumerate(sorted(set(old) | set(new))):
        if old.get(key) == new.get(key):
            continue
        line: dict = {"Metadata": {"WriteTimestampMicros": str(1765015200000000 + number)}}
        line["Keys"] = {"pk": {"S": key[0]}, "sk": {"S": key[1]}}
        if view == "NEW_AND_OLD_IMAGES" and key in old:
            line["OldImage"] = old[key]
        if key in new:
            line["NewImage"] = new[key]
        lines.append(line)
    return lines


def put_incremental(s3, bucket, prefix, lines, start, end, view, export_id) -> str:
    summary = {
        "version": "2023-08-01",
        "exportType": "INCREMENTAL_EXPORT",
        "exportFromTime": _iso(start),
        "exportToTime": _iso(end),
        "startTime": _iso(end),
        "outputView": view,
    }
    return put_aws_export(s3, bucket, prefix, export_id, lines, summary)


def _change_the_table(client) -> None:
    """A put (a new message), an update (a message's text) and a delete (another message)."""
    messages = [i for i in typed_items(client) if i["pk"]["S"].startswith("MSG#")]
    first, second = messages[0], messages[1]
    new = {**first, "sk": {"S": "2026-12-06T10:30:00.000000+00:00"}, "message_uuid": {"S": str(uuid.uuid4())}}
    new["message"] = {"S": "a message written between the two exports"}
    client.put_item(TableName=TABLE, Item=new)
    client.update_item(
        TableName=TABLE,
        Key={"pk": first["pk"], "sk": first["sk"]},
        UpdateExpression="SET message = :m",
        ExpressionAttributeValues={":m": {"S": "edited after the full export"}},
    )
    client.delete_item(TableName=TABLE, Key={"pk": second["pk"], "sk": second["sk"]})


@pytest.mark.each_engine  # the import's writes and read-back are the engine's; S3 stays moto's
def test_a_full_export_and_two_incremental_ones_restore_the_table_as_of_the_last(invoke, engine, moto_server, bucket):
    client = local_client(engine)
    seed_table(client)
    at_full = typed_items(client)
    s3 = _s3(moto_server)
    put_full(s3, bucket, "cdc", at_full)
    _change_the_table(client)
    middle = typed_items(client)
    lines = change_lines(at_full, middle, "NEW_AND_OLD_IMAGES")
    assert sorted(("NewImage" in line, "OldImage" in line) for line in lines) == [(False, True), (True, False), (True, True)]
    put_incremental(s3, bucket, "cdc", lines, T0, T0 + timedelta(hours=1), "NEW_AND_OLD_IMAGES", "01765000000000-1a1a1a1a")
    _change_the_table(client)  # again: a second window, exported with the NEW_IMAGE view (a delete is Keys alone)
    later = typed_items(client)
    lines = change_lines(middle, later, "NEW_IMAGE")
    assert any(set(line) == {"Metadata", "Keys"} for line in lines)
    end = T0 + timedelta(hours=2)
    put_incremental(s3, bucket, "cdc", lines, T0 + timedelta(minutes=50), end, "NEW_IMAGE", "01765003600000-2b2b2b2b")
    run = invoke("import", f"s3://{bucket}/cdc", "--table", COPY, env={"AWS_ENDPOINT_URL_S3": moto_server})
    assert run.code == 0, run
    assert f"validated s3://{bucket}/cdc/AWSDynamoDB/{FULL_ID}: {len(later)} items" in run.err
    assert f"with 2 incremental export(s) applied on top of it (the last ends {end.isoformat()}): 2 item(s) put" in run.err
    assert typed_items(client, COPY) == later != at_full


def test_a_gap_between_exports_or_an_incremental_export_alone_is_refused_in_one_line(invoke, engine, moto_server, bucket):
    client = local_client(engine)
    seed_table(client)
    items = typed_items(client)
    s3 = _s3(moto_server)
    put_full(s3, bucket, "gap", items)
    later = T0 + timedelta(hours=2)
    put_incremental(s3, bucket, "gap", [], later, later + timedelta(hours=1), "NEW_IMAGE", "01765007200000-3c3c3c3c")
    run = invoke("import", f"s3://{bucket}/gap", "--table", COPY, env={"AWS_ENDPOINT_URL_S3": moto_server})
    assert run.code == 1 and len(run.err.strip().splitlines()) == 1, run
    assert "the changes in between are in no export" in run.err
    alone = f"s3://{bucket}/gap/AWSDynamoDB/01765007200000-3c3c3c3c"
    run = invoke("import", alone, "--table", COPY, env={"AWS_ENDPOINT_URL_S3": moto_server})
    assert run.code == 1 and "an incremental export is applied on top of its full export" in run.err, run
    assert COPY not in client.list_tables()["TableNames"]


def _pitr_on(invoke, prod_env) -> None:
    plan = invoke("schema-plan", "--prod", "--pitr", env=prod_env)
    assert plan.code == 0 and "1. [safe] turn point-in-time recovery on" in plan.out, plan
    applied = invoke("schema-apply", "--prod", "--pitr", "--yes", env=prod_env)
    assert applied.code == 0 and "up to date with the declaration" in applied.err, applied


def test_a_native_export_is_started_awaited_and_reported_with_its_cost(invoke, engine, moto_server, bucket, prod_env):
    client = local_client(engine)
    seed_table(client)
    count = len(typed_items(client))
    _pitr_on(invoke, prod_env)
    run = invoke("export", "--prod", "--native", f"s3://{bucket}/nightly", "--yes", env=prod_env)
    assert run.code == 0, run
    assert run.out == f"s3://{bucket}/nightly\n"  # moto's ARN holds no export id (see the moto gap below)
    lines = [line for line in run.err.splitlines() if line.strip()]  # a progress line leaves a blank one
    assert lines[0] == f"target: prod table 'cruddur-messages' in us-east-1 (account 123456789012) at {moto_server}"
    assert lines[1].startswith("started arn:aws:dynamodb:us-east-1:123456789012:table/")
    assert lines[2].startswith("export arn:") and ": FULL_EXPORT, completed in " in lines[2]
    assert lines[3].startswith(f"{count} items; billed size ") and " at $0.10/GB (us-east-1 price of 2026-12-06)" in lines[3]
    assert [k for k in _keys(moto_server, bucket) if k.startswith("nightly/AWSDynamoDB/")]


def _keys(moto_server, bucket, prefix=""):
    answer = _s3(moto_server).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(entry["Key"] for entry in answer.get("Contents", []))


def test_point_in_time_recovery_off_is_one_line_naming_how_to_turn_it_on(invoke, engine, bucket, prod_env):
    seed_table(local_client(engine))
    run = invoke("export", "--prod", "--native", f"s3://{bucket}/x", "--yes", env=prod_env)
    assert run.code == 1 and "Traceback" not in run.err
    assert run.err.strip().splitlines()[-1] == (
        "error: point-in-time recovery is off for table 'cruddur-messages', and AWS exports only a table that has it: "
        "declare it and turn it on with `invoke schema-apply --prod --pitr` (or ddb.point_in_time_recovery: true)"
    )


def test_without_a_terminal_or_yes_the_native_jobs_are_refused_naming_bucket_region_table_and_cost(
    invoke, engine, moto_server, bucket, prod_env
):
    client = local_client(engine)
    seed_table(client)
    _pitr_on(invoke, prod_env)
    run = invoke("export", "--prod", "--native", f"s3://{bucket}/nightly", env=prod_env)
    assert run.code == 1, run
    refusal = run.err.strip().splitlines()[-1]
    assert refusal.startswith(
        f"error: refusing to start AWS's a full export of the table into s3://{bucket}/nightly (estimated $"
    )
    assert "/GB; prices of 2026-12-06) on prod table 'cruddur-messages' in us-east-1 at " in refusal
    assert refusal.endswith("no terminal to confirm on; pass --yes to confirm")
    assert _keys(moto_server, bucket) == []
    put_full(_s3(moto_server), bucket, "exports", typed_items(client))
    run = invoke("import", "--prod", "--native", f"s3://{bucket}/exports", "--table", COPY, env=prod_env)
    assert run.code == 1 and "refusing to create the table with AWS's ImportTable from s3://" in run.err, run
    assert f"on prod table '{COPY}' in us-east-1 at " in run.err
    assert COPY not in client.list_tables()["TableNames"]


def _typographic(item: dict) -> dict:
    """The item with the apostrophes of its text left out (' and ’ alike): moto's ImportTable misreads both."""
    return {
        name: {"S": value["S"].replace("'", "").replace("\u2019", "")} if "S" in value else value for name, value in item.items()
    }


def test_a_native_import_creates_the_declared_table_whose_count_matches_then_turns_its_stream_on(
    invoke, engine, moto_server, bucket, prod_env
):
    client = local_client(engine)
    seed_table(client)
    items = [_typographic(item) for item in typed_items(client)]  # see test_moto_gap_its_import_misreads_apostrophes
    put_full(_s3(moto_server), bucket, "exports/prod", items)
    run = invoke("import", "--prod", "--native", f"s3://{bucket}/exports/prod", "--table", COPY, "--yes", env=prod_env)
    assert run.code == 0, run
    assert f"checked s3://{bucket}/exports/prod/AWSDynamoDB/{FULL_ID}: {len(items)} items in 1 data file(s)" in run.err
    assert f"imported {len(items)} items into prod table '{COPY}' in us-east-1 at {moto_server}" in run.err
    assert "as the manifest says" in run.err and "stream on (arn:" in run.err
    assert typed_items(client, COPY) == items
    made = client.describe_table(TableName=COPY)["Table"]
    assert schema.differences(made, schema.table_spec(COPY)) == []  # keys, GSI, billing and the stream, as declared
    again = invoke("import", "--prod", "--native", f"s3://{bucket}/exports/prod", "--table", COPY, "--yes", env=prod_env)
    assert again.code == 1 and again.err.strip().splitlines()[-1] == (
        f"error: table '{COPY}' already exists: ImportTable creates a new table only; choose another --table"
    )


def test_ctrl_c_while_waiting_leaves_the_export_running_and_names_it(invoke, engine, bucket, prod_env, monkeypatch):
    seed_table(local_client(engine))
    _pitr_on(invoke, prod_env)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(native_export, "wait", interrupted)
    run = invoke("export", "--prod", "--native", f"s3://{bucket}/x", "--yes", env=prod_env)
    assert run.code == 130, run
    arn = run.err.split("started ", 1)[1].split("\n", 1)[0]
    assert (
        f"interrupted: the export goes on in AWS: {arn} (follow it with `aws dynamodb describe-export --export-arn {arn}`)"
        in (run.err)
    )


def test_the_wait_polls_at_a_bounded_interval_and_a_failed_export_is_one_line():
    answers = [{"ExportStatus": "IN_PROGRESS"}] * 7 + [
        {"ExportStatus": "FAILED", "FailureCode": "S3NoSuchBucket", "FailureMessage": "gone"}
    ]

    class Client:
        def describe_export(self, ExportArn):
            return {"ExportDescription": answers.pop(0)}

    slept: list[float] = []
    with pytest.raises(native_export.ExportFailed) as failed:
        native_export.wait(Client(), "arn:x/export/1", sleep=slept.append)
    assert slept == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert str(failed.value) == "the export arn:x/export/1 failed: S3NoSuchBucket: gone"


def test_the_export_request_and_folder_follow_aws_documentation():
    plan = native_export.ExportPlan(TABLE, "arn:t", 0, 0, native_export.INCREMENTAL, T0, None, "NEW_IMAGE")
    asked = native_export.request(plan, "b", "p", "token")
    assert asked["ExportFormat"] == "DYNAMODB_JSON" and asked["ExportType"] == "INCREMENTAL_EXPORT"
    assert asked["IncrementalExportSpecification"] == {"ExportFromTime": T0, "ExportViewType": "NEW_IMAGE"}  # to: AWS's latest
    described = {"S3Prefix": "p", "ExportManifest": "p/AWSDynamoDB/0176-ab/manifest-summary.json", "ExportArn": "x"}
    assert native_export.folder_of(described) == "p/AWSDynamoDB/0176-ab"
    assert native_export.folder_of({"S3Prefix": "p", "ExportArn": "arn:aws:dynamodb:r:1:table/t/export/0176-cd"}) == (
        "p/AWSDynamoDB/0176-cd"
    )
    with pytest.raises(InvalidInput):
        native_export.plan_export(None, TABLE, since=T0, until=T0 - timedelta(hours=1))


def test_moto_gap_its_native_export_lacks_aws_documented_layout(invoke, engine, moto_server, bucket, prod_env):
    """MOTO GAP (moto 5.2.1, moto/dynamodb/models/table_export.py), shown, not relied on.

    AWS writes `<prefix>/AWSDynamoDB/<export id>/` with `_started`, manifest-summary.json,
    manifest-files.json (+ .checksum) and `data/*.json.gz`; DescribeExport names ExportManifest,
    StartTime and ExportTime; the ARN is `…:table/<name>/export/<export id>`; BilledSizeBytes
    is the exported size; an incremental export holds Keys/NewImage/OldImage lines. moto
    writes one `data/<uuid>.gz` of {"Item"} lines and nothing else, answers an ARN of
    `table/<table ARN>/import/<hex>`, bills one byte an item, and exports an incremental
    request in full. So `invoke import` reads moto's native export as no export at all.
    """
    client = local_client(engine)
    seed_table(client)
    count = len(typed_items(client))
    _pitr_on(invoke, prod_env)
    arn = client.describe_table(TableName=TABLE)["Table"]["TableArn"]
    since = datetime.now(UTC) - timedelta(hours=1)
    window = {"ExportFromTime": since, "ExportViewType": "NEW_IMAGE"}
    asked: tuple[tuple[str, dict], ...] = (
        ("full", {}),
        ("incr", {"ExportType": "INCREMENTAL_EXPORT", "IncrementalExportSpecification": window}),
    )
    for prefix, extra in asked:
        started = client.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix=prefix, **extra)
        export_arn = started["ExportDescription"]["ExportArn"]
        described = native_export.wait(client, export_arn, poll=0.05)
        assert f":table/{arn}/import/" in export_arn and "/export/" not in export_arn
        assert described.folder == "" and described.billed_bytes == described.item_count == count
        assert "ExportManifest" not in client.describe_export(ExportArn=export_arn)["ExportDescription"]
        (key,) = _keys(moto_server, bucket, f"{prefix}/")
        assert key.startswith(f"{prefix}/AWSDynamoDB/") and key.endswith(".gz") and not key.endswith(".json.gz")
        lines = gzip.decompress(_s3(moto_server).get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines()
        assert len(lines) == count and all(set(json.loads(line)) == {"Item"} for line in lines)  # an incremental one too
    run = invoke("import", f"s3://{bucket}/full", "--table", COPY, env={"AWS_ENDPOINT_URL_S3": moto_server})
    assert run.code == 1 and "no manifest-summary.json here or in AWSDynamoDB/<export id>/" in run.err, run


def test_moto_gap_its_import_misreads_apostrophes_and_the_count_check_catches_it(invoke, engine, moto_server, bucket, prod_env):
    """MOTO GAP (moto 5.2.1, table_import.py reads data lines with py_partiql_parser's JsonParser).

    That parser takes a single quote (' or ’) inside a JSON string for a string delimiter: "I'll go"
    comes back as "I", and an odd number of them swallows the lines that follow; it also keeps
    a `\\u2019` escape as those six characters. AWS reads
    DynamoDB JSON as JSON. The import's count check is what catches it: the stream stays off.
    """
    client = local_client(engine)
    seed_table(client)
    items = typed_items(client)
    assert any("'" in json.dumps(item) for item in items)
    put_full(_s3(moto_server), bucket, "exports/prod", items)
    run = invoke("import", "--prod", "--native", f"s3://{bucket}/exports/prod", "--table", COPY, "--yes", env=prod_env)
    assert run.code == 1, run
    line = run.err.strip().splitlines()[-1]
    assert line.startswith(f"error: table '{COPY}' was imported with ") and f"the export's manifest says {len(items)}: " in line
    assert line.endswith("its stream was left off; check it, then drop it and import again")
    assert len(typed_items(client, COPY)) < len(items)
    assert not client.describe_table(TableName=COPY)["Table"].get("StreamSpecification", {}).get("StreamEnabled")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("export", "--out", "s3://b-ucket/x", "--incremental"), "--incremental, --since, --until and --view are for AWS's own"),
        (("export", "--out", "s3://b-ucket/x", "--native", "--incremental"), "an incremental export needs both --incremental"),
        (("export", "--out", "s3://b-ucket/x", "--native", "--segments", "2"), "--segments and --anonymize are for an export"),
        (("export", "--out", "backups/x", "--native"), "--native exports into S3, not a folder: give s3://bucket/prefix"),
        (("import", "s3://b-ucket/x", "--native"), "--native needs --table NEW: ImportTable creates a new table"),
        (("import", "s3://b-ucket/x", "--native", "--table", COPY, "--replace"), "--replace, --writers and --backup-capacity"),
        (
            ("export", "--out", "s3://b-ucket/x", "--native", "--incremental", "--since", "2026-12-06T10:00:00"),
            "--since '2026-12-06T10:00:00' has no time zone: add Z (UTC) or an offset such as +01:00",
        ),
    ],
)
def test_a_native_flag_out_of_place_is_one_line_before_any_request(invoke_alone, args, line):
    run = invoke_alone(*args)
    assert run.code == 1 and "Traceback" not in run.err, run
    (only,) = run.err.strip().splitlines()
    assert only.startswith("error: ") and line in only
