"""export / import in DynamoDB's export layout, in-process on moto: layout, checks, resume, guards, anonymizing."""

import base64
import gzip
import hashlib
import json
import time
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from ddb.app import messaging, patterns
from ddb.backup import exporting, importing
from ddb.backup import source as import_source
from ddb.backup.anonymize import Anonymizer
from ddb.backup.layout import ExportFormatError
from ddb.data.items import User
from ddb.schema import declaration as schema
from ddb.stream import handler as stream

from .support import FIXTURES, TABLE, all_items, typed_items

COPY = "cruddur-copy"
BY_KEY = itemgetter("pk", "sk")


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return file.read().splitlines()


def _data_files(result) -> list[Path]:
    return [result.directory / "data" / f.key.rsplit("/", 1)[1] for f in result.files]


def _rewrite(result, index: int, lines: list[str]):
    """Replace data file `index` with `lines` and fix its manifest entry, as a consistent but edited export."""
    path = _data_files(result)[index]
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode(), mtime=0))
    digest = hashlib.md5(path.read_bytes()).digest()
    entries = [json.loads(line) for line in (result.directory / "manifest-files.json").read_text().splitlines()]
    entries[index].update(itemCount=len(lines), md5Checksum=base64.b64encode(digest).decode(), etag=digest.hex())
    (result.directory / "manifest-files.json").write_text("".join(json.dumps(e) + "\n" for e in entries))
    summary = json.loads((result.directory / "manifest-summary.json").read_text())
    summary["itemCount"] = sum(e["itemCount"] for e in entries)
    (result.directory / "manifest-summary.json").write_text(json.dumps(summary))
    return path


def test_export_writes_the_aws_layout_and_its_manifests_match_their_files(client, seeded, tmp_path):
    result = exporting.export_table(client, TABLE, tmp_path, segments=3)
    folder = tmp_path / "AWSDynamoDB" / result.export_id
    assert result.directory == folder and (folder / "_started").read_bytes() == b""
    summary = json.loads((folder / "manifest-summary.json").read_text())
    fields = ("version", "outputFormat", "exportType", "itemCount", "manifestFilesS3Key", "s3Bucket")
    assert {k: summary[k] for k in fields} == {
        "version": "2020-06-30",
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
        "itemCount": 112,
        "manifestFilesS3Key": f"AWSDynamoDB/{result.export_id}/manifest-files.json",
        "s3Bucket": None,
    }
    assert summary["tableArn"].endswith(f":table/{TABLE}")
    assert summary["exportArn"] == f"{summary['tableArn']}/export/{result.export_id}"
    assert summary["startTime"] <= summary["endTime"] and summary["startTime"].endswith("Z")
    entries = [json.loads(line) for line in (folder / "manifest-files.json").read_text().splitlines()]
    assert len(entries) == 3 and sum(e["itemCount"] for e in entries) == 112
    typed: list[dict] = []
    for entry in entries:
        assert set(entry) == {"itemCount", "md5Checksum", "etag", "dataFileS3Key"}
        path = tmp_path / entry["dataFileS3Key"]
        assert path.parent == folder / "data" and path.name.endswith(".json.gz")
        digest = hashlib.md5(path.read_bytes()).digest()
        assert entry["md5Checksum"] == base64.b64encode(digest).decode() and entry["etag"] == digest.hex()
        lines = _lines(path)
        assert len(lines) == entry["itemCount"]
        typed.extend(json.loads(line)["Item"] for line in lines)
    assert sorted(typed, key=lambda i: (i["pk"]["S"], i["sk"]["S"])) == typed_items(client)
    saved = json.loads((folder / "table-description.json").read_text())["Table"]
    assert saved["KeySchema"] == schema.table_spec(TABLE)["KeySchema"]
    assert not list(tmp_path.rglob("*.part")) and not list(tmp_path.rglob("*.tmp"))


