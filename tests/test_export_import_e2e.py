"""`invoke export` / `invoke import` end to end: the round trip on both engines, one-line refusals, faults, the prod guard."""

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from .faultproxy import ALL, FaultProxy
from .support import all_items, local_client, typed_items

FAST = {
    "INVOKE_DDB_READ_TIMEOUT": "1",
    "INVOKE_DDB_CONNECT_TIMEOUT": "1",
    "INVOKE_DDB_RETRY_BASE_DELAY": "0.01",
    "INVOKE_DDB_RETRY_MAX_DELAY": "0.2",
}
MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"


def _export_dir(run, out: Path) -> Path:
    folder = Path(run.out.strip())
    assert folder.parent == out / "AWSDynamoDB", run
    return folder


@pytest.mark.each_engine  # the round trip's scans, batch writes and table creation are the engine's
def test_setup_write_export_drop_import_gives_back_every_item_attribute_by_attribute(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    started = invoke("patterns.create-conversation", "--handle", "ravi", "--with", "lena", "--message", "Book club Thursday?")
    assert started.code == 0, started
    assert (
        invoke(
            "patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "tomas", "--message", "Line one\n\tand two"
        ).code
        == 0
    )
    before = typed_items(local_client(engine))
    out = tmp_path / "backup"
    exported = invoke("export", "--out", str(out), "--segments", "2")
    assert exported.code == 0, exported
    folder = _export_dir(exported, out)
    summary = json.loads((folder / "manifest-summary.json").read_text())
    entries = [json.loads(line) for line in (folder / "manifest-files.json").read_text().splitlines()]
    assert summary["itemCount"] == len(before) == sum(e["itemCount"] for e in entries) and len(entries) == 2
    for entry in entries:
        data = (out / entry["dataFileS3Key"]).read_bytes()
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(data).digest()).decode()
        assert len(gzip.decompress(data).splitlines()) == entry["itemCount"]
    assert exported.err.strip().startswith(f"exported {len(before)} items from local table 'cruddur-messages'")
    assert invoke("drop").code == 0
    imported = invoke("import", str(out))
    assert imported.code == 0, imported
    assert (
        imported.err.strip()
        .splitlines()[-1]
        .startswith(
            f"imported {len(before)} items into local table 'cruddur-messages' at {engine} (created from the saved description, "
            "provisioned 5/5 RCU/WCU, index message-group-sk-index 5/5): "
            "0 already there, "
        )
    )
    assert re.search(rf"; all {len(before)} read back from the table in \d+\.\d s$", imported.err.strip())
    assert typed_items(local_client(engine)) == before
    again = invoke("import", str(out))
    assert again.code == 0 and "imported 0 items" in again.err and f"{len(before)} already there" in again.err


def test_a_damaged_export_is_one_line_exit_1_and_nothing_is_written(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    out = tmp_path / "backup"
    folder = _export_dir(invoke("export", "--out", str(out)), out)
    (data,) = (folder / "data").iterdir()
    data.write_bytes(data.read_bytes()[:-1])
    assert invoke("drop").code == 0
    with FaultProxy(engine) as proxy:
        run = invoke("import", str(out), endpoint=proxy.endpoint)
        assert sum(proxy.seen.values()) == 0
    assert run.code == 1 and "Traceback" not in run.err
    (line,) = run.err.strip().splitlines()
    assert line.startswith(f"error: {data}: MD5 is ") and line.endswith("the file is damaged or not the one exported")
    with FaultProxy(engine) as proxy:
        refused = invoke("import", str(tmp_path), endpoint=proxy.endpoint)
        prod = invoke("import", str(out), "--prod", env={"AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint})
        assert sum(proxy.seen.values()) == 0
    assert refused.code == 1 and refused.err.strip() == (
        f"error: {tmp_path}: no manifest-summary.json here or in AWSDynamoDB/<export id>/, "
        "and no dynamodump schema.json: not an export"
    )
    assert prod.code == 1 and prod.err.strip().splitlines()[-1].startswith("error: ")


def test_import_stores_every_item_once_when_a_third_of_every_request_fails(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    before = typed_items(local_client(engine))
    out = tmp_path / "backup"
    assert invoke("export", "--out", str(out)).code == 0
    assert invoke("drop").code == 0
    shares = {"throttle": 0.2, "500": 0.05, "drop-before": 0.05, "drop-after": 0.05}
    with FaultProxy(engine, shares=shares, operations=ALL, unprocessed_share=0.5, seed=5) as proxy:
        run = invoke("import", str(out), endpoint=proxy.endpoint, env=FAST)
        assert run.code == 0, run
        assert proxy.injected["unprocessed"] >= 2 and proxy.faulted["BatchWriteItem"] >= 1, proxy.injected
    assert typed_items(local_client(engine)) == before
    assert len(all_items(local_client(engine))) == len(before) == 112


def test_prod_import_without_yes_refuses_before_any_request_and_prod_export_only_reads(invoke, engine, tmp_path):
    assert invoke("setup").code == 0
    out = tmp_path / "backup"
    with FaultProxy(engine) as proxy:
        exported = invoke("export", "--out", str(out), "--prod", env={"AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint})
        assert exported.code == 0, exported
        assert proxy.writes_seen == 0 and proxy.seen["Scan"] >= 1
        proxy.seen.clear()
        run = invoke("import", str(out), "--prod", env={"AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint})
        assert sum(proxy.seen.values()) == 0
    assert run.code == 1
    assert (
        run.err.strip()
        .splitlines()[-1]
        .endswith(
            "(if it is missing, create it provisioned 5/5 RCU/WCU, index message-group-sk-index 5/5) on prod table "
            f"'cruddur-messages' in us-east-1 at {proxy.endpoint}: no terminal to confirm on; pass --yes to confirm"
        )
    )
