"""Capacity units per request of each access pattern, from the items themselves.

`requests(letter, data)` lists the requests one run of a pattern sends on `data` (the
table's items, or the fixtures' items), for every conversation or user it could run on,
with the units each costs by DynamoDB's rules (`ddb.data.capacity`):
- a Query reads the items it returns (before any filter), summed, rounded up to 4 KB,
  halved when eventually consistent; on the GSI it costs the index, not the table;
- a write costs each item's size in 1 KB units; a TransactWriteItems twice that on the
  table (`capacity.TRANSACTION_FACTOR`), and the GSI once per index write;
- the GSI is written by the index rules (`capacity.index_change_units`): a new item with
  `message_group_uuid` is one put, a deleted one one delete, a changed key a delete and a put.
The queries and writes are the declared ones (`ddb.data.model`), so their order, index,
consistency and page size are the ones the code uses.
"""

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ddb.data import capacity, items, model
from ddb.data.items import User

# The time of the message pattern E applies in `runs`: after any item's, and as long as any time the table holds.
LATER = "9999-12-31T23:59:59.999999+00:00"


@dataclass(frozen=True)
class Written:
    """One item a write request puts or deletes: its type and its units on the table and the GSI."""

    item_type: str
    table_units: int
    index_units: int


@dataclass(frozen=True)
class Request:
    """One request a pattern sends, and what it costs."""

    pattern: str
    operation: str  # Query, PutItem, TransactWriteItems
    partition: str  # where it reads: "MSG#", "GRP#" or "GSI" (empty for writes)
    table_read_units: float = 0.0
    index_read_units: float = 0.0
    written: tuple[Written, ...] = ()

    @property
    def transaction(self) -> bool:
        return self.operation == "TransactWriteItems"

    @property
    def table_write_units(self) -> int:
        factor = capacity.TRANSACTION_FACTOR if self.transaction else 1
        return factor * sum(w.table_units for w in self.written)

    @property
    def index_write_units(self) -> int:
        return sum(w.index_units for w in self.written)

    @property
    def read_units(self) -> float:
        return self.table_read_units + self.index_read_units

    @property
    def write_units(self) -> int:
        return self.table_write_units + self.index_write_units


@dataclass
class Data:
    """Items by partition: the table's (`pk`) and the GSI's (`message_group_uuid`), each oldest first."""

    partitions: dict[str, list[dict]] = field(default_factory=dict)
    index: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def of(cls, found: list[dict]) -> "Data":
        data = cls()
        for item in sorted(found, key=lambda i: (str(i["pk"]), str(i["sk"]))):
            data.partitions.setdefault(item["pk"], []).append(item)
            if "message_group_uuid" in item:
                data.index.setdefault(item["message_group_uuid"], []).append(item)
        for group in data.index.values():
            group.sort(key=lambda i: str(i["sk"]))
        return data

    def of_type(self, prefix: str) -> list[str]:
        return [pk for pk in self.partitions if pk.startswith(prefix)]

    def users_of(self, group: str) -> tuple[User, User] | None:
        """The two participants of a conversation, from its two group items (None unless there are two)."""
        found = {i["pk"][len(items.GROUP_PREFIX) :]: i for i in self.index.get(group, [])}
        if len(found) != 2:
            return None
        first, second = found.values()
        return (
            User(second["user_uuid"], second["user_handle"], second["user_display_name"]),
            User(first["user_uuid"], first["user_handle"], first["user_display_name"]),
        )


def query(letter: str, declared: model.Query, read: list[dict], limit: int | None = None) -> Request:
    """The Query `declared`, over a partition holding `read` (oldest first), reading at most `limit` items."""
    ordered = list(reversed(read)) if declared.newest_first else list(read)
    returned = ordered[:limit] if limit is not None else ordered
    units = capacity.read_units(returned, consistent=declared.consistent)
    where = "GSI" if declared.index else model.item_type(declared.reads).pk.split("<")[0]
    if declared.index:
        return Request(letter, "Query", where, index_read_units=units)
    return Request(letter, "Query", where, table_read_units=units)