def test_export_then_import_into_a_new_table_gives_back_every_item_and_the_table(client, seeded, tmp_path):
    exporting.export_table(client, TABLE, tmp_path, segments=2)
    source = import_source.open_source(tmp_path)
    assert import_source.validate(source) == 112
    result = importing.run(client, COPY, source, importing.plan(client, COPY, source))
    assert (result.created, result.written.put, result.stored) == ("saved description", 112, 112)
    assert typed_items(client, COPY) == typed_items(client, TABLE)
    assert schema.differences(schema.describe(client, COPY) or {}, schema.table_spec(COPY)) == []


def test_an_interrupted_export_never_leaves_a_manifest_and_a_rerun_keeps_the_finished_segments(client, seeded, tmp_path):
    scanned: list[int] = []
    failed: list[int] = []

    def engine_goes_away(params, **_):
        scanned.append(params.get("Segment", 0))
        if params.get("Segment") == 2 and not failed:
            failed.append(2)
            _wait_for_finished(tmp_path, 2)  # the other two are recorded before this one fails
            raise ConnectionError("engine went away")

    client.meta.events.register("provide-client-params.dynamodb.Scan", engine_goes_away)
    with pytest.raises(ConnectionError):
        exporting.export_table(client, TABLE, tmp_path, segments=3)
    folder = next((tmp_path / "AWSDynamoDB").iterdir())
    assert not (folder / "manifest-files.json").exists() and not (folder / "manifest-summary.json").exists()
    progress = json.loads((tmp_path / ".export-progress.json").read_text())
    finished = {int(s) for s in progress["finished"]}
    assert 2 not in finished
    for entry in progress["finished"].values():  # a recorded file is complete and matches its record
        path = tmp_path / entry["dataFileS3Key"]
        assert base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode() == entry["md5Checksum"]
        assert len(_lines(path)) == entry["itemCount"]
    scanned.clear()
    result = exporting.export_table(client, TABLE, tmp_path, segments=3)
    assert set(scanned) == {0, 1, 2} - finished and result.kept_segments == len(finished)
    assert result.directory == folder and result.item_count == 112 and len(result.files) == 3
    assert exporting.export_table(client, TABLE, tmp_path, segments=3).already_complete
    with pytest.raises(
        Exception, match=r"3 segments\); this run reads .*4 segments\): the --segments differs; run it the same way"
    ):
        exporting.export_table(client, TABLE, tmp_path, segments=4)


def _wait_for_finished(out: Path, count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        progress = out / ".export-progress.json"
        if progress.is_file() and len(json.loads(progress.read_text() or "{}").get("finished", {})) >= count:
            return
        time.sleep(0.01)


def test_a_data_file_that_does_not_match_its_md5_is_refused_in_one_line_naming_it(client, seeded, tmp_path, sent):
    result = exporting.export_table(client, TABLE, tmp_path)
    (path,) = _data_files(result)
    path.write_bytes(path.read_bytes() + b"\0")
    sent.clear()
    source = import_source.open_source(tmp_path)
    with pytest.raises(ExportFormatError) as refused:
        import_source.validate(source)
    actual = base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()
    assert str(refused.value) == (
        f"{path}: MD5 is {actual}, manifest-files.json says {result.files[0].md5_checksum}: "
        "the file is damaged or not the one exported"
    )
    assert sent == []


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda item: item.update(user_handle={"S": "Not A Handle"}),
            "user_handle: 'Not A Handle' is not a handle (1-32 of a-z, 0-9, _)",
        ),
        (lambda item: item.update(message={"S": "   "}), "message: '   ' is blank"),
        (lambda item: item.pop("message_uuid"), "message_uuid: is required but missing"),
    ],
)
def test_an_item_that_breaks_the_contract_is_refused_naming_file_and_line(client, seeded, tmp_path, edit, problem):
    result = exporting.export_table(client, TABLE, tmp_path)
    lines = _lines(_data_files(result)[0])
    number = next(n for n, line in enumerate(lines, 1) if '"MSG#' in line)
    record = json.loads(lines[number - 1])
    edit(record["Item"])
    lines[number - 1] = json.dumps(record)
    path = _rewrite(result, 0, lines)
    with pytest.raises(ExportFormatError) as refused:
        import_source.validate(import_source.open_source(tmp_path))
    assert str(refused.value) == f"{path}:{number}: {problem}"


