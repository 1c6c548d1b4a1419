"""Least privilege and hygiene: the IAM policies match the calls the code makes, exactly."""

import json
import re
from datetime import timedelta

import boto3
from botocore import xform_name

from ddb.backup import native_export, native_import
from ddb.data import items
from ddb.schema import plan as schema_plan
from ddb.stream import handler as stream

from .support import NOW, ROOT, TABLE

# Transactions need the permission of each action inside them; waiters describe the table.
_IAM_FOR = {"TransactWriteItems": {"PutItem", "DeleteItem"}}
_WAITERS = {"table_exists": "DescribeTable", "table_not_exists": "DescribeTable"}


def _actions(policy: dict, sid=None, service="dynamodb") -> set[str]:
    found = set()
    for statement in policy["Statement"]:
        if sid is None or statement["Sid"] == sid:
            found |= {a.split(":", 1)[1] for a in statement["Action"] if sid or a.split(":", 1)[0] == service}
    return found


# The IAM action of each S3 operation an export or import sends (a multipart upload's steps are s3:PutObject).
_S3_IAM_FOR = {
    "PutObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "ListObjectsV2": "ListBucket",
}


def _s3_operations_called_by_backup() -> set[str]:
    """Every S3 operation named in `ddb/backup` (exports to and imports from s3://)."""
    model = boto3.client("s3", region_name="us-east-1").meta.service_model
    names = {xform_name(op): op for op in model.operation_names}
    source = "\n".join(p.read_text() for p in sorted((ROOT / "ddb" / "backup").glob("*.py")))
    return {names[m] for m in re.findall(r"\.(\w+)\(", source) if m in names}


def _operations_called_in_source() -> set[str]:
    """Every DynamoDB / Streams operation named in the library (every subsystem's package) and the tasks."""
    names = {}
    for service in ("dynamodb", "dynamodbstreams"):
        model = boto3.client(service, region_name="us-east-1").meta.service_model
        names.update({xform_name(op): op for op in model.operation_names})
    source = "\n".join(
        p.read_text()
        for p in [
            ROOT / "tasks.py",
            *sorted((ROOT / "commands").glob("*.py")),
            # every subsystem but the local engines (`local.*`, never on prod)
            *sorted(p for p in (ROOT / "ddb").rglob("*.py") if "engines" not in p.relative_to(ROOT / "ddb").parts),
            *sorted((ROOT / "migrations").glob("*.py")),
        ]
    )
    called = {names[m] for m in re.findall(r"\.(\w+)\(", source) if m in names}
    called |= {names[m] for m in re.findall(r'get_paginator\("(\w+)"\)', source)}
    called |= {_WAITERS[m] for m in re.findall(r'get_waiter\("(\w+)"\)', source)}
    called |= {names[m] for m in schema_plan.OPERATIONS}  # schema-apply's steps name their method
    return called


def _iam(operations) -> set[str]:
    return set().union(*(_IAM_FOR.get(op, {op}) for op in operations))


def test_tasks_policy_allows_every_action_the_code_calls_and_nothing_more():
    policy = json.loads((ROOT / "iam" / "tasks-policy.json").read_text())
    assert _actions(policy) == _iam(_operations_called_in_source())
    called = _s3_operations_called_by_backup()
    assert called >= {"PutObject", "UploadPart", "GetObject", "ListObjectsV2"}
    # AWS's own export and import act on S3 (and, importing, on CloudWatch Logs) with the caller's rights, as AWS documents.
    native = {action.split(":", 1)[1] for action in native_export.S3_ACTIONS + native_import.S3_ACTIONS}
    assert _actions(policy, service="s3") == {_S3_IAM_FOR[op] for op in called} | native
    assert _actions(policy, service="logs") == {action.split(":", 1)[1] for action in native_import.LOGS_ACTIONS}


def test_lambda_policy_allows_what_the_handler_calls_and_what_the_stream_poller_needs(client, seeded, monkeypatch):
    called = set()
    client.meta.events.register("before-call.dynamodb.*", lambda model, **kw: called.add(model.name))
    monkeypatch.setattr(stream, "_CLIENTS", {"dynamodb": client})
    message = items.message_item(
        "248665fc-a3a4-41bd-b3b4-81b49c46262b",
        "5b7c3a52-46f4-4a5e-9b0e-8f3f3b1c2d10",
        seeded.users["june"],
        "hi",
        items.iso_time(NOW + timedelta(hours=1)),
    )
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(message), "SequenceNumber": "1"}}
    assert stream.lambda_handler({"Records": [record]}) == {"batchItemFailures": []}
    policy = json.loads((ROOT / "iam" / "stream-lambda-policy.json").read_text())
    assert called == {"Query", "TransactWriteItems"}
    assert _actions(policy, "HandlerCalls") == _iam(called)
    assert _actions(policy, "EventSourceMapping") == {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}
    assert _actions(policy, "OnFailureDestination") == {"SendMessage"}  # where the mapping sends records it gave up on


def test_policies_name_only_the_messages_table():
    for name in ("tasks-policy.json", "stream-lambda-policy.json"):
        policy = json.loads((ROOT / "iam" / name).read_text())
        for statement in policy["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                assert (
                    (resource == "*" and statement["Action"] == ["dynamodb:ListTables"])
                    or f"table/{TABLE}" in resource
                    or resource in (f"arn:aws:s3:::{TABLE}-exports", f"arn:aws:s3:::{TABLE}-exports/*")  # its exports' bucket
                    or (resource == f"arn:aws:sqs:*:*:{TABLE}-stream-failures" and statement["Action"] == ["sqs:SendMessage"])
                    # ImportTable's log group, where it writes the items it could not import
                    or (resource == f"arn:aws:logs:*:*:log-group:{native_import.LOG_GROUP.rsplit('/', 1)[0]}/*")
                )


def test_no_credentials_in_the_repository():
    """Every file git tracks (not a venv or cache that happens to sit in the checkout)."""
    import subprocess

    pattern = re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}|aws_secret_access_key\s*=\s*['\"][A-Za-z0-9/+]{40}")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    files = [ROOT / name for name in tracked if name]
    assert len(files) > 50
    for path in files:
        if path.is_file():
            assert not pattern.search(path.read_text(errors="ignore")), path
