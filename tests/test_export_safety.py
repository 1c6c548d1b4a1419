"""Export under a hostile or careless `--out`: planted links, modes, resumes of another source, failures that leave nothing."""

import json
import os
import stat
import time
from pathlib import Path

import boto3
import pytest

from ddb.backup import exporting
from ddb.backup.anonymize import Anonymizer
from ddb.backup.export_files import ExportWriteError, Folder
from ddb.backup.progress import ExportMismatch, Progress, Source
from ddb.core.errors import TableMissing
from ddb.schema import declaration as schema
from ddb.stream import reader as stream_reader
from ddb.stream.records import RecordFailure

from .support import TABLE, local_client, seed_table, typed_items

PROGRESS = ".export-progress.json"


def _snapshot(root: Path) -> dict:
    """Every path below `root` (links not followed) with what it is: a file's bytes, a link's target, or a folder."""
    found: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = ("link", os.readlink(path))
        elif path.is_file():
            found[str(path.relative_to(root))] = ("file", path.read_bytes())
        else:
            found[str(path.relative_to(root))] = ("folder", None)
    return found


def _wait_for_finished(out: Path, count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        progress = out / PROGRESS
        if progress.is_file() and len(json.loads(progress.read_text() or "{}").get("finished", {})) >= count:
            return
        time.sleep(0.01)


def _interrupted_export(client, out: Path, anonymizer=None) -> dict:
    """An export of 2 segments that stopped after segment 0 was recorded (segment 1's scan fails); its progress."""
    failed: list[int] = []

    def fail_segment_1(params, **_):
        if params.get("Segment") == 1 and not failed:
            failed.append(1)
            _wait_for_finished(out, 1)
            raise ConnectionError("engine went away")

    client.meta.events.register("provide-client-params.dynamodb.Scan", fail_segment_1)
    try:
        with pytest.raises(ConnectionError):
            exporting.export_table(client, TABLE, out, segments=2, anonymizer=anonymizer)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Scan", fail_segment_1)
    progress = json.loads((out / PROGRESS).read_text())
    assert list(progress["finished"]) == ["0"]
    return progress


def _unfinished_part(out: Path, progress: dict) -> Path:
    export_id = progress["export_id"]
    return out / "AWSDynamoDB" / export_id / "data" / (exporting.file_name(export_id, 1) + ".part")


# ------------------------------------------------------------------ links planted in --out


@pytest.mark.parametrize("level", ["AWSDynamoDB", "AWSDynamoDB/<id>", "AWSDynamoDB/<id>/data"])
def test_a_folder_below_out_that_is_a_symlink_is_refused_in_one_line_and_nothing_is_written_through_it(
    client, seeded, tmp_path, level
):
    out, victim = tmp_path / "out", tmp_path / "victim"
    progress = _interrupted_export(client, out)
    planted = out / level.replace("<id>", progress["export_id"])
    planted.rename(victim)  # the real folder moves away, a link to it takes its place
    planted.symlink_to(victim, target_is_directory=True)
    before, outside = _snapshot(victim), _snapshot(out)
    with pytest.raises(ExportWriteError) as refused:
        exporting.export_table(client, TABLE, out, segments=2)
    assert str(refused.value) == (
        f"{planted} is a symbolic link: an export writes only into folders it made; remove it or give another --out"
    )
    assert _snapshot(victim) == before and _snapshot(out) == outside


def test_a_new_export_refuses_an_out_whose_awsdynamodb_is_a_planted_symlink(client, seeded, tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir()
    victim.mkdir()
    (out / "AWSDynamoDB").symlink_to(victim, target_is_directory=True)
    with pytest.raises(Exception, match=r"already holds AWSDynamoDB/ but no \.export-progress\.json"):
        exporting.export_table(client, TABLE, out)
    assert _snapshot(victim) == {} and sorted(p.name for p in out.iterdir()) == ["AWSDynamoDB"]


@pytest.mark.parametrize("name", ["part", "final"])
def test_a_symlink_planted_at_a_data_file_name_is_replaced_and_never_written_through(client, seeded, tmp_path, name):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious")
    progress = _interrupted_export(client, out)
    part = _unfinished_part(out, progress)
    part.unlink(missing_ok=True)  # the part the failed run left
    planted = part if name == "part" else part.with_name(part.name.removesuffix(".part"))
    planted.symlink_to(victim)
    result = exporting.export_table(client, TABLE, out, segments=2)
    assert victim.read_text() == "precious"
    assert result.item_count == 112 and not part.exists() and not part.is_symlink()
    for path in (result.directory / "data").iterdir():
        assert not path.is_symlink() and stat.S_IMODE(path.lstat().st_mode) == 0o600


@pytest.mark.parametrize("name", [PROGRESS + ".tmp", "AWSDynamoDB/<id>/manifest-summary.json.tmp"])
def test_a_symlink_planted_at_a_temporary_name_is_unlinked_and_never_written_through(client, seeded, tmp_path, name):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious")
    progress = _interrupted_export(client, out)
    planted = out / name.replace("<id>", progress["export_id"])
    planted.symlink_to(victim)
    result = exporting.export_table(client, TABLE, out, segments=2)
    assert victim.read_text() == "precious" and not planted.exists() and not planted.is_symlink()
    assert json.loads((result.directory / "manifest-summary.json").read_text())["itemCount"] == 112


def test_a_symlink_planted_at_the_progress_tmp_name_of_a_new_export_is_never_written_through(client, seeded, tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("precious")
    (out / (PROGRESS + ".tmp")).symlink_to(victim)
    assert exporting.export_table(client, TABLE, out).item_count == 112
    assert victim.read_text() == "precious" and not (out / (PROGRESS + ".tmp")).is_symlink()


def test_a_progress_file_that_is_a_symlink_is_refused_in_one_line(client, seeded, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    exporting.export_table(client, TABLE, elsewhere)
    out.mkdir()
    (out / PROGRESS).symlink_to(elsewhere / PROGRESS)
    before = _snapshot(elsewhere)
    with pytest.raises(ExportWriteError) as refused:
        exporting.export_table(client, TABLE, out)
    assert str(refused.value) == f"{out / PROGRESS} is a symbolic link: remove it or give another --out"
    assert _snapshot(elsewhere) == before


def test_out_may_be_the_users_own_symlink_to_a_folder(client, seeded, tmp_path):
    real, link = tmp_path / "disk" / "backups", tmp_path / "backups"
    real.mkdir(parents=True)
    link.symlink_to(real, target_is_directory=True)
    result = exporting.export_table(client, TABLE, link)
    assert result.item_count == 112 and (real / "AWSDynamoDB" / result.export_id / "manifest-summary.json").is_file()


# ------------------------------------------------------------------ modes


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_every_file_of_an_export_is_0600_and_every_folder_0700_whatever_the_umask(client, seeded, tmp_path, umask):
    out = tmp_path / "new" / "out"
    previous = os.umask(umask)
    try:
        progress = _interrupted_export(client, out)
        assert stat.S_IMODE((out / PROGRESS).stat().st_mode) == 0o600
        exporting.export_table(client, TABLE, out, segments=2)
    finally:
        os.umask(previous)
    paths = [out, *out.rglob("*")]
    assert len([p for p in paths if p.is_file()]) == 9  # progress, _started, description, 2 data files, 2 manifests, 2 checksums
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert (out / "AWSDynamoDB" / progress["export_id"] / "data").is_dir()


def test_the_stream_dead_letter_file_is_made_0600_and_an_old_open_one_is_closed_to_others(tmp_path):
    failure = RecordFailure(0, "1", "MSG#x/1", "poison", retryable=False)
    path = tmp_path / "dead" / "letters.jsonl"
    stream_reader.save_dead_letters(path, [{"eventName": "INSERT"}], [failure], TABLE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    stream_reader.save_dead_letters(path, [{"eventName": "INSERT"}], [failure], TABLE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().splitlines()) == 2


# ------------------------------------------------------------------ a resume is the same export


def _refused_resume(client, out: Path, anonymizer=None) -> str:
    before = _snapshot(out)
    with pytest.raises(ExportMismatch) as refused:
        exporting.export_table(client, TABLE, out, segments=2, anonymizer=anonymizer)
    assert _snapshot(out) == before  # refused before its first write
    line = str(refused.value)
    assert "\n" not in line and line.startswith(f"{out} holds an export of table ")
    assert line.endswith("; run it the same way to finish it, or give another --out")
    return line


def test_a_resume_against_another_endpoint_is_refused_in_one_line(engine, client, seeded, tmp_path):
    out = tmp_path / "out"
    _interrupted_export(client, out)
    elsewhere = local_client(engine)  # a moto server (in this process: the mock's tables), same account and region
    assert schema.describe(elsewhere, TABLE) is not None
    line = _refused_resume(elsewhere, out)
    assert f"at {client.meta.endpoint_url} (region us-east-1, account 123456789012, raw, 2 segments); " in line
    assert f"this run reads table 'cruddur-messages' at {engine} (region us-east-1" in line
    assert ": the endpoint differs;" in line


def test_a_resume_of_another_table_is_refused_in_one_line(client, seeded, tmp_path):
    out = tmp_path / "out"
    _interrupted_export(client, out)
    schema.load(client, "other")
    before = _snapshot(out)
    with pytest.raises(
        ExportMismatch, match=r"this run reads table 'other' .*: the table, table ARN differ; run it the same way"
    ):
        exporting.export_table(client, "other", out, segments=2)
    assert _snapshot(out) == before


def test_a_resume_in_another_account_is_refused_in_one_line(client, seeded, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _interrupted_export(client, out)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    other = boto3.client("dynamodb", region_name="us-east-1")
    seed_table(other)
    line = _refused_resume(other, out)
    assert "account 111122223333" in line and ": the account, table ARN differ;" in line


def test_a_resume_in_another_region_is_refused_in_one_line(client, seeded, tmp_path):
    out = tmp_path / "out"
    _interrupted_export(client, out)
    other = boto3.client("dynamodb", region_name="eu-west-1")
    seed_table(other)
    line = _refused_resume(other, out)
    assert "(region eu-west-1, account 123456789012," in line and ": the endpoint, region, table ARN differ;" in line


@pytest.mark.parametrize(
    ("first", "then", "differs"),
    [
        (None, "k1", "raw, 2 segments); this run reads"),
        ("k1", None, ", raw, 2 segments): the"),
        ("k1", "k2", "anonymized with key"),
    ],
    ids=["raw-then-anonymized", "anonymized-then-raw", "another-key"],
)
def test_a_resume_with_another_anonymization_setting_is_refused_in_one_line(client, seeded, tmp_path, first, then, differs):
    out = tmp_path / "out"
    _interrupted_export(client, out, Anonymizer(first) if first else None)
    line = _refused_resume(client, out, Anonymizer(then) if then else None)
    assert ": the anonymization differs;" in line and differs in line


def test_a_resume_the_same_way_finishes_with_the_same_stand_ins(client, seeded, tmp_path):
    out = tmp_path / "out"
    _interrupted_export(client, out, Anonymizer("k1"))
    result = exporting.export_table(client, TABLE, out, segments=2, anonymizer=Anonymizer("k1"))
    assert result.kept_segments == 1 and result.item_count == 112
    progress = json.loads((out / PROGRESS).read_text())
    assert progress["anonymization"] == Anonymizer("k1").fingerprint != Anonymizer("k2").fingerprint
    assert "k1" not in json.dumps(progress) and progress["account"] == Anonymizer("k1").account("123456789012")


# ------------------------------------------------------------------ failures leave nothing that blocks


def test_an_export_of_a_missing_table_writes_nothing_and_the_folder_stays_usable(client, seeded, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(TableMissing):
        exporting.export_table(client, "missing", out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(TableMissing):
        exporting.export_table(client, "missing", out)
    assert list(out.iterdir()) == []
    assert exporting.export_table(client, TABLE, out).item_count == 112


def test_a_first_run_that_fails_before_finishing_a_segment_leaves_nothing_that_blocks_the_folder(client, seeded, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")

    def engine_goes_away(**_):
        raise ConnectionError("engine went away")

    client.meta.events.register("provide-client-params.dynamodb.Scan", engine_goes_away)
    with pytest.raises(ConnectionError):
        exporting.export_table(client, TABLE, out, segments=2)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    client.meta.events.unregister("provide-client-params.dynamodb.Scan", engine_goes_away)
    result = exporting.export_table(client, TABLE, out, segments=3)
    assert result.item_count == 112 and result.kept_segments == 0


def test_a_failed_run_after_a_finished_segment_keeps_it_for_the_resume(client, seeded, tmp_path):
    out = tmp_path / "out"
    _interrupted_export(client, out)
    result = exporting.export_table(client, TABLE, out, segments=2)
    assert result.kept_segments == 1 and result.item_count == len(typed_items(client))


# ------------------------------------------------------------------ --out that cannot be written: one line, exit 1


def _one_error_line(run) -> str:
    assert run.code == 1, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.err, run
    return lines[0]


def test_export_to_an_out_that_is_a_file_is_one_line_exit_1(invoke, engine, tmp_path):
    schema.load(local_client(engine), TABLE)
    out = tmp_path / "backup.tar"
    out.write_text("not a folder")
    assert _one_error_line(invoke("export", "--out", str(out))) == (
        f"error: {out} is a file, not a folder: give a folder to --out"
    )
    assert out.read_text() == "not a folder"
    below = _one_error_line(invoke("export", "--out", str(out / "inside")))
    assert below == f"error: cannot make the folder {out / 'inside'}: Not a directory"


def test_export_to_a_read_only_folder_is_one_line_exit_1(invoke, engine, tmp_path):
    schema.load(local_client(engine), TABLE)
    if os.geteuid() == 0:  # root writes through any mode: a read-only file system it cannot write
        out = Path("/sys/kernel")
        if not out.is_dir():
            pytest.skip("running as root without /sys/kernel, a folder root cannot write")
        expected = f"error: cannot write {out / (PROGRESS + '.tmp')}: "
    else:
        out = tmp_path / "read-only"
        out.mkdir(mode=0o500)
        expected = f"error: cannot write {out / (PROGRESS + '.tmp')}: Permission denied"
    line = _one_error_line(invoke("export", "--out", str(out)))
    assert line.startswith(expected) and not (out / PROGRESS).exists()


def test_export_of_a_resume_that_differs_is_one_line_exit_1(invoke, engine, tmp_path):
    schema.load(local_client(engine), TABLE)
    out = tmp_path / "out"
    assert invoke("export", "--out", str(out)).code == 0
    env = {"INVOKE_DDB_ANONYMIZE_SECRET_FILE": str(tmp_path / "config" / "secret")}
    line = _one_error_line(invoke("export", "--out", str(out), "--anonymize", env=env))
    assert line.startswith(f"error: {out} holds an export of table 'cruddur-messages' at {engine} (region us-east-1")
    assert line.endswith(": the anonymization differs; run it the same way to finish it, or give another --out")


@pytest.mark.parametrize(
    "made",
    [
        [],
        ["AWSDynamoDB/"],
        ["AWSDynamoDB/E/"],
        ["AWSDynamoDB/E/data/", "AWSDynamoDB/E/data/E-0.part", "AWSDynamoDB/E/data/E-1.part"],
        [
            "AWSDynamoDB/E/data/E-0.part",
            "AWSDynamoDB/E/_started",
            "AWSDynamoDB/E/table-description.json",
            "AWSDynamoDB/E/table-description.json.tmp",
            ".export-progress.json.tmp",
        ],
    ],
    ids=["progress-only", "root", "export-folder", "parts", "everything"],
)
def test_removing_a_failed_first_run_leaves_only_what_was_there_before_however_far_it_got(tmp_path, made):
    (tmp_path / "notes.txt").write_text("mine")
    for name in [".export-progress.json", *made]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(exist_ok=True) if name.endswith("/") else path.write_text("x")
    folder = Folder.open_out(tmp_path)
    try:
        Progress(folder, {"export_id": "E"}, created=True).remove(["E-0.part", "E-1.part"])
    finally:
        folder.close()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_removing_a_failed_first_run_keeps_another_exports_files(tmp_path):
    for name in (".export-progress.json", "AWSDynamoDB/E/_started", "AWSDynamoDB/other/_started"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    folder = Folder.open_out(tmp_path)
    try:
        Progress(folder, {"export_id": "E"}, created=True).remove([])
    finally:
        folder.close()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "AWSDynamoDB",
        "AWSDynamoDB/other",
        "AWSDynamoDB/other/_started",
    ]


def test_a_source_is_described_with_its_account_its_anonymization_and_its_segments():
    raw = Source("t", "http://e", "r", None, None, None, 1)
    assert raw.described() == "table 't' at http://e (region r, account unknown, raw, 1 segment)"
    anonymized = Source("t", "http://e", "r", "999999999999", "arn", "abcd", 3)
    assert anonymized.described() == (
        "table 't' at http://e (region r, stand-in account 999999999999, anonymized with key abcd, 3 segments)"
    )