def test_a_count_that_is_not_the_manifests_is_refused(client, seeded, tmp_path):
    result = exporting.export_table(client, TABLE, tmp_path)
    path = _data_files(result)[0]
    _rewrite(result, 0, _lines(path)[:-1])
    entries = (result.directory / "manifest-files.json").read_text().replace('"itemCount": 111', '"itemCount": 112')
    (result.directory / "manifest-files.json").write_text(entries)
    with pytest.raises(ExportFormatError, match=r"its files hold 112 items, manifest-summary.json says itemCount 111"):
        import_source.open_source(tmp_path)


def test_items_that_would_overwrite_different_ones_are_reported_and_nothing_is_written(client, seeded, tmp_path, sent):
    exporting.export_table(client, TABLE, tmp_path)
    changed = next(i for i in all_items(client) if i["pk"].startswith("MSG#"))
    client.put_item(TableName=TABLE, Item={**{k: {"S": v} for k, v in changed.items()}, "message": {"S": "edited since"}})
    before = typed_items(client)
    source = import_source.open_source(tmp_path)
    import_source.validate(source)
    sent.clear()
    found = importing.plan(client, TABLE, source)
    assert len(found.identical) == 111 and found.conflicts == [(changed["pk"], changed["sk"])]
    with pytest.raises(importing.ImportConflict) as refused:
        importing.run(client, TABLE, source, found)
    assert str(refused.value) == (
        f"1 item(s) of the export would overwrite different items in table '{TABLE}': "
        f"{changed['pk']}/{changed['sk']}; nothing was written (pass --replace to overwrite them)"
    )
    assert refused.value.keys == [(changed["pk"], changed["sk"])]
    assert "BatchWriteItem" not in sent and typed_items(client) == before
    replaced = importing.run(client, TABLE, source, importing.plan(client, TABLE, source, replace=True))
    assert replaced.written.put == 1 and replaced.stored == 112  # what is stored as exported is left alone
    assert next(i for i in all_items(client) if BY_KEY(i) == BY_KEY(changed))["message"] == changed["message"]


def _aws_style_export(root: Path, items: list[dict]) -> Path:
    """An export as AWS writes it under an S3 prefix: several files, one plain (unpacked), one empty, _started, no description."""
    export_id = "01700000000000-a1b2c3d4"
    folder = root / "AWSDynamoDB" / export_id
    (folder / "data").mkdir(parents=True)
    (folder / "_started").touch()
    half = len(items) // 2
    first, second = ("".join(json.dumps({"Item": i}) + "\n" for i in part).encode() for part in (items[:half], items[half:]))
    contents = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaa.json.gz": gzip.compress(first),
        "bbbbbbbbbbbbbbbbbbbbbbbbbb.json.gz": second,
        "cccccccccccccccccccccccccc.json.gz": gzip.compress(b""),
    }
    counts = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaa.json.gz": half,
        "bbbbbbbbbbbbbbbbbbbbbbbbbb.json.gz": len(items) - half,
        "cccccccccccccccccccccccccc.json.gz": 0,
    }
    lines = []
    for name, content in contents.items():
        (folder / "data" / name).write_bytes(content)
        digest = hashlib.md5(content).digest()
        lines.append(
            {
                "itemCount": counts[name],
                "md5Checksum": base64.b64encode(digest).decode(),
                "etag": "af83d6f217c19b8b0fff8023d8ca4716-1",  # multipart: not checkable, not checked
                "dataFileS3Key": f"backups/AWSDynamoDB/{export_id}/data/{name}",
            }
        )
    (folder / "manifest-files.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (folder / "manifest-summary.json").write_text(
        json.dumps(
            {
                "version": "2020-06-30",
                "exportArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/cruddur-messages/export/{export_id}",
                "itemCount": len(items),
                "outputFormat": "DYNAMODB_JSON",
                "s3Prefix": "backups",
                "manifestFilesS3Key": f"backups/AWSDynamoDB/{export_id}/manifest-files.json",
            }
        )
    )
    return folder


