"""Three changes the embedded moto engine makes to moto's DynamoDB, each for the same answers sooner.

`moto_server.py` applies them in the engine's own process, never in the toolkit's or in
the tests' `mock_aws`. Measured on 20,300 items (`bench/seed_process.py`): a consistent
scan of every key took 5.0 s of the engine's time before and 2.1 s after.

- **Sort by plain values.** moto sorts the whole table for every Scan page and every
  Query (`Table.all_items`), comparing DynamoType objects whose every comparison
  converts both sides again. Sorting by each key's converted value, computed once per
  item, gives the same order (a key attribute has one type in a table) at a fraction.
- **Write read answers directly.** moto turns a Scan or Query answer into JSON by walking
  botocore's output shape, member by member, for every attribute of every item: half the
  time of a scan. An answer that holds only items, counts and a LastEvaluatedKey is
  written as the same JSON directly (binary values base64, as the shape walk writes them);
  any other answer (ConsumedCapacity asked for, an error) still takes moto's own way.
- **Free a dropped table at once.** A table with a stream and its stream shard refer to
  each other, so dropping one left all its items to Python's cycle collector, which then
  ran during the next requests (a seed after a big drop took 0.3 s longer). A DeleteTable
  now collects before it answers.

Each is held equal to moto's own behaviour by tests (tests/test_moto_speedups.py), and
each is skipped when the installed moto lacks what it replaces.
"""

import base64
import gc
import json
from typing import Any

# The answer members written directly; anything else goes through moto's serializer.
PLAIN_READ = frozenset({"Items", "Count", "ScannedCount", "LastEvaluatedKey"})
READS = ("Scan", "Query")


def apply() -> list[str]:
    """Make the three changes to the installed moto; the names of those made."""
    made = []
    for name, change in (
        ("sort by plain values", _sort_plainly),
        ("direct read answers", _answer_directly),
        ("free dropped tables", _collect_on_drop),
    ):
        try:
            change()
        except (ImportError, AttributeError):  # a moto without what the change replaces: keep moto's own
            continue
        made.append(name)
    return made


def all_items(table: Any) -> list:
    """Every item of a moto table, in key order: `Table.all_items` with a cheaper sort key."""
    items = []
    for stored in table.items.values():
        if table.range_key_attr:
            items.extend(stored.values())
        else:
            items.append(stored)
    if table.range_key_attr:
        return sorted(items, key=lambda item: (item.hash_key.cast_value, item.range_key.cast_value))
    return sorted(items, key=lambda item: item.hash_key.cast_value)


def read_answer(result: Any) -> str | None:
    """The JSON of a Scan or Query answer holding only items, counts and a key; None for any other."""
    if not isinstance(result, dict) or not result.keys() <= PLAIN_READ:
        return None
    body: dict[str, Any] = {}
    for member, value in result.items():
        if member == "Items":
            body[member] = [_attributes(item) for item in value]
        elif member == "LastEvaluatedKey":
            body[member] = _attributes(value)
        else:
            body[member] = int(value)
    return json.dumps(body)


def _attributes(item: dict) -> dict:
    return {name: _value(value) for name, value in item.items()}


def _value(typed: dict) -> dict:
    """One attribute value as the wire writes it (moto hands binary values over as bytes)."""
    ((kind, value),) = typed.items()
    if kind == "B":
        return {kind: _base64(value)}
    if kind == "BS":
        return {kind: [_base64(v) for v in value]}
    if kind == "M":
        return {kind: {name: _value(v) for name, v in value.items()}}
    if kind == "L":
        return {kind: [_value(v) for v in value]}
    return {kind: value}


def _base64(value: str | bytes) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def _sort_plainly() -> None:
    from moto.dynamodb.models.table import Table

    Table.all_items = all_items  # type: ignore[method-assign,assignment]


def _answer_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.responses import DynamoResult

    stock = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in READS and issubclass(context.serializer_class, BaseJSONSerializer):
            body = read_answer(self.result)
            if body is not None:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return stock(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _collect_on_drop() -> None:
    from moto.dynamodb.responses import DynamoHandler

    stock = DynamoHandler.delete_table

    def delete_table(self: Any) -> Any:
        answer = stock(self)
        gc.collect()  # the table and its stream shard refer to each other: free them now
        return answer

    DynamoHandler.delete_table = delete_table  # type: ignore[method-assign]
