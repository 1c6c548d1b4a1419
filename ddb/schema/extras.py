"""The settings of a table beyond CreateTable's request, for schema plans: declared, read, and planned.

Deletion protection, TTL, point-in-time recovery and tags are compared only when `Extras`
declares them; an engine that lacks an operation (DynamoDB Local has no point-in-time
recovery or tags) is noted, not planned for.
"""

from dataclasses import dataclass, replace

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.schema.step import Step

# What an engine says when it does not implement an operation (DynamoDB Local, older moto).
_UNSUPPORTED = {
    "UnknownOperationException",
    "UnrecognizedClientException",
    "NotImplementedException",
    "UnsupportedOperationException",
    "InvalidAction",
}


@dataclass(frozen=True)
class Extras:
    """Settings of the table that CreateTable's request does not carry; None: not declared, not compared.

    The project declares none of them (`DECLARED_EXTRAS`): a table whose point-in-time
    recovery or deletion protection was switched on by hand (or by `deploy.stack`'s
    template) keeps them. `ttl_attribute` "" declares TTL off.
    """

    deletion_protection: bool | None = None
    ttl_attribute: str | None = None
    point_in_time_recovery: bool | None = None
    tags: dict[str, str] | None = None


DECLARED_EXTRAS = Extras()


def declared(point_in_time_recovery: bool | None = None) -> Extras:
    """The declared extras with point-in-time recovery declared on (True), off (False) or not compared (None).

    AWS's own export (`ddb.backup.native_export`) needs it on; the tasks read it from
    `ddb.point_in_time_recovery` (or `--pitr`), so schema-plan shows the step and schema-apply
    takes it (UpdateContinuousBackups), as `deploy.stack`'s template does for a stack's table.
    """
    return replace(DECLARED_EXTRAS, point_in_time_recovery=point_in_time_recovery)


def extra_steps(table: str, live: dict, read: dict, extras: Extras) -> list[Step]:
    """The steps for the settings `extras` declares, from the live description and what `read_extras` read."""
    steps = []
    if extras.deletion_protection is not None and bool(live.get("DeletionProtectionEnabled")) != extras.deletion_protection:
        want = extras.deletion_protection
        steps.append(
            Step(
                "deletion-protection",
                "turn deletion protection on" if want else "turn deletion protection off: on → off",
                not want,
                "update_table",
                {"TableName": table, "DeletionProtectionEnabled": want},
            )
        )
    if extras.ttl_attribute is not None and "ttl" in read:
        steps += _ttl_steps(table, read["ttl"], extras.ttl_attribute)
    if extras.point_in_time_recovery is not None and "pitr" in read and read["pitr"] != extras.point_in_time_recovery:
        want = extras.point_in_time_recovery
        steps.append(
            Step(
                "pitr",
                "turn point-in-time recovery on" if want else "turn point-in-time recovery off: on → off",
                not want,
                "update_continuous_backups",
                {"TableName": table, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": want}},
            )
        )
    if extras.tags is not None and "tags" in read:
        arn = live.get("TableArn", "")
        changed = {k: v for k, v in extras.tags.items() if read["tags"].get(k) != v}
        gone = sorted(set(read["tags"]) - set(extras.tags))
        if changed:
            steps.append(
                Step(
                    "tag",
                    "tag the table: " + ", ".join(f"{k}={v}" for k, v in sorted(changed.items())),
                    False,
                    "tag_resource",
                    {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(changed.items())]},
                )
            )
        if gone:
            steps.append(
                Step("untag", "remove the tags " + ", ".join(gone), True, "untag_resource", {"ResourceArn": arn, "TagKeys": gone})
            )
    return steps


def _ttl_steps(table: str, live_ttl: dict, want: str) -> list[Step]:
    status, attribute = live_ttl.get("TimeToLiveStatus", "DISABLED"), live_ttl.get("AttributeName", "")
    on = status in ("ENABLED", "ENABLING")

    def ttl(enabled: bool, name: str) -> dict:
        return {"TableName": table, "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": name}}

    off = Step(
        "ttl-off",
        f"turn TTL off: on {attribute!r} → off (DynamoDB allows it on again only after an hour)",
        True,
        "update_time_to_live",
        ttl(False, attribute),
    )
    enable = Step("ttl-on", f"turn TTL on, on the attribute {want!r}", False, "update_time_to_live", ttl(True, want))
    if on and not want:
        return [off]
    if want and not on:
        return [enable]
    if on and attribute != want:
        return [off, enable]
    return []


def read_extras(client: DynamoDBClient, table: str, extras: Extras = DECLARED_EXTRAS) -> tuple[dict, list[str]]:
    """Read the settings `extras` declares (and only those): ({"ttl"|"pitr"|"tags": ...}, lines on what the engine lacks)."""
    from botocore.exceptions import ClientError

    read: dict = {}
    skipped: list[str] = []
    wanted = {
        "ttl": extras.ttl_attribute is not None,
        "pitr": extras.point_in_time_recovery is not None,
        "tags": extras.tags is not None,
    }
    calls = {
        "ttl": ("time to live", lambda: client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]),
        "pitr": (
            "point-in-time recovery",
            lambda: (
                client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
                .get("PointInTimeRecoveryDescription", {})
                .get("PointInTimeRecoveryStatus")
                == "ENABLED"
            ),
        ),
        "tags": ("tags", lambda: _tags(client, table)),
    }
    with translated(client, table):
        for name, (label, call) in calls.items():
            if not wanted[name]:
                continue
            try:
                read[name] = call()
            except ClientError as exc:
                if error_code(exc) not in _UNSUPPORTED:
                    raise
                skipped.append(f"{label}: this engine does not support it ({error_code(exc)}), not compared")
    return read, skipped


def _tags(client: DynamoDBClient, table: str) -> dict:
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    tags, token = {}, None
    while True:
        page = client.list_tags_of_resource(ResourceArn=arn, **({"NextToken": token} if token else {}))
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        token = page.get("NextToken")
        if not token:
            return tags
