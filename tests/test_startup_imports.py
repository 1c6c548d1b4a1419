"""What a command's start-up loads, seen from a process of its own: the modules, the bytecode cache, the frozen objects.

Each run starts a Python that runs invoke's `program.run()` as the `invoke` script does
and, at exit, writes what it loaded and how its interpreter was set on stderr's last line.
Only what was loaded is asserted, never how long it took (bench/command_latency.py
--breakdown measures that).
"""

import json
import subprocess
import sys

from .support import ROOT, seed_table

REPORT = """
import atexit, gc, json, sys
atexit.register(lambda: sys.stderr.write("\\n" + json.dumps({
    "modules": sorted(sys.modules), "dont_write_bytecode": sys.dont_write_bytecode, "frozen": gc.get_freeze_count(),
    "left_to_collect": len(gc.get_objects()),
}) + "\\n"))
sys.argv = ["invoke", *sys.argv[1:]]
from invoke.main import program
program.run()
"""

# What loading the namespace needs of the library: the errors the tasks turn into exit codes.
NAMESPACE_NEEDS = ["ddb", "ddb.core", "ddb.core.errors", "ddb.engines"]

# Imported where a task needs them, never by the namespace or by pattern B with a handle the fixtures know.
LAZY = {
    "ddb.core.tally": "a batch write's tally (ddb.core.errors names it for the type checker only)",
    "ddb.app.user_lookup": "a handle or uuid looked up in the table",
    "ddb.app.group_items": "the group items read by a lookup in the table",
}
TARGET = ["ddb.core.target", "ddb.core.retry", "ddb.core.text", "ddb.core.clients"]  # resolve_target's, when a task runs
HEAVY = {"moto", "jsonschema", "rich", "boto3", "botocore"}
TOOLING = {"bulk", "seed.seeding", "schema.plan", "engines.state", "modeling", "backup", "migrate", "deploy", "stream"}


def _started(env, *args) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    return done, json.loads(done.stderr.strip().splitlines()[-1])


def _of(modules: list[str], package: str) -> list[str]:
    return [m for m in modules if m == package or m.startswith(package + ".")]


def test_invoke_list_loads_of_the_library_only_its_errors(invoke_alone_process):
    done, report = _started(invoke_alone_process.environment(), "--list")
    assert done.returncode == 0, done.stderr
    assert "patterns.list-conversations" in done.stdout
    assert _of(report["modules"], "ddb") == NAMESPACE_NEEDS
    assert not [m for m in report["modules"] if m.split(".")[0] in HEAVY]


def test_pattern_b_loads_the_pattern_and_its_checks_but_no_lookup_batch_or_tooling(invoke_process, engine_client):
    seed_table(engine_client)
    done, report = _started(invoke_process.environment(), "patterns.list-conversations")
    assert done.returncode == 0, done.stderr
    assert "@tomas" in done.stdout
    modules = set(report["modules"])
    # What it runs: the pattern, the target and its checks, the fixtures' users.json and its checks, boto3.
    assert {"ddb.app.patterns", "ddb.data.validate", "ddb.seed.fixtures", "ddb.data.contract", "boto3", *TARGET} <= modules
    assert sorted(modules & set(LAZY)) == []
    assert [m for m in modules if m.startswith("ddb.") and m[len("ddb.") :].startswith(tuple(TOOLING))] == []
    assert [m for m in modules if m.split(".")[0] in HEAVY - {"boto3", "botocore"}] == []


def test_a_lookup_in_the_table_loads_the_lookup_when_it_is_needed(invoke_process, engine_client):
    seed_table(engine_client)
    uuid_of_mira = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
    done, report = _started(invoke_process.environment(), "patterns.list-conversations", "--user-uuid", uuid_of_mira)
    assert done.returncode == 0, done.stderr
    assert "ddb.app.user_lookup" not in report["modules"]  # pattern B needs the uuid alone
    done, report = _started(
        invoke_process.environment(),
        "patterns.create-message",
        "--message",
        "hi",
        "--user-uuid",
        uuid_of_mira,
        "--message-group-uuid",
        "3364f717-0448-48d9-b8ed-f5dc3fb166c3",
    )
    assert done.returncode == 0, done.stderr
    assert {"ddb.app.user_lookup", "ddb.app.group_items"} <= set(report["modules"])


def test_the_project_modules_are_cached_as_python_caches_any_module_and_start_up_objects_are_frozen(invoke_alone_process):
    env = invoke_alone_process.environment({"PYTHONDONTWRITEBYTECODE": None})
    done, report = _started(env, "--list")
    assert done.returncode == 0, done.stderr
    # invoke turns the cache off before it loads tasks.py; commands/__init__.py gives it back.
    assert report["dont_write_bytecode"] is False
    assert report["frozen"] > 0
    # Frozen again at exit, after every other exit handler (this report's runs last, being registered before
    # tasks.py loaded): the interpreter's shutdown walks no object in its collections.
    assert report["left_to_collect"] < 1000 < report["frozen"]
    done, report = _started({**env, "PYTHONDONTWRITEBYTECODE": "1"}, "--list")
    assert done.returncode == 0 and report["dont_write_bytecode"] is True  # a Python told not to cache is obeyed
