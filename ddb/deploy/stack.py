"""Deploying the stack through a change set, guarded.

`deploy` runs the whole thing with a CloudFormation and an S3 client:

1. check the names, then read the deployed stack (status, parameters, template): a
   template change that would replace or remove the table is refused here, before any
   request that writes (`stack_guard.table_threats`);
2. upload the zip to S3 under a key named after its sha256, unless it is already there
   (a new key is what makes CloudFormation update the function's code);
3. create a change set (CREATE for a new stack, UPDATE for a deployed one), wait for it,
   and read its changes; a table replacement or removal that CloudFormation announces
   there is refused too, and the change set deleted (`stack_guard.change_set_threats`);
4. hand the change set to `show`, then to `confirm` (which raises `Refused` to stop: the
   change set is then deleted, nothing applied); execute it and wait for the stack.
"""

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ddb.core.awserrors import stepwise
from ddb.core.clients import CloudFormationClient, S3Client
from ddb.core.errors import Busy, DdbError, Refused
from ddb.deploy.stack_guard import change_set_threats, table_threats

STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy: the stack, its template and TableName, and the zip for its code."""

    stack: str
    template: dict
    table: str
    bucket: str
    key: str
    package: Path


@dataclass
class Change:
    action: str  # Add, Modify, Remove
    logical_id: str
    resource_type: str
    replacement: str | None  # True, False, Conditional; None when CloudFormation does not say


@dataclass
class ChangeSet:
    """A described change set, and where the code it deploys is."""

    stack: str
    name: str
    kind: str  # CREATE or UPDATE
    code_url: str
    uploaded: bool
    changes: list[Change] = field(default_factory=list)


@dataclass
class DeployResult:
    stack: str
    outcome: str  # "applied" or "up to date"
    status: str
    change_set: ChangeSet


def check_names(stack: str, bucket: str) -> None:
    """Refuse names CloudFormation or S3 would refuse, before any request."""
    if not STACK_NAME.fullmatch(stack or ""):
        raise DdbError(f"stack name {stack!r} is not valid: a letter, then up to 127 of a-z A-Z 0-9 -")
    if not BUCKET_NAME.fullmatch(bucket or ""):
        raise DdbError(
            f"bucket name {bucket!r} is not valid: 3-63 of a-z 0-9 . -, "
            "starting and ending with a letter or digit (set it with --bucket or ddb.deploy_bucket)"
        )


def deployed_stack(cfn: CloudFormationClient, stack: str) -> tuple[str, dict, dict] | None:
    """(status, parameters, template) of the deployed stack; None when there is none to update."""
    from botocore.exceptions import ClientError

    with stepwise(cfn, f"describe stack {stack!r}"):
        try:
            (found,) = cfn.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in exc.response.get("Error", {}).get("Message", ""):
                return None
            raise
    status = found["StackStatus"]
    if status == "REVIEW_IN_PROGRESS":  # created by a change set never executed: it holds nothing yet
        return None
    if status.endswith("_IN_PROGRESS"):
        raise Busy(f"stack {stack!r} is busy ({status}): wait until it is done, then deploy again")
    if status not in UPDATABLE:
        raise DdbError(
            f"stack {stack!r} is {status}: CloudFormation cannot update it; read its events "
            f"(`aws cloudformation describe-stack-events --stack-name {stack}`), then delete or repair it"
        )
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in found.get("Parameters") or []}
    with stepwise(cfn, f"read the template of stack {stack!r}"):
        body = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    return status, parameters, _template_dict(body, stack)


def _template_dict(body: str | dict, stack: str) -> dict:
    import json

    if isinstance(body, dict):  # botocore decodes JSON template bodies itself
        return body
    try:
        template = json.loads(body)
    except (TypeError, ValueError):
        template = None
    if not isinstance(template, dict):
        raise DdbError(
            f"the deployed template of stack {stack!r} is not JSON, so what it does to the table "
            "cannot be checked: deploy it from here only"
        )
    return template


def upload(s3: S3Client, region: str | None, bucket: str, key: str, package: Path) -> bool:
    """Put the zip at s3://bucket/key unless it is there already; True when it was uploaded."""
    from botocore.exceptions import ClientError

    with stepwise(s3, f"read bucket {bucket!r}"):
        try:
            answer = s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise DdbError(f"bucket {bucket!r} does not exist: create it first (`aws s3 mb s3://{bucket}`)") from None
            raise
        where = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
        if region and where and where != region:
            raise DdbError(f"bucket {bucket!r} is in {where}, the stack in {region}: Lambda takes its code from its own region")
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return False  # the key is the content's hash: the same object
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
    try:
        data = package.read_bytes()
    except OSError as exc:
        raise DdbError(f"cannot read the package {package}: {exc.strerror or exc}") from None
    with stepwise(s3, f"upload the package to s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/zip")
    return True


def _wait(poll: Callable[[], str | None], what: str, poll_seconds: float, timeout_seconds: float) -> str:
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = poll()
        if status is not None:
            return status
        if time.monotonic() > deadline:
            raise DdbError(f"gave up waiting for {what} after {timeout_seconds:.0f} s; see it in the CloudFormation console")
        time.sleep(poll_seconds)


