"""deploy.template: CloudFormation generated from the declaration, held to schema-load's
table, the iam/ policy, the README's mapping settings and cfn-lint."""

import json
import re
import subprocess
import sys

import pytest
from cfnlint import api as cfnlint

from ddb.core.errors import DdbError
from ddb.deploy import package as lambda_package
from ddb.deploy import stack_guard
from ddb.deploy import template as cfn_template
from ddb.schema import declaration as schema

from .support import ROOT, TABLE, fake_aws_environment

POLICY = json.loads((ROOT / "iam" / "stream-lambda-policy.json").read_text())
# What only a stack says about the table; CreateTable has no such parameter (or schema-load leaves it off).
STACK_ONLY = {"PointInTimeRecoverySpecification", "DeletionProtectionEnabled"}


def _template(billing=schema.PROVISIONED, **kw):
    return cfn_template.stack_template(POLICY, TABLE, billing, **kw)


def _create_table_request(properties: dict, table: str) -> dict:
    """CloudFormation's table properties back to a CreateTable request, written here independently of ddb."""
    assert properties["TableName"] == {"Ref": "TableName"}
    request = {name: value for name, value in properties.items() if name not in STACK_ONLY | {"TableName", "StreamSpecification"}}
    request["TableName"] = table
    view = properties["StreamSpecification"]["StreamViewType"]
    request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return request


@pytest.mark.parametrize("billing", [schema.PROVISIONED, schema.ON_DEMAND])
def test_the_template_table_is_the_table_schema_load_creates(client, billing):
    table = _template(billing)["Resources"][cfn_template.TABLE]
    assert _create_table_request(table["Properties"], TABLE) == schema.table_spec(TABLE, billing)
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # A table made from the template's properties is, for schema-load, the declared table.
    client.create_table(**_create_table_request(table["Properties"], TABLE))
    assert schema.load(client, TABLE, billing).action == "up to date"


def test_a_declaration_the_template_cannot_express_is_one_line():
    spec = {**schema.table_spec(TABLE), "OnDemandThroughput": {"MaxReadRequestUnits": 10}}
    with pytest.raises(DdbError) as refused:
        _template(spec=spec)
    assert str(refused.value) == "the table declaration's OnDemandThroughput has no CloudFormation counterpart here"


@pytest.mark.parametrize("billing", [schema.PROVISIONED, schema.ON_DEMAND])
def test_cfn_lint_passes_on_the_generated_template(billing):
    config = cfnlint.ManualArgs(regions=["us-east-1", "eu-west-1"], include_checks=["I"])  # errors, warnings, and advice too
    matches = cfnlint.lint(json.dumps(_template(billing)), config=config)
    assert [str(m) for m in matches] == []


def test_cfn_lint_does_catch_a_broken_template():
    broken = _template()
    broken["Resources"][cfn_template.FUNCTION]["Properties"]["Runtime"] = "python2.9"
    broken["Resources"][cfn_template.MAPPING]["Properties"]["BatchSize"] = 0
    rules = {m.rule.id for m in cfnlint.lint(json.dumps(broken), config=cfnlint.ManualArgs(regions=["us-east-1"]))}
    assert {"E3030", "E3034"} <= rules  # a runtime that is not one, a batch size below the minimum


def _arn_in_file(reference) -> str:
    """The template's reference written back as the ARN the iam/ file names."""
    table_arn = f"arn:aws:dynamodb:*:*:table/{TABLE}"
    if reference == {"Fn::GetAtt": [cfn_template.TABLE, "Arn"]}:
        return table_arn
    if reference == {"Fn::GetAtt": [cfn_template.QUEUE, "Arn"]}:
        return f"arn:aws:sqs:*:*:{TABLE}-stream-failures"
    sub = reference["Fn::Sub"]
    assert sub.startswith("${Table.Arn}/"), sub
    return table_arn + sub.removeprefix("${Table.Arn}")


