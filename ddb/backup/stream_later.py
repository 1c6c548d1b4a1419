"""A restored table's stream, turned on after the load: no stream record of the restore, and no consumer misses one.

A table an import creates is made without its stream; once every item is written and read
back, the stream it should have (the saved description's, or the declaration's for an
export without one) is turned on (UpdateTable). Nobody can read the stream of a table that
did not exist before the import, so a follower or the stream Lambda misses nothing they
could have had: they start on the restored table, as on any table whose stream is turned on.
What it saves: DynamoDB Local keeps every stream record it is ever given, even of dropped
tables, and a write into a stream-enabled table there slows with the records it holds, so a
restore that wrote with its stream on made every later one slower.

An import that fails or is stopped part-way turns the stream on all the same (as `setup`
does), so a run that finishes it writes through the stream. A table that exists keeps its
stream as it is: an import into a live table writes with its stream on (its consumers see
every write). Only an existing table with no stream at all, while the export's table had
one (a new table whose import was killed before its stream was turned on), gets it after
the writes. An engine that takes a stream only in CreateTable
refuses (or ignores) turning it on later: `turn_on` raises `schema.StreamRefused` then, and
the import makes the new table again with its stream (`ddb.backup.importing`).
"""

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.schema import declaration as schema

_WAIT = {"Delay": 1, "MaxAttempts": 300}


def wanted(description: dict | None) -> dict | None:
    """The StreamSpecification a table made from `description` should end with (None: no stream); the declaration's if None."""
    if description is None:
        return dict(schema.table_spec("any")["StreamSpecification"])
    stream = description.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        return None
    return {"StreamEnabled": True, "StreamViewType": stream.get("StreamViewType", "NEW_IMAGE")}


def without_stream(description: dict) -> dict:
    """`description` with its stream left out: the table to create for the load."""
    return {name: value for name, value in description.items() if name != "StreamSpecification"}


def missing(live: dict, stream: dict | None) -> dict | None:
    """The stream to turn on after an import into the existing table described as `live`: `stream`, if it has none at all."""
    on = (live.get("StreamSpecification") or {}).get("StreamEnabled")
    return None if on or stream is None else stream


def turn_on(client: DynamoDBClient, table: str, stream: dict) -> None:
    """Turn `stream` on and wait until the table is ACTIVE; StreamRefused when the engine leaves it off.

    A stream already on with this view type is left as it is (a retried call whose first
    answer was lost is harmless).
    """
    from botocore.exceptions import ClientError

    answer = "it answered, yet the stream stayed off"
    with translated(client, table):
        try:
            client.update_table(TableName=table, StreamSpecification=stream)
        except ClientError as exc:
            # Already on (ValidationException) or still updating (ResourceInUseException): checked below.
            if error_code(exc) not in ("ValidationException", "ResourceInUseException"):
                raise
            answer = f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')[:200]}"
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=_WAIT)
        live = client.describe_table(TableName=table)["Table"].get("StreamSpecification") or {}
    if not live.get("StreamEnabled") or live.get("StreamViewType") != stream["StreamViewType"]:
        raise schema.StreamRefused(f"table {table!r}: the engine did not turn its stream on ({answer})")
