"""deploy.package: the stream Lambda's zip is the ddb package alone, reproducible, and runs
the handler with nothing but boto3 beside it."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

from ddb.app import messaging, patterns
from ddb.data.items import MessageItem, User
from ddb.deploy import package as lambda_package
from ddb.schema import declaration as schema

from .support import ROOT, all_items, fake_aws_environment, link_boto3_closure, local_client, run_task_process

MIRA = User(uuid="c8d570ce-751b-4d03-85a6-4c0f876ca3ca", handle="mira", display_name="Mira Okafor")
TOMAS = User(uuid="af471036-78d5-4a38-bcf5-7d663ff84e8a", handle="tomas", display_name="Tomas Lindqvist")

# Runs in a fresh interpreter with no site-packages (-I -S): the unzipped package and
# boto3's closure are all it has beyond the standard library, as on Lambda's runtime.
HANDLER = r"""
import importlib.util, json, sys
unzipped, boto3_only = sys.argv[1], sys.argv[2]
sys.path[:0] = [unzipped, boto3_only]
from ddb.stream import lambda_handler
import ddb
event = json.loads(sys.stdin.read())
print(json.dumps({
    "ddb_file": ddb.__file__,
    "missing": [m for m in ("jsonschema", "moto", "invoke", "rich", "pytest") if importlib.util.find_spec(m) is None],
    "answer": lambda_handler(event, None),
}))
"""


def _stream_event(message: MessageItem, stream_arn: str, sequence: str) -> dict:
    """One INSERT record shaped as Lambda hands a DynamoDB stream batch to the function."""
    from ddb.data import items

    return {
        "Records": [
            {
                "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1795710000,
                    "Keys": items.to_typed(items.key_of(message)),
                    "NewImage": items.to_typed(message),
                    "SequenceNumber": sequence,
                    "SizeBytes": 321,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": stream_arn,
            }
        ]
    }


def test_the_package_built_twice_is_byte_identical_whatever_the_files_times_and_modes(tmp_path):
    first = lambda_package.build(tmp_path / "one.zip")
    second = lambda_package.build(tmp_path / "two.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.sha256, first.size) == (second.sha256, second.size)
    # The same sources with other times and modes, copied in another order, give the same bytes.
    copy = tmp_path / "elsewhere" / "ddb"
    shutil.copytree(ROOT / "ddb", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for number, path in enumerate(sorted(copy.rglob("*"), reverse=True)):
        if path.is_file():
            os.utime(path, (1_900_000_000 + number, 1_900_000_000 + number))
            path.chmod(0o600 if number % 2 else 0o755)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "stream.cpython-311.pyc").write_bytes(b"compiled")
    assert lambda_package.build(tmp_path / "three.zip", root=copy).path.read_bytes() == first.path.read_bytes()


def test_the_package_holds_the_handlers_modules_with_the_package_data_and_nothing_else():
    built = lambda_package.zip_bytes(lambda_package.package_files())
    import io

    archive = zipfile.ZipFile(io.BytesIO(built))
    infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {
        "ddb/stream/handler.py",
        "ddb/stream/records.py",
        "ddb/app/group_items.py",
        "ddb/__init__.py",
        "ddb/py.typed",
        "ddb/data/schemas/item.schema.json",
        "ddb/data/schemas/users.schema.json",
        "ddb/data/schemas/conversation.schema.json",
    } <= set(names)
    assert all(name.startswith("ddb/") for name in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", "/"))]
    # Nothing the handler does not import: no local engines, deploy, backup, seed, migrate, bulk or modeling code,
    # and of the schema only its declaration (the GSI's name).
    folders = {name.split("/")[1] for name in names if name.count("/") > 1}
    assert folders == {"core", "data", "schema", "app", "stream"}
    assert [n for n in names if n.startswith("ddb/schema/")] == ["ddb/schema/__init__.py", "ddb/schema/declaration.py"]
    assert {(i.date_time, i.external_attr >> 16, i.create_system) for i in infos} == {((1980, 1, 1, 0, 0, 0), 0o100644, 3)}
    # The package data are the ones the wheel ships (pyproject.toml), so the zip and the wheel hold the same data files.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert list(lambda_package.PACKAGE_DATA) == [p for p in pyproject["tool"]["setuptools"]["package-data"]["ddb"]]


def test_the_handlers_modules_are_what_importing_it_loads_and_lazy_imports_are_packed_too(tmp_path):
    package = tmp_path / "ddb"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "stream.py").write_text("from . import near\n\ndef lambda_handler(event, context):\n    from .far import x\n")
    (package / "near.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import typing_only\n")
    (package / "far.py").write_text("import ddb.farther\nx = 1\n")
    (package / "farther.py").write_text("")
    (package / "typing_only.py").write_text("")
    (package / "unused.py").write_text("")
    found = {p.name for p in lambda_package.handler_modules(package)}
    assert found == {"__init__.py", "stream.py", "near.py", "far.py", "farther.py"}


def test_deploy_package_run_twice_prints_path_size_and_sha256_of_byte_identical_zips(tmp_path):
    env = fake_aws_environment()
    runs = []
    for name in ("first.zip", "second.zip"):
        done = run_task_process(("deploy.package", "--out", str(tmp_path / name)), env, timeout=60)
        assert done.code == 0, done.err
        runs.append(done.out.splitlines())
    data = (tmp_path / "first.zip").read_bytes()
    assert data == (tmp_path / "second.zip").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert runs == [[str(tmp_path / name), f"{len(data)} bytes", f"sha256 {digest}"] for name in ("first.zip", "second.zip")]


@pytest.mark.usefixtures("aws_credentials")
def test_the_unzipped_package_applies_a_stream_event_with_only_boto3_beside_it(tmp_path, moto_server):
    table = "lambda-zip-messages"
    client = local_client(moto_server)
    schema.load(client, table)
    group = messaging.create_conversation(client, table, MIRA, TOMAS, "Hike on Saturday?").message_group_uuid
    reply = messaging.create_message(client, table, group, TOMAS, "Only if it does not rain.").message
    stream_arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    before = [i for i in all_items(client, table) if i.get("message_group_uuid") == group]
    assert {g["message"] for g in before} == {"Hike on Saturday?"}  # the stream's job, not the write's

    unzipped = tmp_path / "unzipped"
    unzipped.mkdir()
    zipfile.ZipFile(lambda_package.build(tmp_path / "lambda.zip").path).extractall(unzipped)
    boto3_only = link_boto3_closure(tmp_path / "boto3-only")
    env = {k: v for k, v in fake_aws_environment().items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(TABLE_NAME=table, AWS_ENDPOINT_URL=moto_server)
    event = _stream_event(reply, stream_arn, "13021600000000001596893679")
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", HANDLER, str(unzipped), str(boto3_only)],
        cwd=tmp_path,
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ddb_file"] == str(unzipped / "ddb" / "__init__.py")
    assert result["missing"] == ["jsonschema", "moto", "invoke", "rich", "pytest"]
    assert result["answer"] == {"batchItemFailures": []}
    # Both group items moved to the reply: its time and text, in each participant's inbox.
    for user in (MIRA, TOMAS):
        (inbox,) = patterns.list_conversations(client, table, user.uuid, limit=5).as_json()["items"]
        assert (inbox["message"], inbox["message_group_uuid"]) == ("Only if it does not rain.", group)
    groups = [i for i in all_items(client, table) if i.get("message_group_uuid") == group]
    assert sorted((g["pk"], g["sk"]) for g in groups) == sorted((f"GRP#{u.uuid}", reply["sk"]) for u in (MIRA, TOMAS))
