"""deploy.stack: a change-set deploy on a local stand-in for AWS (moto server's CloudFormation,
S3, Lambda, IAM, SQS and DynamoDB), which refuses to replace or remove the table before it
sends any request that writes."""

import http.client
import json
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from ddb.core.errors import DdbError, Refused
from ddb.deploy import package as lambda_package
from ddb.deploy import stack as stack_deploy
from ddb.deploy import stack_guard
from ddb.deploy import template as cfn_template
from ddb.schema import declaration as schema

from .support import ROOT, TABLE, fake_aws_environment

POLICY = json.loads((ROOT / "iam" / "stream-lambda-policy.json").read_text())
STACK = "cruddur-messages-stream"
BUCKET = "cruddur-deploy-test"
READS = ("Describe", "Get", "List", "HEAD ", "GET ")


class CountingProxy:
    """An HTTP proxy in front of moto server that names and counts every request it passes on.

    The operation is the JSON protocol's X-Amz-Target, the query protocol's Action, or, for
    S3's REST calls, the method and whether it aims at a bucket or an object.
    """

    def __init__(self, upstream: str):
        self.upstream = urlparse(upstream)
        self.seen: Counter = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _pass_on(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen[proxy._operation(self.command, self.path, self.headers, body)] += 1
                upstream = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
                upstream.request(self.command, self.path, body=body, headers={**headers, "Content-Length": str(len(body))})
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "content-length", "transfer-encoding", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _pass_on

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def _operation(method, path, headers, body) -> str:
        if headers.get("X-Amz-Target"):
            return headers["X-Amz-Target"].split(".")[-1]
        if "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
            return parse_qs(body.decode()).get("Action", ["?"])[0]
        parts = [p for p in urlparse(path).path.split("/") if p]
        return f"{method} {'object' if len(parts) > 1 else 'bucket'}"

    @property
    def writes(self) -> Counter:
        return Counter({op: n for op, n in self.seen.items() if not op.startswith(READS)})

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def aws(moto_server):
    """moto server emptied, with the deploy bucket; its endpoint."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=5).read()
    _client("s3", moto_server).create_bucket(Bucket=BUCKET)
    return moto_server


def _client(service, endpoint):
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _deploy_task(endpoint, *args, env=None):
    full_env = {**fake_aws_environment(), "AWS_ENDPOINT_URL": endpoint, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "invoke", "deploy.stack", "--prod", *args],
        cwd=ROOT,
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pending_change_sets(cfn) -> list[str]:
    """Change sets made and not executed (moto also lists executed ones, which AWS drops)."""
    return [c["ChangeSetName"] for c in cfn.list_change_sets(StackName=STACK)["Summaries"] if c["ExecutionStatus"] == "AVAILABLE"]


def _target_line(endpoint, table=TABLE):
    return f"target: prod table {table!r} in us-east-1 at {endpoint}, stack {STACK!r}"


def test_deploy_stack_creates_the_stack_and_a_second_run_shows_a_billing_change_as_a_change_set(aws):
    built = lambda_package.build(ROOT / "dist" / "stream-lambda.zip")
    key = f"cruddur-ddb/stream-lambda-{built.sha256[:16]}.zip"
    first = _deploy_task(aws, "--yes", "--bucket", BUCKET)
    assert first.returncode == 0, first.stderr
    header, *adds = first.stdout.splitlines()
    assert header.endswith(f" (CREATE) for stack {STACK!r}; code s3://{BUCKET}/{key} (uploaded):")
    assert sorted(line.split() for line in adds) == [
        ["Add", name, kind]
        for name, kind in sorted(
            [
                ("StreamEventSourceMapping", "AWS::Lambda::EventSourceMapping"),
                ("StreamFailureQueue", "AWS::SQS::Queue"),
                ("StreamFunction", "AWS::Lambda::Function"),
                ("StreamFunctionRole", "AWS::IAM::Role"),
                ("Table", "AWS::DynamoDB::Table"),
            ]
        )
    ]
    assert first.stderr.splitlines()[0] == _target_line(aws)
    assert first.stderr.splitlines()[-1].startswith(f"stack {STACK!r}: CREATE_COMPLETE (change set deploy-")

    # What the stand-in built: the declared table, the function on its stream with the README's settings, the code.
    table = _client("dynamodb", aws).describe_table(TableName=TABLE)["Table"]
    assert schema.differences(table, schema.table_spec(TABLE)) == []
    assert table["DeletionProtectionEnabled"] is True
    lam = _client("lambda", aws)
    (function,) = lam.list_functions()["Functions"]
    assert (function["Handler"], function["Runtime"], function["Environment"]["Variables"]) == (
        "ddb.stream.lambda_handler",
        "python3.12",
        {"TABLE_NAME": TABLE},
    )
    (mapping,) = lam.list_event_source_mappings()["EventSourceMappings"]
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]
    assert {k: mapping[k] for k in cfn_template.EVENT_SOURCE_SETTINGS} == cfn_template.EVENT_SOURCE_SETTINGS
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(f":{TABLE}-stream-failures")
    assert _client("s3", aws).get_object(Bucket=BUCKET, Key=key)["Body"].read() == built.path.read_bytes()

    second = _deploy_task(aws, "--yes", "--bucket", BUCKET, "--on-demand")
    assert second.returncode == 0, second.stderr
    header, *changes = second.stdout.splitlines()
    assert header.endswith(f" (UPDATE) for stack {STACK!r}; code s3://{BUCKET}/{key} (already there):")
    assert [line.split() for line in changes] == [["Modify", "Table", "AWS::DynamoDB::Table"]]
    assert second.stderr.splitlines()[-1].startswith(f"stack {STACK!r}: UPDATE_COMPLETE (change set deploy-")

    third = _deploy_task(aws, "--yes", "--bucket", BUCKET, "--on-demand")
    assert (third.returncode, third.stdout) == (0, ""), third.stderr
    assert third.stderr.splitlines()[-1] == f"stack {STACK!r} is up to date: nothing to change (code s3://{BUCKET}/{key})"


def test_a_new_table_name_that_would_replace_the_table_is_refused_in_one_line_with_no_request_that_writes(aws):
    assert _deploy_task(aws, "--yes", "--bucket", BUCKET).returncode == 0
    with CountingProxy(aws) as proxy:
        run = _deploy_task(proxy.endpoint, "--yes", "--bucket", BUCKET, env={"INVOKE_DDB_TABLE": "renamed-messages"})
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines() == [
        _target_line(proxy.endpoint, "renamed-messages"),
        f"error: refusing to deploy stack {STACK!r}: it would replace table 'cruddur-messages' with a new, empty one "
        "(its TableName changes from cruddur-messages to renamed-messages); nothing was changed",
    ]
    assert proxy.seen == Counter({"DescribeStacks": 1, "GetTemplate": 1})
    assert _pending_change_sets(_client("cloudformation", aws)) == []


def test_without_a_terminal_or_yes_deploy_stack_refuses_before_any_request(aws):
    with CountingProxy(aws) as proxy:
        run = _deploy_task(proxy.endpoint, "--bucket", BUCKET)
    shown = f"prod table 'cruddur-messages' in us-east-1 at {proxy.endpoint}"
    assert (run.returncode, run.stderr.splitlines()) == (
        1,
        [
            _target_line(proxy.endpoint),
            f"error: refusing to deploy stack {STACK!r} on {shown}: no terminal to confirm on; pass --yes to confirm",
        ],
    )
    assert proxy.seen == Counter()


# ------------------------------------------------------------------ the library, in-process


@pytest.fixture
def clients(aws):
    """CloudFormation and S3 clients for the stand-in, and the operations they send from now on."""
    cfn, s3 = _client("cloudformation", aws), _client("s3", aws)
    sent: list[str] = []
    for client in (cfn, s3):
        client.meta.events.register("before-call.*.*", lambda model, **_: sent.append(model.name))
    return cfn, s3, sent


def _request(tmp_path, spec=None, key="code/one.zip"):
    built = lambda_package.build(tmp_path / "lambda.zip")
    template = cfn_template.stack_template(POLICY, TABLE, spec=spec)
    return stack_deploy.DeployRequest(STACK, template, TABLE, BUCKET, key, built.path)


def _deploy(cfn, s3, request, confirm=lambda plan: None):
    return stack_deploy.deploy(cfn, s3, request, show=lambda plan: None, confirm=confirm, poll_seconds=0.05, timeout_seconds=30)


def _with_key_schema(keys):
    spec = schema.table_spec(TABLE)
    spec["KeySchema"] = keys
    return spec


def test_a_key_schema_change_is_refused_after_two_reads_and_nothing_else(clients, tmp_path):
    cfn, s3, sent = clients
    assert _deploy(cfn, s3, _request(tmp_path)).outcome == "applied"
    deployed = cfn.get_template(StackName=STACK)["TemplateBody"]
    sent.clear()
    changed = _request(tmp_path, spec=_with_key_schema([{"AttributeName": "pk", "KeyType": "HASH"}]), key="code/two.zip")
    with pytest.raises(Refused) as refused:
        _deploy(cfn, s3, changed)
    assert str(refused.value) == (
        f"refusing to deploy stack {STACK!r}: it would replace table 'cruddur-messages' with a new, "
        "empty one (its KeySchema changes from pk HASH, sk RANGE to pk HASH); nothing was changed"
    )
    assert sent == ["DescribeStacks", "GetTemplate"]
    assert cfn.get_template(StackName=STACK)["TemplateBody"] == deployed
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1  # code/two.zip was never uploaded


def test_a_change_set_that_cloudformation_says_replaces_the_table_is_deleted_unexecuted(clients, tmp_path):
    cfn, s3, sent = clients
    _deploy(cfn, s3, _request(tmp_path))
    deployed = cfn.get_template(StackName=STACK)["TemplateBody"]

    def replacing_table(parsed, model, **_):  # what CloudFormation says of a table it must replace
        parsed.setdefault("Changes", []).append(
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Table",
                    "PhysicalResourceId": TABLE,
                    "ResourceType": "AWS::DynamoDB::Table",
                    "Replacement": "Conditional",
                },
            }
        )

    cfn.meta.events.register("after-call.cloudformation.DescribeChangeSet", replacing_table)
    sent.clear()
    with pytest.raises(Refused) as refused:
        _deploy(cfn, s3, _request(tmp_path, key="code/two.zip"))  # new code: a change set to make
    assert str(refused.value) == (
        f"refusing to deploy stack {STACK!r}: CloudFormation's change set replaces table "
        "'cruddur-messages' (Replacement: Conditional); the change set is deleted, nothing was changed"
    )
    assert "ExecuteChangeSet" not in sent and sent[-1] == "DeleteChangeSet"
    assert _pending_change_sets(cfn) == []
    assert cfn.get_template(StackName=STACK)["TemplateBody"] == deployed


def test_a_change_set_that_is_not_confirmed_is_deleted_and_nothing_is_applied(clients, tmp_path):
    cfn, s3, sent = clients
    shown = []

    def decline(plan):
        shown.append([(c.action, c.logical_id) for c in plan.changes])
        raise Refused("not confirmed: did not apply it; nothing was changed")

    with pytest.raises(Refused):
        _deploy(cfn, s3, _request(tmp_path), confirm=decline)
    assert len(shown) == 1 and ("Add", "Table") in shown[0]
    assert "ExecuteChangeSet" not in sent and sent[-1] == "DeleteChangeSet"
    assert _client("dynamodb", cfn.meta.endpoint_url).list_tables()["TableNames"] == []


def test_a_missing_bucket_is_one_line_before_any_request_that_writes(clients, tmp_path):
    cfn, s3, sent = clients
    with pytest.raises(DdbError) as missing:
        _deploy(cfn, s3, replace(_request(tmp_path), bucket="no-such-bucket"))
    assert str(missing.value) == "bucket 'no-such-bucket' does not exist: create it first (`aws s3 mb s3://no-such-bucket`)"
    assert sent == ["DescribeStacks", "HeadBucket"]


# ------------------------------------------------------------------ what replaces the table, without a request


def _stack_template(**kw):
    return cfn_template.stack_template(POLICY, TABLE, **kw)


def _gsi_changed():
    spec = schema.table_spec(TABLE)
    spec["GlobalSecondaryIndexes"][0]["Projection"] = {"ProjectionType": "KEYS_ONLY"}
    return _stack_template(spec=spec)


def _with_lsi():
    spec = schema.table_spec(TABLE)
    spec["LocalSecondaryIndexes"] = [
        {
            "IndexName": "by-user",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "user_uuid", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]
    spec["AttributeDefinitions"].append({"AttributeName": "user_uuid", "AttributeType": "S"})
    return _stack_template(spec=spec)


def _key_type_changed():
    spec = schema.table_spec(TABLE)
    spec["AttributeDefinitions"][0] = {"AttributeName": "pk", "AttributeType": "B"}
    return _stack_template(spec=spec)


def _table_renamed_in_template():
    template = _stack_template()
    template["Resources"]["MessagesTable"] = template["Resources"].pop("Table")
    return template


@pytest.mark.parametrize(
    "new, parameters, threat",
    [
        (lambda: _stack_template(billing=schema.ON_DEMAND), {}, None),
        (_gsi_changed, {}, None),
        (lambda: _stack_template(spec={**schema.table_spec(TABLE, capacity=20)}), {}, None),
        (_stack_template, {"CodeS3Key": "code/other.zip"}, None),
        (_stack_template, {"TableName": "renamed"}, "its TableName changes from cruddur-messages to renamed"),
        (
            lambda: _stack_template(spec=_with_key_schema([{"AttributeName": "pk", "KeyType": "HASH"}])),
            {},
            "its KeySchema changes",
        ),
        (_with_lsi, {}, "its LocalSecondaryIndexes changes from none to"),
        (_key_type_changed, {}, "its key attribute types change from {'pk': 'S', 'sk': 'S'} to {'pk': 'B', 'sk': 'S'}"),
        (
            _table_renamed_in_template,
            {},
            "it would remove table 'cruddur-messages' from the stack (resource Table leaves the template)",
        ),
    ],
)
def test_table_threats_name_replacements_and_removals_and_let_updates_through(new, parameters, threat):
    threats = stack_guard.table_threats(_stack_template(), {"TableName": TABLE}, new(), parameters)
    if threat is None:
        assert threats == []
    else:
        assert len(threats) == 1 and threat in threats[0], threats


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["--bucket", "Not_A_Bucket"],
            "bucket name 'Not_A_Bucket' is not valid: 3-63 of a-z 0-9 . -, starting and ending with a "
            "letter or digit (set it with --bucket or ddb.deploy_bucket)",
        ),
        (
            ["--bucket", BUCKET, "--stack", "9lives"],
            "stack name '9lives' is not valid: a letter, then up to 127 of a-z A-Z 0-9 -",
        ),
        ([], "no S3 bucket for the Lambda's zip: pass --bucket B or set ddb.deploy_bucket"),
    ],
)
def test_a_bad_name_is_one_line_before_any_request(args, line, moto_server):
    with CountingProxy(moto_server) as proxy:
        run = _deploy_task(proxy.endpoint, "--yes", *args)
    assert (run.returncode, run.stderr) == (1, f"error: {line}\n")
    assert proxy.seen == Counter()


def test_deploy_stack_without_prod_says_it_deploys_to_aws():
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "deploy.stack", "--bucket", BUCKET],
        cwd=ROOT,
        env=fake_aws_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr) == (
        1,
        "error: deploy.stack deploys to AWS: pass --prod (to rehearse on a local stand-in, set AWS_ENDPOINT_URL to it)\n",
    )
