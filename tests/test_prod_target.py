"""The prod guard names the target its requests really go to, and never a password."""

import boto3
import pytest

from ddb.core import guard
from ddb.core.errors import Refused
from ddb.core.target import prod_target
from ddb.core.text import masked
from ddb.schema import declaration as schema

from .support import TABLE

START_HINT = "start one with `invoke local.start` (embedded engine) or `docker compose up -d` (DynamoDB Local)"
# A request that escaped to AWS would meet this closed loopback port instead (none is sent: the guard refuses first).
NO_WAY_OUT = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": None, "no_proxy": None}
DROP = "DELETE the table and all its items"


def _tables(engine, region):
    regional = boto3.client(
        "dynamodb", region_name=region, endpoint_url=engine, aws_access_key_id="local", aws_secret_access_key="local"
    )
    return regional.list_tables()["TableNames"]


def _create(engine, region):
    regional = boto3.client(
        "dynamodb", region_name=region, endpoint_url=engine, aws_access_key_id="local", aws_secret_access_key="local"
    )
    schema.load(regional, TABLE)


# moto keeps tables per region (DynamoDB Local with -sharedDb does not), so it shows where a request went.
def test_prod_drop_names_and_deletes_the_table_in_aws_region_over_aws_default_region(invoke, engine):
    _create(engine, "us-west-2")
    _create(engine, "eu-west-1")
    run = invoke(
        "drop",
        "--prod",
        "--yes",
        env={
            "AWS_REGION": "us-west-2",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL_DYNAMODB": engine,
            "AWS_ENDPOINT_URL_STS": engine,  # moto answers GetCallerIdentity with its account
        },
    )
    assert run.code == 0, run
    assert run.err.splitlines() == [
        f"target: prod table 'cruddur-messages' in us-west-2 (account 123456789012) at {engine}",
        "table 'cruddur-messages': deleted",
    ]
    assert (_tables(engine, "us-west-2"), _tables(engine, "eu-west-1")) == ([], [TABLE])


def test_prod_with_aws_region_alone_acts_in_that_region(invoke, engine):
    run = invoke(
        "schema-load",
        "--prod",
        "--yes",
        env={"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": None, "AWS_ENDPOINT_URL_DYNAMODB": engine},
    )
    assert run.code == 0, run
    assert run.err.splitlines()[0] == (
        "target: prod table 'cruddur-messages' in eu-west-1 (account unknown: Could not connect to the endpoint URL: "
        '"http://127.0.0.1:9/") at ' + engine
    )
    assert (_tables(engine, "eu-west-1"), _tables(engine, "us-east-1")) == ([TABLE], [])


def test_prod_target_line_never_names_an_endpoint_that_boto3_ignores(invoke_alone):
    run = invoke_alone(
        "drop",
        "--prod",
        env={"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", **NO_WAY_OUT},
    )
    aws = "prod table 'cruddur-messages' in us-east-1 at https://dynamodb.us-east-1.amazonaws.com"
    assert run.code == 1
    assert run.err.splitlines() == [
        f"target: {aws}",
        f"error: refusing to {DROP} on {aws}: no terminal to confirm on; pass --yes to confirm",
    ]


def test_prod_target_line_masks_the_password_of_the_endpoint(invoke_alone):
    endpoint = f"http://user:secret@127.0.0.1:{invoke_alone.port}"
    run = invoke_alone("drop", "--prod", env={"AWS_ENDPOINT_URL_DYNAMODB": endpoint})
    shown = f"prod table 'cruddur-messages' in us-east-1 at http://user:***@127.0.0.1:{invoke_alone.port}"
    assert run.code == 1
    assert run.err.splitlines() == [
        f"target: {shown}",
        f"error: refusing to {DROP} on {shown}: no terminal to confirm on; pass --yes to confirm",
    ]


@pytest.mark.parametrize("where", ["local", "prod"])
def test_unreachable_engine_line_masks_the_password_of_the_endpoint(invoke_alone, where):
    endpoint = f"http://user:secret@127.0.0.1:{invoke_alone.port}"
    args = ["--endpoint-url", endpoint] if where == "local" else ["--prod"]
    run = invoke_alone("list-tables", *args, env={"AWS_ENDPOINT_URL_DYNAMODB": endpoint})
    assert (run.code, run.err.strip()) == (
        1,
        f"error: no DynamoDB engine answers at http://user:***@127.0.0.1:{invoke_alone.port}: {START_HINT}",
    )
    assert "secret" not in run.out + run.err


@pytest.mark.parametrize(
    "text, shown",
    [
        ("http://user:secret@host:8000", "http://user:***@host:8000"),
        ("https://user:se:c@r@et@host/path?q=1", "https://user:***@host/path?q=1"),
        (
            "cannot reach http://a:b@127.0.0.1:9/ and http://c:d@[::1]:9",
            "cannot reach http://a:***@127.0.0.1:9/ and http://c:***@[::1]:9",
        ),
        ("http://token@host:8000", "http://token@host:8000"),
        ("http://localhost:8000/a@b", "http://localhost:8000/a@b"),
    ],
)
def test_masked_hides_every_url_password_and_keeps_the_rest(text, shown):
    assert masked(text) == shown


def test_end_of_input_at_the_prod_prompt_is_a_refusal(client):
    def ctrl_d(prompt):
        raise EOFError

    with pytest.raises(Refused) as refused:
        guard.confirm(prod_target(TABLE), client, "drop it", yes=False, interactive=True, ask=ctrl_d)
    assert str(refused.value) == "not confirmed (no answer): did not drop it; nothing was changed"


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"AWS_PROFILE": "missing"},
            "error: the AWS configuration for --prod is unusable: The config profile (missing) could not be found",
        ),
        (
            {"AWS_REGION": "../../evil\x1b[2J"},
            "error: the AWS configuration for --prod is unusable: "
            "Provided region_name '../../evil\\x1b[2J' doesn't match a supported format.",
        ),
    ],
)
def test_a_missing_profile_or_a_region_that_is_no_region_name_is_one_line(invoke_alone, env, line):
    run = invoke_alone("list-tables", "--prod", env=env)
    assert (run.code, run.err.strip()) == (1, line)