def test_an_aws_export_with_several_files_plain_gzip_and_empty_restores_into_the_projects_table(client, seeded, tmp_path):
    _aws_style_export(tmp_path, typed_items(client))
    source = import_source.open_source(tmp_path)
    assert import_source.validate(source) == 112 and source.description is None
    result = importing.run(client, COPY, source, importing.plan(client, COPY, source))
    assert result.created == "project schema" and typed_items(client, COPY) == typed_items(client)


def test_a_dynamodump_folder_restores(client, seeded, tmp_path):
    items = typed_items(client)
    (tmp_path / "data").mkdir()
    (tmp_path / "schema.json").write_text(json.dumps({"Table": {**schema.table_spec(TABLE), "TableArn": "arn:x"}}))
    for n, start in enumerate(range(0, len(items), 50), 1):
        page = items[start : start + 50]
        scan_page = {"Items": page, "Count": len(page), "ScannedCount": len(page)}
        (tmp_path / "data" / f"{n:04d}.json").write_text(json.dumps(scan_page))
    source = import_source.open_source(tmp_path)
    assert source.kind == import_source.DYNAMODUMP and import_source.validate(source) == 112
    result = importing.run(client, COPY, source, importing.plan(client, COPY, source))
    assert result.created == "saved description" and typed_items(client, COPY) == items


def test_an_anonymized_export_holds_no_fixture_person_or_text_and_every_pattern_works_on_it(
    client, seeded, repo_fixtures, tmp_path
):
    result = exporting.export_table(client, TABLE, tmp_path, anonymizer=Anonymizer("test-salt"))
    exported = b"".join(gzip.decompress(p.read_bytes()) for p in _data_files(result)).decode()
    users = json.loads((FIXTURES / "users.json").read_text())
    for user in users:
        assert f'"{user["handle"]}"' not in exported and user["display_name"] not in exported and user["uuid"] not in exported
    for conversation in repo_fixtures.conversations:
        for message in conversation.messages:
            assert message.text not in exported
    source = import_source.open_source(tmp_path)
    import_source.validate(source)
    importing.run(client, COPY, source, importing.plan(client, COPY, source))
    again = Anonymizer("test-salt")
    original, anonymized = typed_items(client), typed_items(client, COPY)
    assert anonymized == sorted((again.item(i) for i in original), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    for before in original:  # people replaced, same lengths; conversations, messages and times kept
        after = again.item(before)
        for name, value in before.items():
            if name in ("user_handle", "user_display_name", "message", "user_uuid"):
                assert len(after[name]["S"]) == len(value["S"]) and after[name] != value
            elif name in ("message_group_uuid", "message_uuid", "sk", "group_uuid"):
                assert after[name] == value
    assert {i["user_handle"]["S"] for i in anonymized if "user_handle" in i} == {again.handle(u["handle"]) for u in users}
    # every pattern on the copy, each user found by the stand-in of their uuid
    stand_in = {u["handle"]: again.user_uuid(u["uuid"]) for u in users}
    inbox = patterns.list_conversations(client, COPY, stand_in["mira"], 10)
    assert [i["user_handle"] for i in inbox.as_json()["items"]] == [again.handle(h) for h in ("tomas", "june", "ravi")]
    group = inbox.as_json()["items"][0]["message_group_uuid"]
    assert len(patterns.list_messages(client, COPY, group, 5).as_json()["items"]) == 5
    mira = next(u for u in users if u["handle"] == "mira")
    me = User(stand_in["mira"], again.handle("mira"), again.display_name(mira["display_name"]))
    sent = messaging.create_message(client, COPY, group, me, "still works")
    started = messaging.create_conversation(client, COPY, me, User(stand_in["lena"], "lena_x", "Lena X"), "hello")
    assert started.created_conversation
    image = {k: {"S": v} for k, v in sent.message.items()}
    record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}}
    stream.handle_records(client, COPY, [record])
    assert patterns.list_conversations(client, COPY, stand_in["tomas"], 1).as_json()["items"][0]["message"] == "still works"


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (b"{", "not readable JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        (b"\xff", "not readable JSON ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)"),
        (b"[]", 'expected a Scan page {"Items": […]}'),
        (b'{"Items": {}}', 'expected a Scan page {"Items": […]}'),
        (b'{"Items": [], "Count": 1}', "Count is 1 but it holds 0 items"),
        (b'{"Items": [7]}', "Items[0]: expected an object of typed attributes"),
        (b'{"Items": [{}]}', "Items[0]: expected an object of typed attributes"),
        (b'{"Items": [], "Count": 0, "pad": "' + b"x" * 64 + b'"}', "larger than 64 bytes, more than a Scan page can be"),
    ],
)
def test_a_dynamodump_page_that_is_no_scan_page_is_one_line_naming_the_file(tmp_path, monkeypatch, page, problem):
    monkeypatch.setattr(import_source, "MAX_DUMP_PAGE_BYTES", 64)
    (tmp_path / "data").mkdir()
    (tmp_path / "schema.json").write_text(json.dumps({"Table": {**schema.table_spec(TABLE), "TableArn": "arn:x"}}))
    (tmp_path / "data" / "0001.json").write_bytes(page)
    with pytest.raises(ExportFormatError) as refused:
        import_source.validate(import_source.open_source(tmp_path))
    assert str(refused.value) == f"{tmp_path / 'data' / '0001.json'}: {problem}"


