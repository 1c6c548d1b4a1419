"""A conversation belongs to its two participants, on each engine (moto server, DynamoDB Local).

Two starts at the same moment race between pattern D's lookup and its transaction; only
the claims written in that transaction decide who wins. Each race runs two threads with
their own clients, released together by a barrier.
"""

import itertools
import os
import threading

import pytest

from ddb.app import messaging
from ddb.core.errors import InvalidInput
from ddb.data.items import from_typed, group_claim_key, group_pk, message_pk, pair_claim_key, to_typed
from ddb.schema import declaration as schema
from ddb.schema.declaration import GSI_NAME

from .support import TABLE, atomic_requests, local_client

# Races of conditional writes in transactions: what the engine does with them is the outcome.
pytestmark = pytest.mark.each_engine


@pytest.fixture
def race(engine, request, engine_client):
    """The declared table on the engine, and a way to run calls on it at the same moment."""
    schema.load(engine_client, TABLE)
    on_moto = request.node.callspec.params["engine"] == "moto"
    lock = threading.Lock()

    def worker():
        client = local_client(engine)
        return atomic_requests(client, lock) if on_moto and not os.environ.get("RACE_MOTO_UNLOCKED") else client

    return lambda calls: _race(worker, calls)


def _race(worker, calls):
    """Run the calls at the same moment, each on its own client; their results or errors, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        client = worker()
        barrier.wait()
        try:
            outcomes[index] = call(client)
        except Exception as exc:  # noqa: BLE001 - checked by the test
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def _query(client, **query) -> list[dict]:
    found = []
    for page in client.get_paginator("query").paginate(TableName=TABLE, **query):
        found += [from_typed(i) for i in page.get("Items", [])]
    return found


def _groups_with(client, owner, other) -> list[dict]:
    return _query(
        client,
        ConsistentRead=True,
        KeyConditionExpression="pk = :pk",
        FilterExpression="user_uuid = :o",
        ExpressionAttributeValues={":pk": {"S": group_pk(owner.uuid)}, ":o": {"S": other.uuid}},
    )


def test_two_starts_for_one_pair_at_once_end_as_one_conversation_with_both_messages(race, engine_client, repo_fixtures):
    users = list(repo_fixtures.users.values())
    for n, (first, second) in enumerate(itertools.combinations(users, 2)):  # 10 pairs, 10 races
        outcomes = race(
            [
                lambda c, a=first, b=second, n=n: messaging.create_conversation(c, TABLE, a, b, f"race {n} from {a.handle}"),
                lambda c, a=second, b=first, n=n: messaging.create_conversation(c, TABLE, a, b, f"race {n} from {a.handle}"),
            ]
        )
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        groups = {o.message_group_uuid for o in outcomes}
        assert len(groups) == 1, f"race {n}: two conversations {groups}"
        (group,) = groups
        assert sorted(o.created_conversation for o in outcomes) == [False, True]
        assert [g["message_group_uuid"] for g in _groups_with(engine_client, first, second)] == [group]
        assert [g["message_group_uuid"] for g in _groups_with(engine_client, second, first)] == [group]
        messages = _query(
            engine_client,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
        )
        assert sorted(m["message"] for m in messages) == sorted(f"race {n} from {u.handle}" for u in (first, second))
        claim = engine_client.get_item(
            TableName=TABLE, Key=to_typed(pair_claim_key(first.uuid, second.uuid)), ConsistentRead=True
        )
        assert claim["Item"]["group_uuid"]["S"] == group


def test_two_pairs_racing_for_one_group_uuid_leave_it_to_one_pair_and_the_other_writes_nothing(
    race, engine_client, repo_fixtures
):
    every_pair = list(itertools.combinations(repo_fixtures.users.values(), 2))
    for n in range(5):  # two pairs that share no conversation yet in each race
        pairs = every_pair[2 * n : 2 * n + 2]
        group = f"7e57c0de-0000-4000-8000-{n:012d}"
        outcomes = race(
            [
                lambda c, a=a, b=b, g=group: messaging.create_conversation(
                    c, TABLE, a, b, f"mine: {a.handle}", message_group_uuid=g
                )
                for a, b in pairs
            ]
        )
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1 and won[0].created_conversation, outcomes
        assert len(lost) == 1 and isinstance(lost[0], InvalidInput), outcomes
        assert str(lost[0]).startswith(f"message group uuid {group} is already used by another conversation")
        winner = pairs[outcomes.index(won[0])]
        members = _query(
            engine_client,
            IndexName=GSI_NAME,
            KeyConditionExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )
        assert sorted(m["pk"] for m in members) == sorted(group_pk(user.uuid) for user in winner)
        messages = _query(
            engine_client,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
        )
        assert [m["message"] for m in messages] == [f"mine: {winner[0].handle}"]
        claim = engine_client.get_item(TableName=TABLE, Key=to_typed(group_claim_key(group)), ConsistentRead=True)["Item"]
        assert [v["S"] for v in claim["user_uuids"]["L"]] == sorted(user.uuid for user in winner)
