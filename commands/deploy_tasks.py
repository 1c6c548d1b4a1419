"""deploy.*: the stream Lambda's zip, the CloudFormation template, and a guarded deploy."""

import sys

from invoke import task

from ddb.core import errors

from .exits import reports_errors
from .flags import target_flags
from .output import print_json, status_line
from .targeting import ask_at_terminal, config, make_client, project_path, resolve_target

LAMBDA_POLICY = "iam/stream-lambda-policy.json"
ZIP_NAME = "stream-lambda.zip"
ON_DEMAND = "on-demand (PAY_PER_REQUEST) billing instead of ddb.billing"


def _zip_path(c, out=None):
    from pathlib import Path

    return Path(out).expanduser() if out else project_path(config(c).package_dir) / ZIP_NAME


def _template(c, table, on_demand):
    import json

    from ddb.deploy import template as cfn_template
    from ddb.schema import declaration as schema

    path = project_path(LAMBDA_POLICY)
    try:
        policy = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise errors.DdbError(f"cannot read the Lambda's policy {path}: {exc}") from None
    billing = schema.ON_DEMAND if on_demand else config(c).billing
    return cfn_template.stack_template(policy, table, billing)


@target_flags(name="package", out=f"write the zip here (default: <ddb.package_dir>/{ZIP_NAME})")
@reports_errors
def build_package(c, out=None, json_=False):
    """Build the stream Lambda's zip (the ddb package) reproducibly; print its path, size and sha256."""
    from ddb.deploy import package as lambda_package

    built = lambda_package.build(_zip_path(c, out))
    if json_:
        print_json(built.as_json())
        return
    sys.stdout.write(f"{built.path}\n{built.size} bytes\nsha256 {built.sha256}\n")
    status_line(
        f"{len(built.entries)} files: the handler and the ddb modules it imports; handler {lambda_package.HANDLER}; boto3 comes with the runtime"
    )


@task(name="template", help={"out": "write the template to this file instead of stdout", "on_demand": ON_DEMAND})
@reports_errors
def write_template(c, out=None, on_demand=False):
    """Write the CloudFormation template (table, Lambda, role, queue, stream mapping) from the declaration."""
    import json
    from pathlib import Path

    text = json.dumps(_template(c, config(c).table, on_demand), indent=2) + "\n"
    if not out:
        sys.stdout.write(text)
        return
    try:
        Path(out).expanduser().write_text(text)
    except OSError as exc:
        raise errors.DdbError(f"cannot write the template to {out}: {exc.strerror or exc}") from None
    status_line(f"wrote the template to {out}; deploy it with `invoke deploy.stack --prod`")


@target_flags(
    name="stack",
    on_demand=ON_DEMAND,
    bucket="S3 bucket for the zip, in the stack's region (default: ddb.deploy_bucket)",
    stack="CloudFormation stack name (default: ddb.stack)",
)
@reports_errors
def deploy_stack(c, prod=False, yes=False, bucket=None, stack=None, on_demand=False):
    """Upload the zip and create or update the stack through a change set; apply it once confirmed."""
    from ddb.core import guard
    from ddb.core.target import describe
    from ddb.deploy import package as lambda_package
    from ddb.deploy import stack as stack_deploy

    if not prod:
        raise errors.DdbError(
            "deploy.stack deploys to AWS: pass --prod (to rehearse on a local stand-in, set AWS_ENDPOINT_URL to it)"
        )
    target = resolve_target(c, prod=True)
    stack = stack or config(c).stack
    bucket = bucket or config(c).deploy_bucket
    if not bucket:
        raise errors.DdbError("no S3 bucket for the Lambda's zip: pass --bucket B or set ddb.deploy_bucket")
    stack_deploy.check_names(stack, bucket)
    template = _template(c, target.table, on_demand)
    cfn, s3 = make_client(target, "cloudformation"), make_client(target, "s3")
    status_line(f"target: {describe(target, cfn)}, stack {stack!r}")
    interactive = sys.stdin.isatty()
    if not yes and not interactive:  # refused now, before any request, rather than after the upload
        guard.confirm(target, cfn, f"deploy stack {stack!r}", yes=False, interactive=False, ask=ask_at_terminal)
    built = lambda_package.build(_zip_path(c))
    key = f"{config(c).deploy_prefix.strip('/')}/stream-lambda-{built.sha256[:16]}.zip"
    request = stack_deploy.DeployRequest(stack, template, target.table, bucket, key, built.path)

    def confirm(plan):
        action = f"apply change set {plan.name} ({len(plan.changes)} changes) to stack {stack!r}"
        guard.confirm(target, cfn, action, yes=yes, interactive=interactive, ask=ask_at_terminal)

    result = stack_deploy.deploy(cfn, s3, request, show=_show_change_set, confirm=confirm)
    if result.outcome == "up to date":
        status_line(f"stack {stack!r} is up to date: nothing to change (code {result.change_set.code_url})")
    else:
        status_line(f"stack {stack!r}: {result.status} (change set {result.change_set.name} applied)")


def _show_change_set(plan):
    code = "uploaded" if plan.uploaded else "already there"
    lines = [f"change set {plan.name} ({plan.kind}) for stack {plan.stack!r}; code {plan.code_url} ({code}):"]
    for change in plan.changes:
        replacement = f"  replacement: {change.replacement}" if change.replacement else ""
        lines.append(f"  {change.action:<7} {change.logical_id:<26} {change.resource_type}{replacement}")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
