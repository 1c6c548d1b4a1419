"""A CloudFormation template for the table and its stream Lambda, generated from the declaration.

The table's properties are `schema.table_spec` (the CreateTable request that schema-load
sends) with CreateTable's names turned into CloudFormation's, plus what only a stack can
say: point-in-time recovery and deletion protection on, and a table that stays when the
stack (or a replacement) would delete it. The function's role carries the policy of
`iam/stream-lambda-policy.json` as it is, with each ARN in it turned into a reference to
the stack's own table, index, stream or queue (`role_policy`). The event source mapping's
settings are `EVENT_SOURCE_SETTINGS`, the values the README's Lambda section explains.
JSON, so no YAML library is needed; the task writes it, cfn-lint checks it in the tests.
"""

import re

from ddb.core.errors import DdbError
from ddb.deploy.package import HANDLER
from ddb.schema import declaration as schema

TABLE = "Table"
FUNCTION = "StreamFunction"
ROLE = "StreamFunctionRole"
QUEUE = "StreamFailureQueue"
MAPPING = "StreamEventSourceMapping"
RUNTIME = "python3.12"
FUNCTION_TIMEOUT = 30  # seconds: a batch of 100 with room for retries (README, BatchSize)
FUNCTION_MEMORY = 256  # MB
QUEUE_SUFFIX = "-stream-failures"
QUEUE_RETENTION = 14 * 24 * 3600  # seconds: SQS's longest, time to read a failure back
# Table names the stack takes: DynamoDB's characters without the dot, and short enough
# that `<table>-stream-failures` is a valid SQS queue name (80 of a-z A-Z 0-9 - _).
STACK_TABLE_NAME = re.compile(r"[a-zA-Z0-9_-]{3,64}")
LOGS_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

# The event source mapping; the README's Lambda section says why each value.
EVENT_SOURCE_SETTINGS = {
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 5,
    "MaximumRecordAgeInSeconds": 3600,
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 1,
    "StartingPosition": "TRIM_HORIZON",
}

# CreateTable parameters that CloudFormation's AWS::DynamoDB::Table takes under the same name and shape.
_SAME_NAME = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "SSESpecification",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)


def table_properties(spec: dict) -> dict:
    """CloudFormation's properties for the CreateTable request `spec` (TableName becomes the parameter)."""
    properties: dict = {"TableName": {"Ref": "TableName"}}
    for name, value in spec.items():
        if name == "TableName":
            continue
        if name == "StreamSpecification":
            if value.get("StreamEnabled"):  # CloudFormation: a view type means a stream
                properties[name] = {"StreamViewType": value["StreamViewType"]}
        elif name in _SAME_NAME:
            properties[name] = value
        else:
            raise DdbError(f"the table declaration's {name} has no CloudFormation counterpart here")
    return properties


def _arn_reference(arn: str, table: str):
    """The template reference for one Resource of the iam/ policy."""
    if arn == "*":
        return arn
    found = re.fullmatch(r"arn:aws:dynamodb:\*:\*:table/([^/]+)(/.*)?", arn)
    if found and found.group(1) == table:
        rest = found.group(2) or ""
        return {"Fn::GetAtt": [TABLE, "Arn"]} if not rest else {"Fn::Sub": f"${{{TABLE}.Arn}}{rest}"}
    if arn == f"arn:aws:sqs:*:*:{table}{QUEUE_SUFFIX}":
        return {"Fn::GetAtt": [QUEUE, "Arn"]}
    raise DdbError(
        f"the Lambda's policy names {arn!r}, which is not table {table!r}, its index or stream, "
        f"nor its queue {table}{QUEUE_SUFFIX}: the template cannot refer to it"
    )


def role_policy(policy: dict, table: str) -> dict:
    """`policy` (written for table `table`) with every Resource ARN a reference to this stack's resources.

    `arn:aws:dynamodb:*:*:table/<table>` is the table's Arn; a path after it (`/index/…`,
    `/stream/*`) stays, after the table's Arn; `arn:aws:sqs:*:*:<table>-stream-failures`
    is the failure queue's Arn. Anything else is an error: the stack owns nothing else.
    """
    statements = []
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource")
        mapped = dict(statement)
        if isinstance(resources, list):
            mapped["Resource"] = [_arn_reference(r, table) for r in resources]
        elif resources is not None:
            mapped["Resource"] = _arn_reference(resources, table)
        statements.append(mapped)
    return {**policy, "Statement": statements}


