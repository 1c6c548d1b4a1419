"""The `stream.*` tasks: pattern E run locally, from the table's stream, as the Lambda runs it: drained once, or followed."""

from invoke import Exit

from ddb.core import errors

from .exits import reports_errors
from .flags import target_flags, whole_number
from .output import print_json, status_line
from .targeting import config, confirm, make_client, project_path, resolve_target

# The exit code of a run that stopped at --max-records with records still pending.
RECORDS_LEFT = 3


@target_flags(
    from_start="re-read the whole stream instead of continuing from the last run",
    max_records="apply at most N records, then say how many remain (exit code 3 if some do); default: all pending",
)
@reports_errors
def process(c, json_=False, prod=False, endpoint_url=None, yes=False, from_start=False, max_records=None):
    """Pattern E: apply every pending record of the table's stream to the group items, as the Lambda does."""
    from ddb.stream import reader as stream_reader

    from .interrupts import stops_on_ctrl_c
    from .sentences import stream_applied

    cap = None if max_records is None else whole_number("--max-records", max_records)
    target, client, streams, checkpoint, dead_letter = _stream_of(c, prod, endpoint_url, yes, "apply the stream to group items")
    if from_start:
        checkpoint.unlink(missing_ok=True)

    def tell_malformed(batch, result):
        for failure in result.malformed:
            status_line(f"record {failure.identifier} can never apply: {failure.reason}; saved to {dead_letter} and passed")

    with stops_on_ctrl_c("stopping: finishing the batch in flight (Ctrl-C again to quit at once)"):
        drained = stream_reader.drain(
            client, streams, target.table, checkpoint, dead_letter, max_records=cap, on_batch=tell_malformed
        )
    result = drained.result
    if json_:
        print_json({**result.as_json(), "remaining": drained.remaining, "capped": drained.capped})
    else:
        status_line(f"applied {stream_applied(result)}" + ("" if drained.stopped else f"; {_left(drained, cap)}"))
    if result.retryable:
        failure = result.retryable[0]
        raise errors.DdbError(
            f"record {failure.identifier} could not be applied now ({failure.reason}); "
            "the checkpoint stays before it: run stream.process again"
        )
    if drained.remaining:
        raise Exit(code=RECORDS_LEFT)


@target_flags(
    batch_size="records per handler call at most, as the event source mapping's BatchSize: a shard's backlog is read "
    "page after page up to it (default 10,000, Lambda's most; 100 is Lambda's default)",
    workers="conversations of a batch applied at once, each whole by one worker (default 4, at most 10; 1: one after the other)",
    from_="where to start without a checkpoint: trim-horizon (every record the stream keeps; the default) or latest",
)
@reports_errors
def follow(c, prod=False, endpoint_url=None, yes=False, batch_size=None, workers=None, from_=None):
    """Pattern E, continuously: follow the table's stream and apply each batch as it comes, as the Lambda does (Ctrl-C stops)."""
    import threading

    from ddb.core.target import where
    from ddb.stream import follower

    from .following import Words, interrupted, run_until_stopped, summary

    size = whole_number("--batch-size", batch_size, default=follower.BATCH_SIZE, high=follower.MAX_BATCH_SIZE)
    threads = whole_number("--workers", workers, default=follower.WORKERS, high=follower.MAX_WORKERS)
    start = from_ or follower.TRIM_HORIZON
    if start not in follower.POSITIONS:
        raise errors.InvalidInput(f"--from must be {' or '.join(follower.POSITIONS)}, not {start!r}")
    settings = follower.FollowSettings(batch_size=size, workers=threads, start=start)
    target, client, streams, checkpoint, dead_letter = _stream_of(
        c, prod, endpoint_url, yes, "apply the stream to group items, continuously"
    )
    words = Words(target.table, where(target, client), settings, checkpoint, dead_letter)
    stop = threading.Event()
    followed, how = run_until_stopped(
        lambda: follower.follow(
            client,
            streams,
            target.table,
            checkpoint,
            dead_letter,
            stop,
            settings,
            on_batch=words.on_batch,
            on_wait=words.on_wait,
            on_stream=words.on_stream,
        ),
        stop,
    )
    if how == "ctrl-c":
        raise interrupted(summary(followed, dead_letter, checkpoint))
    status_line(summary(followed, dead_letter, checkpoint))


def _left(drained, cap) -> str:
    """What the stream still holds after the run."""
    if not drained.capped:
        return "the stream is drained"
    if not drained.remaining:
        return f"stopped at --max-records {cap:,}, and nothing more is pending"
    from ddb.stream.reader import REMAINING_COUNTED

    more = "at least " if drained.remaining >= REMAINING_COUNTED else ""
    return f"stopped at --max-records {cap:,}: {more}{drained.remaining:,} more records pending, run stream.process again"


def _stream_of(c, prod, endpoint_url, yes, doing):
    """The target, its two clients (confirmed on --prod) and the checkpoint and dead-letter files the stream tasks share."""
    target = resolve_target(c, prod, endpoint_url)
    client, streams = make_client(target), make_client(target, "dynamodbstreams")
    confirm(target, client, doing, yes)
    state_dir = project_path(config(c).state_dir)
    checkpoint = state_dir / f"stream-{target.label}-{target.table}.json"
    dead_letter = state_dir / f"stream-dead-letter-{target.label}-{target.table}.jsonl"
    return target, client, streams, checkpoint, dead_letter
