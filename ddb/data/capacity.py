"""Item sizes and capacity units by DynamoDB's published rules.

moto does not report real consumed capacity, so the project estimates it (DynamoDB Local
does, and the tests hold this estimate equal to it):
- item size: the UTF-8 bytes of every attribute name plus its value (a number counts its
  significant base-100 digit pairs, aligned on the decimal point, plus one byte, plus one
  more when negative; a set counts its elements only: DynamoDB Local measures the same);
- reads: the items read, summed, rounded up to 4 KB units, halved when eventually consistent;
- writes: each item rounded up to 1 KB units, plus the same for each GSI write.
"""

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

AnyItem = Mapping[str, Any]  # an item this module only reads: a plain dict or a TypedDict of ddb.data.items

READ_UNIT = 4096
WRITE_UNIT = 1024


def _value_size(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        return _number_size(Decimal(str(value)))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if hasattr(value, "value") and isinstance(value.value, (bytes, bytearray)):  # boto3's Binary
        return len(value.value)
    if isinstance(value, (set, frozenset)):
        return sum(_value_size(v) for v in value)
    if isinstance(value, (list, tuple)):
        return 3 + sum(1 + _value_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode("utf-8")) + 1 + _value_size(v) for k, v in value.items())
    raise TypeError(f"no DynamoDB size rule for {type(value).__name__}")


def _number_size(number: Decimal) -> int:
    if number.is_zero():
        return 1
    sign, digits, exponent = number.normalize().as_tuple()
    if not isinstance(exponent, int):  # "n", "N", "F": NaN and infinity, which DynamoDB does not store
        raise TypeError(f"no DynamoDB size rule for {number}")
    if exponent % 2:  # align on the decimal point: pairs of digits either side of it
        digits, exponent = (*digits, 0), exponent - 1
    pairs = (len(digits) + 1) // 2
    return 1 + pairs + (1 if sign else 0)


def consumed(response: Mapping[str, Any]) -> float:
    """The capacity units a response reports (`ConsumedCapacity`: one entry, a list, or none), summed."""
    used = response.get("ConsumedCapacity") or []
    if isinstance(used, dict):
        used = [used]
    return sum(u.get("CapacityUnits", 0) or 0 for u in used)


def item_size(item: AnyItem) -> int:
    """Bytes DynamoDB counts for a plain item (attribute names + values)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def typed_item_size(item: AnyItem) -> int:
    """Bytes DynamoDB counts for an item in DynamoDB JSON (`{"S": ...}`), as a query returns it.

    Prefer it to `item_size` on plain items, which cannot tell a set from a list.
    """
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return item_size({name: deserializer.deserialize(value) for name, value in item.items()})


def read_units(items: Iterable[AnyItem], consistent: bool = False, typed: bool = False) -> float:
    """Read capacity of one Query/Scan page that read `items` (in DynamoDB JSON if `typed`)."""
    total = sum((typed_item_size if typed else item_size)(i) for i in items)
    units = max(1, math.ceil(total / READ_UNIT))
    return units if consistent else units / 2


def write_units(item: AnyItem) -> int:
    """Write capacity of putting one item into the table itself (no index)."""
    return max(1, math.ceil(item_size(item) / WRITE_UNIT))


def index_write_units(item: AnyItem) -> int:
    """Write capacity the GSI adds for writing `item`: none when the item has no GSI key."""
    return write_units(item) if "message_group_uuid" in item else 0


GSI_KEYS = ("message_group_uuid", "sk")  # the key of the table's one GSI (projection ALL)


def index_change_units(before: AnyItem | None, after: AnyItem | None, keys: tuple[str, ...] = GSI_KEYS) -> int:
    """Write capacity a GSI with key `keys` (projection ALL) spends when an item goes from `before` to `after`.

    DynamoDB's index rules: an item that enters the index is one put, one that leaves it
    one delete, one whose index key changes a delete and a put; one that stays with the
    same key is one write; an item outside the index before and after costs nothing.
    None stands for no item (a put of a new item, a delete).
    """
    was = before is not None and all(k in before for k in keys)
    now = after is not None and all(k in after for k in keys)
    if was and now and before is not None and after is not None:
        moved = any(before[k] != after[k] for k in keys)
        return write_units(before) + write_units(after) if moved else write_units(after)
    if was and before is not None:
        return write_units(before)
    if now and after is not None:
        return write_units(after)
    return 0


def put_units(item: AnyItem) -> int:
    """Write capacity of a plain PutItem of a new item, table and GSI."""
    return write_units(item) + index_write_units(item)


TRANSACTION_FACTOR = 2  # transactional writes cost two units per 1 KB on the table (prepare + commit)


def transaction_units(puts: Iterable[AnyItem] = (), deletes: Iterable[AnyItem] = ()) -> int:
    """Write capacity of a TransactWriteItems that puts and deletes these items.

    The table's item writes count double; the GSI's updates count as ordinary writes.
    (DynamoDB Local 3.3.1 reports only the doubled table part.)
    """
    written = [*puts, *deletes]
    return TRANSACTION_FACTOR * sum(write_units(i) for i in written) + sum(index_write_units(i) for i in written)
