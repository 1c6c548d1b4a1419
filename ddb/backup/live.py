"""Restoring into a table that already holds data: what the table's own items decide, found with reads only.

An export is a copy of the past. Restored into a live table, it must not undo what
happened since, so before the first write:

- **Group items: the newer state wins.** For each conversation of the export, the
  table's group items are read (the GSI, one query per conversation) and compared with
  the export's, owner by owner. An export's group item older than the table's is left
  out (`stale`): the conversation never moves back in time. A table's group item older
  than the export's is deleted after the writes (`superseded`), as pattern E moves a
  group item: a user never keeps two group items for one conversation.
- **Two participants.** The table's group items and claim of each conversation join the
  export's: a third participant is refused in one line (a crafted export cannot add
  someone to a conversation).
- **One migration history.** A table that holds items and a history other than the
  export's would end with a history out of step with its data (say "applied" over group
  items the export wrote without `message_count`): refused in one line.

The GSI is eventually consistent on DynamoDB: a group item written a moment before the
import may not be seen. Writers of the live table should be quiet during a restore.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ddb.app import group_items
from ddb.backup.source import Source
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError
from ddb.data.items import GROUP_PREFIX, from_typed, group_claim_key, to_typed
from ddb.migrate import migrations

CHUNK = 1000  # conversations asked about at a time


class LiveConflict(DdbError):
    """What the export would do to the live table that must not happen: one line."""


@dataclass
class LiveDecision:
    """What the table's items decide for an import into it."""

    stale: set[tuple[str, str]] = field(default_factory=set)  # export group item keys older than the table's
    superseded: list[dict] = field(default_factory=list)  # the table's group item keys older than the export's
    conversations: int = 0  # conversations compared


def _live_conversation(client: DynamoDBClient, table: str, group: str) -> tuple[list[dict], list[str]]:
    """The table's group items of a conversation (pk, sk, user_uuid) and the users its claim names."""
    items = group_items.in_conversation(client, table, group, projection="pk, sk, user_uuid").items
    claim = client.get_item(TableName=table, Key=to_typed(group_claim_key(group)), ConsistentRead=True).get("Item")
    users = from_typed(claim).get("user_uuids", []) if claim else []
    return items, [u for u in users if isinstance(u, str)]


def _decide(group: str, source: Source, live: list[dict], claimed: list[str], decision: LiveDecision) -> None:
    people = source.conversations
    for user in claimed:
        if problem := people.join(group, (user,), "the table's claim"):
            raise LiveConflict(f"conversation {group}: {problem}")
    for item in live:
        owner = item["pk"][len(GROUP_PREFIX) :]
        if problem := people.join(group, (owner, item.get("user_uuid", owner)), "the table's group item"):
            raise LiveConflict(f"conversation {group}: {problem}")
    exported = people.groups.get(group, {})
    for owner, sk in exported.items():
        mine = [item["sk"] for item in live if item["pk"] == GROUP_PREFIX + owner]
        newest = max([sk, *mine])
        if sk < newest:
            decision.stale.add((GROUP_PREFIX + owner, sk))
        decision.superseded += [{"pk": GROUP_PREFIX + owner, "sk": s} for s in mine if s < newest]


def _check_history(client: DynamoDBClient, table: str, source: Source) -> None:
    live = {version: item["state"] for version, item in migrations.read_history(client, table).items()}
    if live == source.history:
        return
    holds_items = client.scan(TableName=table, Limit=1, ProjectionExpression="pk").get("Items")
    if not holds_items:
        return

    def shown(history: dict[int, str]) -> str:
        return ", ".join(f"{version:04d} {state}" for version, state in sorted(history.items())) or "none"

    raise LiveConflict(
        f"the export's migration history ({shown(source.history)}) is not that of table {table!r} ({shown(live)}): "
        "restoring it would leave the history out of step with the items; import into a new table (--table), "
        "or bring the table to the export's migrations first"
    )


def decide(client: DynamoDBClient, table: str, source: Source, *, readers: int = 4) -> LiveDecision:
    """Compare a validated export with the live `table` (see the module's docstring); raises LiveConflict."""
    decision = LiveDecision()
    with translated(client, table):
        _check_history(client, table, source)
        groups = sorted(source.conversations.people)
        with ThreadPoolExecutor(max_workers=max(1, readers), thread_name_prefix="import-live") as pool:
            for start in range(0, len(groups), CHUNK):  # a chunk at a time: memory holds its answers only
                chunk = groups[start : start + CHUNK]
                for group, (live, claimed) in zip(
                    chunk, pool.map(lambda g: _live_conversation(client, table, g), chunk), strict=True
                ):
                    _decide(group, source, live, claimed, decision)
                    decision.conversations += 1
    source.skip |= decision.stale
    return decision
