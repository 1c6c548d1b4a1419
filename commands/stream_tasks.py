"""The `stream.*` task: pattern E run locally, from the table's stream, as the Lambda runs it."""

from invoke import task

from ddb import errors

from .exits import reports_errors
from .flags import ENDPOINT, JSON, PROD, YES
from .output import print_json, status_line
from .targeting import config, confirm, make_client, project_path, resolve_target


@task(
    help={
        "json_": JSON,
        "prod": PROD,
        "endpoint_url": ENDPOINT,
        "yes": YES,
        "from_start": "re-read the whole stream instead of continuing from the last run",
    }
)
@reports_errors
def process(c, json_=False, prod=False, endpoint_url=None, yes=False, from_start=False):
    """Pattern E: apply the table's stream to the group items, as the Lambda does."""
    from ddb import stream, stream_reader

    from .sentences import stream_applied

    target = resolve_target(c, prod, endpoint_url)
    client, streams = make_client(target), make_client(target, "dynamodbstreams")
    confirm(target, client, "apply the stream to group items", yes)
    state_dir = project_path(config(c).state_dir)
    checkpoint = state_dir / f"stream-{target.label}-{target.table}.json"
    dead_letter = state_dir / f"stream-dead-letter-{target.label}-{target.table}.jsonl"
    if from_start:
        checkpoint.unlink(missing_ok=True)
    batch = stream_reader.read_stream(client, streams, target.table, checkpoint)
    result = stream.handle_records(client, target.table, batch.records, stop_on_retryable=True)
    malformed = result.malformed
    for failure in malformed:
        status_line(f"record {failure.identifier} can never apply: {failure.reason}; saved to {dead_letter} and passed")
    if malformed:
        stream_reader.save_dead_letters(dead_letter, batch.records, malformed, target.table)
    if batch.arn:
        stream_reader.save_checkpoint(checkpoint, batch.arn, batch.checkpoint_through(result.handled))
    if json_:
        print_json(result.as_json())
    else:
        status_line(stream_applied(result))
    if result.retryable:
        failure = result.retryable[0]
        raise errors.DdbError(
            f"record {failure.identifier} could not be applied now ({failure.reason}); "
            "the checkpoint stays before it: run stream.process again"
        )
