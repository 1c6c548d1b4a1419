"""model.cost's units per request against what DynamoDB Local reports for the same request on the same data.

Every request the patterns' code sends is asked for `ReturnConsumedCapacity=INDEXES` (a
botocore hook, so the library is unchanged) and what DynamoDB Local reports is compared,
request by request, with `ddb.modeling.cost`'s figures computed from the table's items just before.

Queries, PutItem: the table's and the GSI's units are compared as they are.
TransactWriteItems: DynamoDB Local 3.3.1 adds up each *distinct* per-item charge once and
doubles the GSI's as well as the table's (five 1 KB puts report 2 units, not 10, on the
table). So every item's own charge (its 1 KB units, its GSI write by the index rules) is
checked through that fold, and the total model.cost uses stays DynamoDB's documented one:
2x the table's units, the GSI's once.
"""

import itertools

from ddb.app import messaging, patterns
from ddb.data.items import User, message_pk
from ddb.modeling import cost
from ddb.stream.handler import StreamResult, apply_message

from .support import TABLE, all_items


class Reports:
    """The ConsumedCapacity of every request a client sends, with INDEXES asked for."""

    def __init__(self, client):
        self.seen: list[tuple[str, dict]] = []
        client.meta.events.register("before-parameter-build.dynamodb", self._ask)
        client.meta.events.register("after-call.dynamodb", self._record)

    def _ask(self, params, **_):
        params["ReturnConsumedCapacity"] = "INDEXES"

    def _record(self, parsed, model, **_):
        used = parsed.get("ConsumedCapacity")
        self.seen.append((model.name, used[0] if isinstance(used, list) else used or {}))

    def take(self) -> list[tuple[str, dict]]:
        taken, self.seen = self.seen, []
        return taken


def _units(report: dict) -> tuple[float, float]:
    index = sum(i["CapacityUnits"] for i in (report.get("GlobalSecondaryIndexes") or {}).values())
    return report.get("Table", {}).get("CapacityUnits", 0.0), index


def _as_dynamodb_local_reports(request: cost.Request) -> tuple[float, float]:
    if request.operation == "Query":
        return request.table_read_units, request.index_read_units
    if not request.transaction:
        return request.table_write_units, request.index_write_units
    distinct = {(w.table_units, w.index_units) for w in request.written}
    return 2 * sum(t for t, _ in distinct), 2 * sum(i for _, i in distinct)


def _check(name: str, predicted: list[cost.Request], reported: list[tuple[str, dict]]):
    assert [r.operation for r in predicted] == [op for op, _ in reported], name
    for request, (operation, report) in zip(predicted, reported, strict=True):
        assert _as_dynamodb_local_reports(request) == _units(report), (name, operation, request, report)
        if request.transaction:  # the documented total: the table's units twice, the GSI's once
            assert request.write_units == 2 * sum(w.table_units for w in request.written) + sum(
                w.index_units for w in request.written
            )


def test_every_patterns_units_per_request_are_what_dynamodb_local_reports(dynamodb_local, seeded_local):
    client, fixture_set = dynamodb_local, seeded_local
    reports = Reports(client)
    checked = dict.fromkeys("ABCDE", 0)
    data = cost.Data.of(all_items(client))
    reports.take()
    for conversation in fixture_set.conversations:
        for page in (1, 3, 20):
            patterns.list_messages(client, TABLE, conversation.message_group_uuid, page)
            reads = data.partitions[message_pk(conversation.message_group_uuid)]
            _check(f"A {page}", [cost.query("A", cost.model.pattern("A").queries[0], reads, page + 1)], reports.take())
            checked["A"] += 1
    for (run,), user in zip(
        cost.pattern_b(data, 20), sorted(fixture_set.users.values(), key=lambda u: "GRP#" + u.uuid), strict=True
    ):
        patterns.list_conversations(client, TABLE, user.uuid)
        _check(f"B @{user.handle}", [run], reports.take())
        checked["B"] += 1
    for group in sorted(data.index):
        message = cost.new_message(data, group)
        assert message is not None
        sender = User(message["user_uuid"], message["user_handle"], message["user_display_name"])
        predicted = cost.pattern_c(cost.Data.of(all_items(client)), group, message)
        reports.take()
        sent = messaging.create_message(client, TABLE, group, sender, message["message"], message_uuid=message["message_uuid"])
        _check(f"C {group}", predicted, reports.take())
        checked["C"] += 1
        predicted = cost.pattern_e(cost.Data.of(all_items(client)), group, sent.message)
        reports.take()
        result = StreamResult()
        apply_message(client, TABLE, sent.message, result)
        assert result.moved == 2
        _check(f"E {group}", predicted, reports.take())
        checked["E"] += 1
    talking = {frozenset(c.between) for c in fixture_set.conversations}
    texts = itertools.cycle(m.text for c in fixture_set.conversations for m in c.messages)
    for first, second in itertools.combinations(sorted(fixture_set.users), 2):
        if frozenset((first, second)) in talking:
            continue
        sender, other, text = fixture_set.users[first], fixture_set.users[second], next(texts)
        predicted = cost.pattern_d(cost.Data.of(all_items(client)), sender, other, text, "0" * 8 + "-0000-4000-8000-" + "0" * 12)
        reports.take()
        sent = messaging.create_conversation(client, TABLE, sender, other, text)
        assert sent.created_conversation
        _check(f"D @{first} @{second}", predicted, reports.take())
        checked["D"] += 1
    assert checked == {"A": 12, "B": 5, "C": 4, "D": 6, "E": 4}
