"""The scale tasks end to end: synth, seed of a synthetic set, parallel scan, lean imports."""

import io
import json
import subprocess
import sys

import pytest
from rich.console import Console

from commands import views
from ddb.app.patterns import Page

from .support import ROOT, fake_aws_environment, seed_table


def _modules_imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.each_engine  # seeding and parallel scan segments are served by the engine
def test_synth_then_seed_then_a_parallel_scan_finds_every_item(invoke, tmp_path):
    out = tmp_path / "synthetic"
    run = invoke("synth", "--out", str(out), "--messages", "300", "--conversations", "6", "--users", "4")
    assert run.code == 0, run
    assert f"wrote 300 messages in 6 conversations between 4 users to {out}" in run.err
    assert invoke("schema-load").code == 0
    run = invoke("seed", "--fixtures", str(out), "--writers", "3")
    assert run.code == 0, run
    assert "seeded 6 conversations, 300 messages, 12 group items, 6 group claims: 318 put, 0 stale deleted" in run.err
    # A local seed does not ask the engine for consumed capacity (DynamoDB Local would slow by a fifth).
    assert "items/s" in run.err and "WCU/s reported" not in run.err
    single = invoke("scan", "--json")
    parallel = invoke("scan", "--json", "--segments", "3")
    assert single.code == parallel.code == 0, parallel
    keys = sorted((i["pk"], i["sk"]) for i in map(json.loads, parallel.out.splitlines()))
    assert len(keys) == 318 and keys == sorted((i["pk"], i["sk"]) for i in map(json.loads, single.out.splitlines()))
    limited = invoke("scan", "--json", "--segments", "3", "--limit", "5")
    assert limited.code == 0 and len(limited.out.splitlines()) == 5


def test_synth_refuses_to_overwrite_and_bad_segments_are_one_line(invoke, tmp_path):
    out = tmp_path / "synthetic"
    assert invoke("synth", "--out", str(out), "--messages", "10", "--conversations", "2", "--users", "3").code == 0
    again = invoke("synth", "--out", str(out), "--messages", "10", "--conversations", "2", "--users", "3")
    assert (again.code, again.err.strip()) == (
        1,
        f"error: {out}: already holds fixture files: pass --force to replace them, or choose another directory",
    )
    assert invoke("schema-load").code == 0
    bad = invoke("scan", "--segments", "0")
    assert (bad.code, bad.err.strip()) == (1, "error: --segments must be a whole number from 1 to 1000, not '0'")
    bad = invoke("scan", "--segments", "two")
    assert (bad.code, bad.err.strip()) == (1, "error: --segments must be a whole number from 1 to 1000, not 'two'")


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--messages", "abc", "--messages must be a whole number of at least 1, not 'abc'"),
        ("--conversations", "2.5", "--conversations must be a whole number of at least 1, not '2.5'"),
        ("--users", "-3", "--users must be a whole number of at least 1, not '-3'"),
        ("--seed", "x", "--seed must be a whole number of at least 0, not 'x'"),
    ],
)
def test_synth_refuses_a_size_or_seed_that_is_not_a_whole_number_in_one_line(invoke_alone, tmp_path, flag, value, expected):
    out = tmp_path / "synthetic"
    run = invoke_alone("synth", "--out", str(out), flag, value)
    assert (run.code, run.err, run.out) == (1, f"error: {expected}\n", "")
    assert not out.exists()


def test_a_pattern_command_imports_no_moto_jsonschema_or_rich(invoke_process, engine_client):
    seed_table(engine_client)
    run = invoke_process("patterns.list-conversations", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert run.code == 0, run
    assert "@tomas" in run.out
    imported = _modules_imported(run.err)
    assert "boto3" in imported and "ddb.app.patterns" in imported
    heavy = sorted(m for m in imported if m.split(".")[0] in {"moto", "jsonschema", "rich"})
    assert heavy == [], heavy


def test_tasks_import_no_moto():
    code = (
        "import tasks, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'jsonschema', 'rich', 'boto3')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=fake_aws_environment())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_plain_inbox_says_what_the_styled_one_shows():
    items = [
        {
            "message_group_uuid": "3364f717-0448-48d9-b8ed-f5dc3fb166c3",
            "user_uuid": "af471036-78d5-4a38-bcf5-7d663ff84e8a",
            "user_handle": "tomas",
            "user_display_name": "Tomás Lindqvist",
            "message": "See you at 5:30.\nTwo coffees.",
            "last_message_at": "2026-11-25T16:20:00.000000+00:00",
        }
    ]
    for page in (Page(items, None), Page([], None)):
        view = views.conversations_view(page, "mira")
        styled = io.StringIO()
        Console(file=styled, width=200, color_system=None).print(view)
        assert [line.rstrip() for line in styled.getvalue().splitlines()] == view.plain().splitlines()
