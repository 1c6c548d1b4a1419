"""Restore you can bet the table on, end to end: every state the tools make restores exactly; hostile exports are one line.

The hostile exports run `python -m invoke import` in a process of its own under a small
launcher that reports the child's peak resident memory (`ru_maxrss` of its only child),
so the 200 MB bound is the whole command's, as a user would see it.
"""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ddb.schema import declaration as schema

from .support import ROOT, local_client, seed_table, typed_items, write_export

COPY = "cruddur-copy"
MIB = 1024 * 1024
PEAK_LIMIT_MB = 200
# Runs argv[1:] as its only child; prints the child's peak RSS in KiB (Linux ru_maxrss) on its last stderr line.
LAUNCHER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def _items_of(out: Path) -> list[dict]:
    """The typed items of the one export under `out`, sorted by key."""
    [export] = (out / "AWSDynamoDB").iterdir()
    items = []
    for line in (export / "manifest-files.json").read_text().splitlines():
        data = gzip.decompress((out / json.loads(line)["dataFileS3Key"]).read_bytes()).decode()
        items += [json.loads(row)["Item"] for row in data.splitlines()]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.mark.each_engine  # table creation, batch writes, the GSI and the read-back are the engine's
def test_setup_migrate_up_export_then_import_into_a_copy_restores_every_item_and_exports_the_same_again(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    migrated = invoke("migrate.up")
    assert migrated.code == 0, migrated
    before = typed_items(local_client(engine))
    assert any(i["pk"]["S"] == "MIGRATION" for i in before)
    assert invoke("export", "--out", str(tmp_path / "one")).code == 0
    imported = invoke("import", str(tmp_path / "one"), "--table", COPY)
    assert imported.code == 0, imported
    assert typed_items(local_client(engine), COPY) == before
    status = invoke("migrate.status", "--json", env={"INVOKE_DDB_TABLE": COPY})
    assert [(s["version"], s["state"]) for s in json.loads(status.out)] == [(1, "applied")]
    assert invoke("export", "--out", str(tmp_path / "two"), "--table", COPY).code == 0
    assert _items_of(tmp_path / "two") == _items_of(tmp_path / "one") == before


def _bomb(lines: bytes = b"a") -> bytes:
    """About 1 MB of gzip that unpacks to 1 GiB: 1,024 gzip members of 1 MiB each (a multi-member gzip file is valid)."""
    return gzip.compress(lines * MIB, compresslevel=9, mtime=0) * 1024


def _hostile(case: str, folder: Path, items: list[dict]) -> Path:
    """An export crafted as `case`, its manifests consistent with its files."""
    message = next(i for i in items if i["pk"]["S"].startswith("MSG#"))
    if case == "one 1 GiB line":
        export = write_export(folder, [], item_count=1)
        (export / "data" / "crafted.json.gz").write_bytes(_bomb())
        return _fix_md5(export)
    if case == "1 GiB of blank lines":
        export = write_export(folder, [], item_count=3)
        (export / "data" / "crafted.json.gz").write_bytes(_bomb(b"\n"))
        return _fix_md5(export)
    if case == "a lone surrogate":
        return write_export(folder, [*items[:50], {**message, "message": {"S": "a \ud800 b"}}])
    if case == "JSON nested 100,000 deep":
        return write_export(folder, [*items[:50], '{"Item": {"pk": ' + "[" * 100_000 + "]" * 100_000 + "}}"])
    if case == "a number of 41 digits":
        group = next(i for i in items if i["pk"]["S"].startswith("GRP#"))
        return write_export(folder, [{**group, "message_count": {"N": "9" * 41}}])
    description = json.loads(json.dumps(schema.table_spec(COPY)))
    description["GlobalSecondaryIndexes"][0]["Projection"] = "x"
    return write_export(folder, items, description=description)


def _fix_md5(export: Path) -> Path:
    import base64
    import hashlib

    data = export / "data" / "crafted.json.gz"
    digest = hashlib.md5(data.read_bytes()).digest()
    entry = json.loads((export / "manifest-files.json").read_text())
    entry.update(md5Checksum=base64.b64encode(digest).decode(), etag=digest.hex())
    (export / "manifest-files.json").write_text(json.dumps(entry) + "\n")
    return export


EXPECTED = {
    "one 1 GiB line": f"crafted.json.gz:1: longer than {6 * 400 * 1024 + 64 * 1024} bytes, more than one item can be",
    "1 GiB of blank lines": "crafted.json.gz:5: more lines than the 3 item(s) manifest-files.json gives it",
    "a lone surrogate": "crafted.json.gz:51: message: 'a \\ud800 b' holds a lone surrogate U+D800, which is not Unicode text and cannot be stored",
    "JSON nested 100,000 deep": "crafted.json.gz:51: not JSON (maximum recursion depth exceeded while decoding a JSON array from a unicode string)",
    "a number of 41 digits": "crafted.json.gz:1: message_count: '9999999999999999999999999999999999999999'… has more than 38 significant digits, more than DynamoDB stores",
    "a description whose projection is a string": "table-description.json: GlobalSecondaryIndexes[message-group-sk-index]: Projection: expected {ProjectionType: ALL | KEYS_ONLY | INCLUDE}",
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_a_hostile_export_is_one_line_exit_1_nothing_created_and_under_200_mb(invoke, engine, tmp_path, case):
    client = local_client(engine)
    seed_table(client)
    folder = _hostile(case, tmp_path / "hostile", typed_items(client))
    run = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "invoke", "import", str(folder), "--table", COPY],
        cwd=ROOT,
        env=invoke.environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    *lines, peak_kib = run.stderr.splitlines()
    assert run.returncode == 1, run.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(EXPECTED[case]), lines
    assert int(peak_kib) / 1024 < PEAK_LIMIT_MB
    assert COPY not in schema.list_tables(local_client(engine))