def describe_change_set(
    cfn: CloudFormationClient, stack: str, arn: str, poll_seconds: float, timeout_seconds: float
) -> tuple[str, str, list]:
    """(status, reason, changes) once the change set is created or has failed."""
    found: dict = {}

    def poll():
        with stepwise(cfn, "describe the change set"):
            found.update(cfn.describe_change_set(ChangeSetName=arn, StackName=stack))
        return found["Status"] if found["Status"] in ("CREATE_COMPLETE", "FAILED") else None

    status = _wait(poll, "the change set", poll_seconds, timeout_seconds)
    changes = list(found.get("Changes") or [])
    token = found.get("NextToken")
    while token:
        with stepwise(cfn, "describe the change set"):
            page = cfn.describe_change_set(ChangeSetName=arn, StackName=stack, NextToken=token)
        changes += page.get("Changes") or []
        token = page.get("NextToken")
    return status, found.get("StatusReason") or "", changes


def _changes(described: list) -> list[Change]:
    listed = []
    for change in described:
        resource = change.get("ResourceChange") or {}
        listed.append(
            Change(
                resource.get("Action", "?"),
                resource.get("LogicalResourceId", "?"),
                resource.get("ResourceType", "?"),
                resource.get("Replacement"),
            )
        )
    return listed


def deploy(
    cfn: CloudFormationClient,
    s3: S3Client,
    request: DeployRequest,
    *,
    show: Callable[[ChangeSet], None],
    confirm: Callable[[ChangeSet], None],
    poll_seconds: float = 3.0,
    timeout_seconds: float = 1800.0,
) -> DeployResult:
    """Create or update the stack through a change set; see the module's docstring for the steps."""
    import json

    check_names(request.stack, request.bucket)
    deployed = deployed_stack(cfn, request.stack)
    parameters = {"TableName": request.table, "CodeS3Bucket": request.bucket, "CodeS3Key": request.key}
    if deployed is not None:
        threats = table_threats(deployed[2], deployed[1], request.template, parameters)
        if threats:
            raise Refused(f"refusing to deploy stack {request.stack!r}: {threats[0]}; nothing was changed")
    kind = "CREATE" if deployed is None else "UPDATE"
    uploaded = upload(s3, cfn.meta.region_name, request.bucket, request.key, request.package)
    name = f"deploy-{uuid.uuid4().hex[:12]}"
    plan = ChangeSet(request.stack, name, kind, f"s3://{request.bucket}/{request.key}", uploaded)
    from botocore.exceptions import ClientError

    with stepwise(cfn, f"create a change set for stack {request.stack!r}"):
        try:
            arn = cfn.create_change_set(
                StackName=request.stack,
                ChangeSetName=name,
                ChangeSetType=kind,
                ClientToken=name,
                TemplateBody=json.dumps(request.template, sort_keys=True),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                Capabilities=["CAPABILITY_IAM"],
                Description="invoke deploy.stack",
            )["Id"]
        except ClientError as exc:
            if any(text in exc.response.get("Error", {}).get("Message", "") for text in NO_CHANGES):
                return DeployResult(request.stack, "up to date", deployed[0] if deployed else "", plan)
            raise
    try:
        status, reason, described = describe_change_set(cfn, request.stack, arn, poll_seconds, timeout_seconds)
        if status == "FAILED":
            if any(text in reason for text in NO_CHANGES):
                _delete_change_set(cfn, request.stack, arn)
                return DeployResult(request.stack, "up to date", deployed[0] if deployed else "", plan)
            raise DdbError(f"CloudFormation could not make change set {name} for stack {request.stack!r}: {reason}")
        plan.changes = _changes(described)
        threats = change_set_threats(described)
        if threats:
            raise Refused(
                f"refusing to deploy stack {request.stack!r}: {threats[0]}; the change set is deleted, nothing was changed"
            )
        show(plan)
        confirm(plan)
    except BaseException:
        _delete_change_set(cfn, request.stack, arn)
        raise
    with stepwise(cfn, f"execute change set {name}"):
        cfn.execute_change_set(ChangeSetName=arn, StackName=request.stack, ClientRequestToken=name)
    return DeployResult(request.stack, "applied", _wait_for_stack(cfn, request.stack, poll_seconds, timeout_seconds), plan)


def _delete_change_set(cfn: CloudFormationClient, stack: str, arn: str) -> None:
    try:
        with stepwise(cfn, "delete the change set"):
            cfn.delete_change_set(ChangeSetName=arn, StackName=stack)
    except DdbError:
        pass  # an unexecuted change set changes nothing; the refusal is what the user needs to see


def _wait_for_stack(cfn: CloudFormationClient, stack: str, poll_seconds: float, timeout_seconds: float) -> str:
    found: dict = {}

    def poll():
        with stepwise(cfn, f"describe stack {stack!r}"):
            (current,) = cfn.describe_stacks(StackName=stack)["Stacks"]
        found.update(current)
        return None if current["StackStatus"].endswith("_IN_PROGRESS") else current["StackStatus"]

    status = _wait(poll, f"stack {stack!r}", poll_seconds, timeout_seconds)
    if status not in DONE:
        reason = found.get("StackStatusReason") or "see its events"
        raise DdbError(f"stack {stack!r} ended {status}: {reason}")
    return status
