"""Where the tools point: a local engine or production AWS, and the client for it.

A `Target` is plain data built from invoke config and flags; `client()` turns it into a
boto3 DynamoDB client with short timeouts, so a dead engine is an error in seconds,
never a hang, and with one retry policy for every request (`ddb.core.retry`). boto3 is
imported lazily to keep `invoke --list` fast.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from ddb.core import retry
from ddb.core.clients import AwsClient
from ddb.core.errors import CredentialsError, InvalidInput
from ddb.core.text import escaped, masked

# Local engines accept any credentials; these are sent so real keys never reach them.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

VALID_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


@dataclass(frozen=True)
class Target:
    """One DynamoDB endpoint and table.

    `endpoint_url` is None on prod: the AWS chain (AWS_ENDPOINT_URL_DYNAMODB, profile,
    region variables) decides. `region` None on prod means "whatever the chain says"
    (see `prod_region`). Where a target is shown, `describe(target, client)` reads the
    region and endpoint back from the client.
    """

    table: str
    region: str | None
    endpoint_url: str | None
    prod: bool = False
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    retries: retry.RetryPolicy = field(default_factory=retry.RetryPolicy)

    def __post_init__(self):
        if not VALID_TABLE_NAME.fullmatch(self.table or ""):
            raise InvalidInput(f"table name {self.table!r} is not valid: DynamoDB takes 3-255 characters of a-z A-Z 0-9 _ . -")

    @property
    def label(self) -> str:
        return "prod" if self.prod else "local"


def where(target: Target, client: AwsClient) -> str:
    """The endpoint side: `local at http://…` or `prod in eu-west-1 at https://…`."""
    return f"{target.label} {_place(target, client)}"


def describe(target: Target, client: AwsClient, account: str | None = None) -> str:
    """Table, region, account (when given: `account_of`) and endpoint in one line, for confirmations and summaries."""
    place = _place(target, client)
    if account and target.prod:
        region, _, endpoint = place.partition(" at ")
        place = f"{region} (account {account}) at {endpoint}"
    return f"{target.label} table {target.table!r} {place}"


def account_of(target: Target) -> str:
    """The AWS account the prod credentials act in (STS GetCallerIdentity), or `unknown (why)`: for the prod prompt.

    The STS endpoint follows the SDK's own settings (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`).
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=target.connect_timeout, read_timeout=target.read_timeout, retries={"total_max_attempts": 1})
    try:
        sts = boto3.session.Session(region_name=prod_region(target)).client("sts", config=config)
        return str(sts.get_caller_identity()["Account"])
    except (BotoCoreError, ClientError, KeyError) as exc:
        return f"unknown: {escaped(str(exc).splitlines()[0][:80]) if str(exc) else type(exc).__name__}"


def _place(target: Target, client: AwsClient):
    # Read back from the client that sends the requests (its resolved region and
    # endpoint), never recomputed from the environment, which botocore reads its own way.
    endpoint = masked(client.meta.endpoint_url or "")
    return f"in {client.meta.region_name} at {endpoint}" if target.prod else f"at {endpoint}"


# The password of a URL (`scheme://user:password@host`): up to the last `@` of the
# authority, as urllib and botocore split it.


def local_target(table: str, region: str | None, endpoint_url: str | None, **kw: Any) -> Target:
    """A target for a local engine (DynamoDB Local, moto, any compatible endpoint)."""
    return Target(table=table, region=region, endpoint_url=endpoint_url, prod=False, **kw)


def prod_target(table: str, region: str | None = None, **kw: Any) -> Target:
    """A target for AWS, resolved by the standard AWS configuration chain."""
    return Target(table=table, region=region, endpoint_url=None, prod=True, **kw)


def prod_region(target: Target) -> str | None:
    """The region to hand the prod session: the target's, else `AWS_REGION`, else None.

    None leaves it to botocore's chain (`AWS_DEFAULT_REGION`, then the profile's region).
    botocore itself ignores `AWS_REGION`, which the other AWS SDKs and the AWS CLI v2 read
    first; passing it on makes `AWS_REGION=eu-west-1 invoke … --prod` act in eu-west-1.
    """
    import os

    return target.region or os.environ.get("AWS_REGION") or None


def client(target: Target, service: str = "dynamodb") -> AwsClient:
    """A boto3 client for `service` ("dynamodb" or "dynamodbstreams") at the target."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=target.connect_timeout,
        read_timeout=target.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},  # ddb.core.retry decides every retry
        # The library builds every request from input it has validated, and the service
        # validates each one again: botocore's own pass over every parameter cost a bulk
        # write 5% of its rate on moto and 10% on DynamoDB Local (README, Performance).
        parameter_validation=False,
    )
    if target.prod:
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.session.Session(region_name=prod_region(target))
            if session.region_name is None:
                raise CredentialsError(
                    "no AWS region configured for --prod: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)"
                )
            return retry.install(session.client(service, config=config), target.retries)
        except BotoCoreError as exc:  # a profile that does not exist, a region that is no region name, …
            first = escaped(str(exc).splitlines()[0][:200]) if str(exc) else type(exc).__name__
            raise CredentialsError(f"the AWS configuration for --prod is unusable: {first}") from None
    session = boto3.session.Session(region_name=target.region, **LOCAL_CREDENTIALS)
    return retry.install(session.client(service, endpoint_url=target.endpoint_url, config=config), target.retries)