def _written(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> Written:
    shown = after if after is not None else before
    assert shown is not None
    return Written(
        model.type_of(shown), capacity.write_units(shown), capacity.index_change_units(before, after, capacity.GSI_KEYS)
    )


def pattern_a(data: Data, page_size: int) -> list[list[Request]]:
    """Pattern A: the first page of every conversation."""
    declared = model.pattern("A").queries[0]
    return [[query("A", declared, data.partitions[pk], page_size + 1)] for pk in data.of_type(items.MESSAGE_PREFIX)]


def pattern_b(data: Data, page_size: int) -> list[list[Request]]:
    """Pattern B: the first page of every user's conversations."""
    declared = model.pattern("B").queries[0]
    return [[query("B", declared, data.partitions[pk], page_size + 1)] for pk in data.of_type(items.GROUP_PREFIX)]


def new_message(data: Data, group: str) -> dict | None:
    """The message pattern C writes into `group` when its last sender sends its last text again."""
    messages = data.partitions.get(items.message_pk(group), [])
    if not messages:
        return None
    last = messages[-1]
    return {**last, "message_uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, last["message_uuid"]))}


def pattern_c(data: Data, group: str, message: Mapping[str, Any]) -> list[Request]:
    """Pattern C writing `message` into `group`: the GSI query for its group items, then one conditional put."""
    declared = model.pattern("C")
    return [
        query("C", declared.queries[0], data.index.get(group, [])),
        Request("C", declared.writes[0].operation, "", written=(_written(None, message),)),
    ]


def pattern_d(data: Data, sender: User, other: User, text: str, group: str) -> list[Request]:
    """Pattern D starting a conversation: the sender's group items read, then one transaction of five puts."""
    declared = model.pattern("D")
    at = items.iso_time(model.SAMPLE_NOW)
    message = items.message_item(group, str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, group)), sender, text, at)
    put = [
        {**items.group_item(sender, other, group, text, at), "message_count": 1},
        {**items.group_item(other, sender, group, text, at), "message_count": 1},
        message,
        items.group_claim(group, sender.uuid, other.uuid),
        items.pair_claim(sender.uuid, other.uuid, group),
    ]
    transaction = Request("D", declared.writes[0].operation, "", written=tuple(_written(None, i) for i in put))
    return [query("D", declared.queries[0], data.partitions.get(items.group_pk(sender.uuid), [])), transaction]


def pattern_e(data: Data, group: str, message: Mapping[str, Any]) -> list[Request]:
    """Pattern E applying `message`: the GSI query, then a move (delete + put) of every group item behind it."""
    declared = model.pattern("E")
    found = data.index.get(group, [])
    sent = [query("E", declared.queries[0], found)]
    newest: dict[str, dict] = {}
    for item in found:
        newest[item["pk"]] = item if item["pk"] not in newest or item["sk"] > newest[item["pk"]]["sk"] else newest[item["pk"]]
    for current in newest.values():
        if current["sk"] >= message["sk"]:
            continue
        moved = {**current, "sk": message["sk"], "message": message["message"]}
        if "message_count" in current:  # counted: the messages since the group's time are read (strongly consistent)
            between = [m for m in data.partitions.get(message["pk"], []) if current["sk"] <= m["sk"] <= message["sk"]]
            sent.append(query("E", model.Query("message", "pk = :pk", consistent=True), between))
            moved["message_count"] = current["message_count"] + sum(1 for m in between if m["sk"] != current["sk"])
        sent.append(Request("E", declared.writes[0].operation, "", written=(_written(current, None), _written(None, moved))))
    return sent


def runs(letter: str, data: Data, page_size: int = 20) -> list[list[Request]]:
    """Every run of pattern `letter` the data offers, each as the requests it sends.

    A and B: each conversation's / user's first page. C: each conversation's last sender
    sending its last text again. D: each conversation started anew by its first group
    item's owner, with its first message. E: each of C's messages applied.
    """
    if letter == "A":
        return pattern_a(data, page_size)
    if letter == "B":
        return pattern_b(data, page_size)
    found: list[list[Request]] = []
    for group in sorted(data.index):
        message = new_message(data, group)
        users = data.users_of(group)
        if message is None or users is None:
            continue
        if letter == "C":
            found.append(pattern_c(data, group, message))
        elif letter == "E":
            later = {**message, "sk": LATER}
            found.append(pattern_e(data, group, later))
        elif letter == "D":
            first_text = data.partitions[items.message_pk(group)][0]["message"]
            found.append(pattern_d(data, *users, first_text, group))
    return found
