"""The rules every item of an export meets before an import writes anything: the rules of every other write path.

- **Typed JSON DynamoDB can store** (`typed_problem`): each value one type (`{"S": …}`,
  `{"N": …}`, …), numbers of at most 38 digits within DynamoDB's range, nesting at most
  32 levels.
- **The item contract** (`item_problem`): `ddb/data/schemas/item.schema.json` for the item type
  its pk names, the 400 KB limit, and the text rules of `ddb.data.validate` on every string: no
  lone surrogate; a message may hold line feeds and tabs, no other string any control
  character.
- **The cross-item contract** (`Conversations`): a conversation is between exactly two
  users, and its group items, its claims and its messages' senders name the same two; a
  user has one group item per conversation.

Two item types are not data to restore as they are:
- a lock (`LOCK#seed`, `LOCK#migrate`) is the lease of a run that does not run in the
  restored table: it is left out (`is_lock`), so it never comes back as held;
- a migration's history item (`restored_history`) loses its checkpoint, a scan position
  of the exported table that means nothing in another; and "applied" comes back as
  "applying" when group items of the export lack what the migration adds (the export ran
  while the migration did), so the history never claims more than the data holds.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from ddb.app.message_count import ATTRIBUTE as MESSAGE_COUNT
from ddb.core.text import shown
from ddb.data import contract, validate
from ddb.data.contract import location
from ddb.data.items import GROUP_CLAIM_PREFIX, GROUP_PREFIX, MESSAGE_PREFIX, PAIR_CLAIM_PREFIX

MAX_DEPTH = 32  # DynamoDB's nesting limit for lists and maps
MAX_DIGITS = 38  # DynamoDB's number precision
HISTORY_PK = "MIGRATION"
LOCK_PREFIX = "LOCK#"
# What each migration adds to group items: its history may say "applied" only when every group item has it.
MIGRATION_ATTRIBUTES = {1: MESSAGE_COUNT}

_BRANCHES = (
    (GROUP_CLAIM_PREFIX, "group_claim"),
    (PAIR_CLAIM_PREFIX, "pair_claim"),
    (GROUP_PREFIX, "group_item"),
    (MESSAGE_PREFIX, "message_item"),
    (HISTORY_PK, "migration_history"),
    (LOCK_PREFIX, "lock"),
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,4})?")
_TEXT_RULES = {
    "message": validate.text_problem,
    "user_display_name": validate.display_name_problem,
    "user_handle": validate.handle_problem,
    "user_uuid": validate.uuid_problem,
    "message_uuid": validate.uuid_problem,
    "message_group_uuid": validate.uuid_problem,
}


def _number_problem(text: object) -> str | None:
    if not isinstance(text, str) or len(text) > 2 * MAX_DIGITS + 8 or not _NUMBER.fullmatch(text):
        return f"{shown(text)} is not a number"
    number = Decimal(text)
    if not number:
        return None
    if len("".join(map(str, number.as_tuple().digits)).strip("0")) > MAX_DIGITS:
        return f"{shown(text)} has more than {MAX_DIGITS} significant digits, more than DynamoDB stores"
    if not -130 <= number.adjusted() <= 125:
        return f"{shown(text)} is outside DynamoDB's range of numbers (1E-130 to 9.9E+125)"
    return None


def _value_problem(value: object, depth: int) -> str | None:
    """What makes one typed value something DynamoDB cannot take, or None."""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    if not isinstance(value, dict) or len(value) != 1:
        return f'expected one typed value such as {{"S": …}}, found {shown(value)}'
    kind, inner = next(iter(value.items()))
    if kind in ("S", "B"):
        return None if isinstance(inner, str) else f"{kind}: expected a string, found {shown(inner)}"
    if kind == "N":
        return _number_problem(inner)
    if kind == "BOOL":
        return None if isinstance(inner, bool) else f"BOOL: expected true or false, found {shown(inner)}"
    if kind == "NULL":
        return None if inner is True else f"NULL: expected true, found {shown(inner)}"
    if kind in ("SS", "NS", "BS"):
        if not isinstance(inner, list) or not inner or len(set(map(repr, inner))) != len(inner):
            return f"{kind}: expected a non-empty list of distinct values"
        check = _number_problem if kind == "NS" else (lambda v: None if isinstance(v, str) else f"{shown(v)} is not a string")
        return next((p for p in map(check, inner) if p), None)
    if kind == "L" and isinstance(inner, list):
        return next((p for p in (_value_problem(v, depth + 1) for v in inner) if p), None)
    if kind == "M" and isinstance(inner, dict):
        return next((p for p in (_value_problem(v, depth + 1) for v in inner.values()) if p), None)
    return f"{shown(kind)} is not a DynamoDB type (S, N, B, BOOL, NULL, L, M, SS, NS, BS), or holds the wrong kind of value"


def typed_problem(typed: dict) -> str | None:
    """`<attribute>: <what is wrong>` for the first attribute DynamoDB could not store as written, or None."""
    for name, value in typed.items():
        if type(value) is dict and len(value) == 1 and type(value.get("S")) is str:
            continue  # a string: nearly every attribute here
        problem = _value_problem(value, 1)
        if problem:
            return f"{location([name])}: {problem}"
    return None


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for element in value:
            yield from _strings(element)


def item_problem(item: dict, line_bytes: int) -> str | None:
    """The first way a plain item breaks the item contract or a text rule, or None.

    The item type is the one its pk names (the item schema's types exclude each other by
    pk), so a problem is worded for that type (`user_handle: … is not a handle`) rather
    than as "matches none of the types". The 400 KB check runs only for a line longer than
    the limit: an item's size is never above the length of its typed JSON line.
    """
    pk = item.get("pk")
    branch = next((name for prefix, name in _BRANCHES if isinstance(pk, str) and pk.startswith(prefix)), None)
    if branch is None:
        return f"pk: {shown(pk)} is not the key of an item type of this table (GRP#, MSG#, CLAIM#, MIGRATION, LOCK#)"
    for name, value in item.items():  # first, so a text gets the words every other write path gives it
        rule = _TEXT_RULES.get(name, validate.plain_text_problem)
        # nearly every attribute is one string: checked without the walk
        problem = rule(value) if type(value) is str else next((p for p in map(rule, _strings(value)) if p), None)
        if problem:
            return f"{location([name])}: {problem}"
    problem = contract.first_problem("item", item, branch)
    if problem is None and line_bytes > contract.MAX_ITEM_BYTES:
        problems = contract.item_problems(item)  # the size check
        problem = problems[-1] if problems else None
    return problem


def is_lock(item: dict) -> bool:
    """A seed's or migrate's lease lock: never restored (its run does not run in the restored table)."""
    return str(item.get("pk", "")).startswith(LOCK_PREFIX)


class Conversations:
    """The cross-item contract, checked one item at a time as an export is read.

    Memory: the two participants of each conversation and the time of each group item,
    whatever the number of messages. `groups` (conversation → owner → sk) is what an import
    into a live table compares with the table's own group items.
    """

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, ...]] = {}
        self.groups: dict[str, dict[str, str]] = {}
        self.group_items = 0
        self.lacking: dict[str, int] = {}  # per attribute a migration adds: group items without it

    def add(self, item: dict) -> str | None:
        """Take one plain item (already contract-checked); the rule it breaks, as a line, or None."""
        pk = item["pk"]
        if pk.startswith(GROUP_PREFIX):
            return self._group_item(pk[len(GROUP_PREFIX) :], item)
        if pk.startswith(MESSAGE_PREFIX):
            return self.join(pk[len(MESSAGE_PREFIX) :], (item["user_uuid"],), "the sender of a message")
        if pk.startswith(GROUP_CLAIM_PREFIX):
            users = tuple(item["user_uuids"])
            if users[0] == users[1]:
                return "user_uuids: names one user twice: a conversation is between two users"
            return self.join(pk[len(GROUP_CLAIM_PREFIX) :], users, "the conversation's claim")
        if pk.startswith(PAIR_CLAIM_PREFIX):
            first, second = pk[len(PAIR_CLAIM_PREFIX) :].split("#")
            if not first < second:
                return "pk: a pair claim names two different users in sorted order"
            return self.join(item["group_uuid"], (first, second), "a pair claim")
        return None

    def _group_item(self, owner: str, item: dict) -> str | None:
        group, other = item["message_group_uuid"], item["user_uuid"]
        if owner == other:
            return "user_uuid: is the owner's own uuid: a conversation is between two users"
        owners = self.groups.setdefault(group, {})
        if owner in owners:
            return (
                f"user {owner} has a second group item for conversation {group} (the other at {owners[owner]}): "
                "a user has one group item per conversation"
            )
        owners[owner] = item["sk"]
        self.group_items += 1
        for attribute in MIGRATION_ATTRIBUTES.values():
            if attribute not in item:
                self.lacking[attribute] = self.lacking.get(attribute, 0) + 1
        return self.join(group, (owner, other), "a group item")

    def join(self, group: str, users: tuple[str, ...], named_by: str) -> str | None:
        """Add `users` to the conversation's participants; the third one is refused."""
        known = self.people.get(group, ())
        joined = tuple(dict.fromkeys(known + users))
        if len(joined) > 2:
            third = next(user for user in users if user not in known)
            return (
                f"{named_by} makes {third} a third participant of conversation {group}, "
                f"which is between {known[0]} and {known[1]}: a conversation is between exactly two users"
            )
        self.people[group] = joined
        return None


@dataclass(frozen=True)
class HistoryChange:
    """How a migration's history item is restored differently from how it was exported, and why."""

    version: int
    state: str  # as restored
    reason: str


def restored_history(item: dict, conversations: Conversations) -> tuple[dict, HistoryChange | None]:
    """The history item to write for an exported one (plain), and what changed, if anything."""
    restored = {name: value for name, value in item.items() if name != "checkpoint"}
    version, state = int(item["version"]), item["state"]
    attribute = MIGRATION_ATTRIBUTES.get(version)
    lacking = conversations.lacking.get(attribute, 0) if attribute else 0
    if state == "applied" and lacking:
        restored["state"] = "applying"
        restored.pop("applied_at", None)
        why = f"{lacking} group item(s) of the export lack {attribute} (the export ran while the migration did)"
        return restored, HistoryChange(version, "applying", why)
    if "checkpoint" in item:
        return restored, HistoryChange(version, state, "its checkpoint, a scan position in the exported table, is dropped")
    return restored, None
