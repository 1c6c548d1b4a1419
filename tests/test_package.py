"""`ddb` is a package that installs anywhere: a wheel built from the repository, installed
into a clean virtual environment that holds boto3 and nothing else, runs every pattern
from a folder outside the repository, with no repository file in reach.

No network: the wheel is built without build isolation (setuptools comes with the venv
that runs the tests), installed with `--no-index`, and boto3 reaches the clean
environment through a `.pth` file naming a folder that holds links to boto3 and its own
dependencies only.
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .support import ROOT, fake_aws_environment, link_boto3_closure

# Runs inside the clean environment, from a folder outside the repository.
APP = r"""
import importlib.util, json, sys
import boto3
import ddb
from ddb import messaging, patterns, stream  # the app's imports
from ddb.schema import declaration as schema
User = ddb.items.User
handler = importlib.import_module("ddb.stream").lambda_handler  # how Lambda finds the deployed handler path

endpoint, table = sys.argv[1], sys.argv[2]
kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local", aws_secret_access_key="local")
client, streams = boto3.client("dynamodb", **kw), boto3.client("dynamodbstreams", **kw)

schema.load(client, table)
mira = User(uuid="c8d570ce-751b-4d03-85a6-4c0f876ca3ca", handle="mira", display_name="Mira Okafor")
tomas = User(uuid="af471036-78d5-4a38-bcf5-7d663ff84e8a", handle="tomas", display_name="Tomas Lindqvist")
started = messaging.create_conversation(client, table, mira, tomas, "Hike on Saturday?")
group = started.message_group_uuid
reply = messaging.create_message(client, table, group, tomas, "Only if it does not rain.")

# The stream, as the Lambda would get it: every record of the table's stream, in order.
arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
records = []
for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records += streams.get_records(ShardIterator=iterator)["Records"]
applied = stream.handle_records(client, table, records)

inbox = patterns.list_conversations(client, table, mira.uuid, limit=5)
chat = patterns.list_messages(client, table, group, limit=5)

# A bad fixture folder is a DdbError of one line, jsonschema or not.
import pathlib, tempfile
from ddb.seed import fixtures
DdbError = ddb.errors.DdbError
bad = pathlib.Path(tempfile.mkdtemp())
(bad / "conversations").mkdir()
(bad / "users.json").write_text('[{"uuid": "c8d570ce-751b-4d03-85a6-4c0f876ca3ca", "handle": "mira", "display_name": 7}]')
try:
    fixtures.load(bad)
    refused = None
except DdbError as exc:
    refused = [type(exc).__name__, str(exc)]
print(json.dumps({
    "refused": refused,
    "ddb_file": ddb.__file__,
    "surface": sorted(ddb.__all__),
    "handler": [handler.__module__, handler.__name__, handler is stream.lambda_handler],
    "missing": [name for name in ("jsonschema", "moto", "invoke", "rich", "pytest")
                if importlib.util.find_spec(name) is None],
    "failed": len(applied.failed),
    "inbox": [(i["user_handle"], i["message"]) for i in inbox.as_json()["items"]],
    "chat": [(m["user_handle"], m["message"]) for m in chat.as_json()["items"]],
}))
"""


def _build_wheel(into: Path) -> Path:
    """`pip wheel` of a copy of the package's sources (a build in place would leave build/ in the clone)."""
    source = into / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "ddb", source / "ddb", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(into / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (into / "dist").glob("cruddur_ddb-*.whl")
    return wheel


def _clean_environment(where: Path, wheel: Path) -> Path:
    """A venv with the wheel installed and boto3's closure linked in; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where / "venv")], check=True, timeout=120)
    python = where / "venv" / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    linked = link_boto3_closure(where / "boto3-only")
    site = next((where / "venv" / "lib").glob("python3*/site-packages"))
    (site / "boto3-only.pth").write_text(f"{linked}\n")
    return python


def test_the_wheel_holds_the_library_and_its_schemas_and_nothing_of_the_repository(tmp_path):
    wheel = zipfile.ZipFile(_build_wheel(tmp_path))
    names = wheel.namelist()
    assert "ddb/data/schemas/item.schema.json" in names and "ddb/app/patterns.py" in names and "ddb/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "fixtures/", "bench/", "commands/", "tasks"))]
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert runtime == ["Requires-Dist: boto3>=1.34"]


@pytest.mark.usefixtures("aws_credentials")
def test_the_installed_wheel_lists_sends_and_streams_with_boto3_alone_from_any_folder(tmp_path, moto_server):
    python = _clean_environment(tmp_path, _build_wheel(tmp_path))
    elsewhere = tmp_path / "app"
    elsewhere.mkdir()
    env = {k: v for k, v in fake_aws_environment().items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [str(python), "-c", APP, moto_server, "packaged-messages"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ddb_file"].startswith(str(tmp_path / "venv")), result["ddb_file"]
    assert result["surface"] == ["errors", "items", "messaging", "patterns", "stream"]
    assert result["handler"] == ["ddb.stream.handler", "lambda_handler", True]
    assert result["missing"] == ["jsonschema", "moto", "invoke", "rich", "pytest"]
    assert result["failed"] == 0
    assert result["inbox"] == [["tomas", "Only if it does not rain."]]  # moved by the stream records
    assert result["chat"] == [["mira", "Hike on Saturday?"], ["tomas", "Only if it does not rain."]]
    kind, line = result["refused"]
    assert (
        kind == "FixtureError"
        and "\n" not in line
        and line.endswith(
            "breaks users.schema.json (install jsonschema, as `pip install 'cruddur-ddb[tasks]'` does, to be told where)"
        )
    ), line


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def test_the_library_imports_neither_invoke_nor_rich():
    import ast

    imported = {}
    for path in _modules("ddb"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                if name.split(".")[0] in ("invoke", "rich"):
                    imported[str(path.relative_to(ROOT))] = name
    assert imported == {}


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules("ddb", "commands") if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
