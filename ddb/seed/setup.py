"""`setup` on any DynamoDB-compatible engine: drop, create and seed the table, ending with its declared stream.

The fast way is `seeding.setup`: the new table is created without its stream, seeded, and
then the stream is turned on (UpdateTable), so the seed leaves no stream record (DynamoDB
Local slows down with every record it keeps). Some engines take a stream only in
CreateTable and refuse, or ignore, turning one on later (`schema.StreamRefused`). Then
the table is dropped again, created with its stream and seeded once more: the engine's
own answer is the only reliable test, and asking it before the seed would cost the
speed-up everywhere (a stream turned on before the seed records every write of it). The
result says which way it went (`TableSetup.stream`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ddb.core.clients import DynamoDBClient
from ddb.schema import declaration as schema
from ddb.seed import seeding

AFTER_SEED = "after the seed"  # created without its stream, seeded, stream turned on: no stream record of the seed
AT_CREATION = "at creation"  # the engine refused the stream later: re-created with it and seeded again


@dataclass
class TableSetup(seeding.SetupResult):
    """What setup did: `seeding.SetupResult`, and how the table got its stream (`AFTER_SEED` or `AT_CREATION`)."""

    stream: str = AFTER_SEED
    refusal: str = ""  # with AT_CREATION: the engine's answer to turning the stream on (StreamRefused's line)


def setup(
    client: DynamoDBClient,
    table: str,
    source: seeding.Source,
    *,
    billing: str = schema.PROVISIONED,
    confirm: Callable[[Any], None] | None = None,
    on_dropped: Callable[[bool], None] | None = None,
    on_created: Callable[[schema.LoadResult], None] | None = None,
    on_refused: Callable[[schema.StreamRefused], None] | None = None,
    **seed_options: Any,
) -> TableSetup:
    """Drop the table (if present), create it as declared and seed it, stream included, on any engine.

    As `seeding.setup` (validation and `confirm` before the drop, `on_dropped`, `on_created`,
    `seed_options` for each seed). Should the engine refuse to turn the stream on after the
    seed, `on_refused(error)` hears it, and the table is dropped, created with its stream
    (`on_created` again) and seeded again from the fixtures already checked.
    """
    checked: list = []
    dropped: list[bool] = []

    def confirmed(loaded: Any) -> None:
        checked.append(loaded)
        if confirm:
            confirm(loaded)

    def was_dropped(there: bool) -> None:
        dropped.append(there)
        if on_dropped:
            on_dropped(there)

    try:
        done = seeding.setup(
            client,
            table,
            source,
            billing=billing,
            confirm=confirmed,
            on_dropped=was_dropped,
            on_created=on_created,
            **seed_options,
        )
    except schema.StreamRefused as refused:
        if on_refused:
            on_refused(refused)
        schema.drop(client, table)
        created = schema.load(client, table, billing)  # the stream in CreateTable, as every engine takes it
        if on_created:
            on_created(created)
        seeded = seeding.seed_fixtures(client, table, checked[0], **seed_options)
        return TableSetup(dropped[0], created, seeded, AT_CREATION, str(refused))
    return TableSetup(done.dropped, done.created, done.seeded)