def test_a_dynamodump_page_of_exactly_the_largest_size_is_read(tmp_path, monkeypatch):
    page = b'{"Items": [], "Count": 0}'
    monkeypatch.setattr(import_source, "MAX_DUMP_PAGE_BYTES", len(page))
    (tmp_path / "data").mkdir()
    (tmp_path / "schema.json").write_text(json.dumps({"Table": {**schema.table_spec(TABLE), "TableArn": "arn:x"}}))
    (tmp_path / "data" / "0001.json").write_bytes(page)
    assert import_source.validate(import_source.open_source(tmp_path)) == 0


@pytest.mark.parametrize(("count", "rest"), [(5, ""), (6, " and 1 more")])
def test_a_conflict_of_five_keys_names_them_all_and_of_six_counts_the_sixth(count, rest):
    keys = [(f"MSG#g{n}", "s") for n in range(count)]
    shown = ", ".join(f"MSG#g{n}/s" for n in range(5))
    assert str(importing.conflict_error(cast(importing.Plan, SimpleNamespace(table="t", conflicts=keys)))) == (
        f"{count} item(s) of the export would overwrite different items in table 't': {shown}{rest}; "
        "nothing was written (pass --replace to overwrite them)"
    )


def test_a_conflict_names_the_first_five_keys_in_order_and_counts_the_rest():
    keys = [(f"MSG#g{n}", f"2026-11-0{n}") for n in (7, 3, 1, 6, 2, 5, 4)]
    found = cast(importing.Plan, SimpleNamespace(table="t", conflicts=keys))
    conflict = importing.conflict_error(found)
    assert str(conflict) == (
        "7 item(s) of the export would overwrite different items in table 't': MSG#g1/2026-11-01, MSG#g2/2026-11-02, "
        "MSG#g3/2026-11-03, MSG#g4/2026-11-04, MSG#g5/2026-11-05 and 2 more; nothing was written (pass --replace to overwrite them)"
    )
    assert conflict.keys == sorted(keys)


def test_an_item_of_a_dynamodump_page_that_breaks_a_rule_is_named_by_its_place_in_items(tmp_path):
    page = {"Items": [{"pk": {"S": "X#1"}, "sk": {"S": "a"}}]}
    (tmp_path / "data").mkdir()
    (tmp_path / "schema.json").write_text(json.dumps({"Table": {**schema.table_spec(TABLE), "TableArn": "arn:x"}}))
    (tmp_path / "data" / "0001.json").write_text(json.dumps(page))
    with pytest.raises(ExportFormatError) as refused:
        import_source.validate(import_source.open_source(tmp_path))
    assert str(refused.value) == (
        f"{tmp_path / 'data' / '0001.json'}: Items[0]: pk: 'X#1' is not the key of an item type of this table "
        "(GRP#, MSG#, CLAIM#, MIGRATION, LOCK#)"
    )