def stack_template(policy: dict, table: str, billing: str = schema.PROVISIONED, spec: dict | None = None) -> dict:
    """The whole template: table, failure queue, role, function and event source mapping.

    `policy` is the Lambda's IAM policy (iam/stream-lambda-policy.json); `table` is the
    TableName parameter's default; `spec` (tests only) replaces the declaration.
    """
    if not STACK_TABLE_NAME.fullmatch(table or ""):
        raise DdbError(
            f"table name {table!r} cannot be deployed by the stack: it takes 3-64 characters of a-z A-Z 0-9 _ - "
            f"(the failure queue is named after it)"
        )
    declared = schema.table_spec(table, billing) if spec is None else spec
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Cruddur's messages table and the Lambda that keeps its group items current from its stream "
        "(generated by `invoke deploy.template`)",
        "Parameters": {
            "TableName": {
                "Type": "String",
                "Default": table,
                "AllowedPattern": STACK_TABLE_NAME.pattern,
                "ConstraintDescription": "3-64 characters of a-z A-Z 0-9 _ -",
                "Description": "the DynamoDB table (its failure queue is <TableName>-stream-failures)",
            },
            "CodeS3Bucket": {"Type": "String", "Description": "the S3 bucket that holds the Lambda's zip"},
            "CodeS3Key": {"Type": "String", "Description": "the zip's key (deploy.stack names it after its sha256)"},
        },
        "Resources": {
            TABLE: {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    **table_properties(declared),
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                },
            },
            QUEUE: {
                "Type": "AWS::SQS::Queue",
                # The failure records go with the stack; the table stays (above).
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "QueueName": {"Fn::Sub": f"${{TableName}}{QUEUE_SUFFIX}"},
                    "MessageRetentionPeriod": QUEUE_RETENTION,
                    "SqsManagedSseEnabled": True,
                },
            },
            ROLE: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                        ],
                    },
                    # Its own log group only (CloudWatch Logs); everything else is the iam/ policy.
                    "ManagedPolicyArns": [{"Fn::Sub": LOGS_POLICY}],
                    "Policies": [{"PolicyName": "stream-lambda", "PolicyDocument": role_policy(policy, policy_table(policy))}],
                },
            },
            FUNCTION: {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Description": "Pattern E: moves both group items of a conversation to its newest message",
                    "Runtime": RUNTIME,
                    "Handler": HANDLER,
                    "Code": {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}},
                    "Role": {"Fn::GetAtt": [ROLE, "Arn"]},
                    "Timeout": FUNCTION_TIMEOUT,
                    "MemorySize": FUNCTION_MEMORY,
                    "Environment": {"Variables": {"TABLE_NAME": {"Ref": TABLE}}},
                },
            },
            MAPPING: {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": [TABLE, "StreamArn"]},
                    "FunctionName": {"Ref": FUNCTION},
                    **EVENT_SOURCE_SETTINGS,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [QUEUE, "Arn"]}}},
                },
            },
        },
        "Outputs": {
            "TableName": {"Value": {"Ref": TABLE}},
            "StreamArn": {"Value": {"Fn::GetAtt": [TABLE, "StreamArn"]}},
            "FunctionName": {"Value": {"Ref": FUNCTION}},
            "FailureQueueUrl": {"Value": {"Ref": QUEUE}},
        },
    }


def policy_table(policy: dict) -> str:
    """The table a policy file is written for: the one its DynamoDB ARNs name (exactly one)."""
    names = set()
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        for arn in resources if isinstance(resources, list) else [resources]:
            found = re.fullmatch(r"arn:aws:dynamodb:\*:\*:table/([^/]+)(/.*)?", str(arn))
            if found:
                names.add(found.group(1))
    if len(names) != 1:
        raise DdbError(f"the Lambda's policy must name exactly one table, not {sorted(names)}")
    return names.pop()