def test_the_role_carries_exactly_the_iam_policy_with_its_arns_as_references_to_the_stack():
    role = _template()["Resources"][cfn_template.ROLE]["Properties"]
    (inline,) = role["Policies"]
    document = inline["PolicyDocument"]

    def back(resource):
        return [_arn_in_file(r) for r in resource] if isinstance(resource, list) else _arn_in_file(resource)

    written_back = {**document, "Statement": [{**s, "Resource": back(s["Resource"])} for s in document["Statement"]]}
    assert written_back == POLICY
    # The stream is the table's own: after a stream is re-enabled its new label matches too.
    stream_statement = next(s for s in document["Statement"] if s["Sid"] == "EventSourceMapping")
    assert stream_statement["Resource"] == {"Fn::Sub": "${Table.Arn}/stream/*"}
    # Besides it, only the function's logs (AWS's managed basic execution role).
    logs = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": logs}]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize(
    "resource", ["arn:aws:dynamodb:*:*:table/other-table", "arn:aws:s3:::a-bucket/*", "arn:aws:sqs:*:*:some-other-queue"]
)
def test_a_policy_that_names_something_the_stack_does_not_own_is_one_line(resource):
    policy = json.loads(json.dumps(POLICY))
    policy["Statement"][0]["Resource"].append(resource)
    with pytest.raises(DdbError) as refused:
        cfn_template.stack_template(policy, TABLE)
    message = str(refused.value)
    assert "\n" not in message
    assert (
        message.startswith(f"the Lambda's policy names {resource!r}, which is not table 'cruddur-messages'")
        or message == "the Lambda's policy must name exactly one table, not ['cruddur-messages', 'other-table']"
    )


def _readme_mapping_settings() -> dict:
    """docs/deploy.md's table of event source mapping settings: name -> value as written there."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("The event source mapping that goes with it", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `([A-Za-z.]+)` \| (.+?) \| .+ \|$", section, flags=re.M)
    assert len(rows) >= 8, section[:300]
    return dict(rows)


def test_the_event_source_mapping_has_exactly_the_settings_the_readme_explains():
    mapping = _template()["Resources"][cfn_template.MAPPING]["Properties"]
    documented = _readme_mapping_settings()
    destination = documented.pop("DestinationConfig.OnFailure")
    settings = {
        name: json.loads(value.strip("`")) if value.strip("`")[:1] in "[t0123456789" else value.strip("`")
        for name, value in documented.items()
    }
    assert {k: v for k, v in mapping.items() if k not in ("EventSourceArn", "FunctionName", "DestinationConfig")} == settings
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert mapping["FunctionName"] == {"Ref": cfn_template.FUNCTION}
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [cfn_template.QUEUE, "Arn"]}}}
    assert f":{TABLE}-stream-failures`" in destination
    queue = _template()["Resources"][cfn_template.QUEUE]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "${TableName}-stream-failures"}


def test_the_function_runs_the_packaged_handler_on_the_stacks_table_from_the_code_parameters():
    template = _template()
    function = template["Resources"][cfn_template.FUNCTION]["Properties"]
    module, name = function["Handler"].rsplit(".", 1)
    assert (module, name) == ("ddb.stream", "lambda_handler") and function["Handler"] == lambda_package.HANDLER
    assert function["Runtime"] in ("python3.11", "python3.12")
    assert function["Environment"] == {"Variables": {"TABLE_NAME": {"Ref": "Table"}}}
    assert function["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}
    assert sorted(template["Parameters"]) == ["CodeS3Bucket", "CodeS3Key", "TableName"]
    assert template["Parameters"]["TableName"]["Default"] == TABLE


def test_the_replacing_properties_cover_the_ones_cloudformation_cannot_update():
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    registry = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::DynamoDB::Table").schema
    create_only = {path.removeprefix("/properties/") for path in registry["createOnlyProperties"]}
    assert create_only <= set(stack_guard.REPLACING_PROPERTIES)
    # CloudFormation's documentation adds these two: a new key schema or LSI is a new table.
    assert {"KeySchema", "LocalSecondaryIndexes"} <= set(stack_guard.REPLACING_PROPERTIES)


def test_deploy_template_writes_the_generated_template_to_a_file_or_stdout(tmp_path):
    out = tmp_path / "stack.json"
    env = fake_aws_environment()
    written = subprocess.run(
        [sys.executable, "-m", "invoke", "deploy.template", "--out", str(out), "--on-demand"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (written.returncode, written.stdout) == (0, ""), written.stderr
    assert written.stderr == f"wrote the template to {out}; deploy it with `invoke deploy.stack --prod`\n"
    assert json.loads(out.read_text()) == _template(schema.ON_DEMAND)
    printed = subprocess.run(
        [sys.executable, "-m", "invoke", "deploy.template"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0 and json.loads(printed.stdout) == _template(schema.PROVISIONED)
