"""Item sizes and capacity units by DynamoDB's published rules.

Local engines do not report real consumed capacity, so the project estimates it:
- item size: the UTF-8 bytes of every attribute name plus its value;
- reads: the items read, summed, rounded up to 4 KB units, halved when eventually consistent;
- writes: each item rounded up to 1 KB units, plus the same for each GSI write.
"""

import math
from decimal import Decimal

READ_UNIT = 4096
WRITE_UNIT = 1024


def _value_size(value) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = str(Decimal(str(value))).lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return 3 + sum(1 + _value_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode("utf-8")) + 1 + _value_size(v) for k, v in value.items())
    raise TypeError(f"no DynamoDB size rule for {type(value).__name__}")


def item_size(item: dict) -> int:
    """Bytes DynamoDB counts for a plain item (attribute names + values)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def read_units(items, consistent: bool = False) -> float:
    """Read capacity of one Query/Scan page that read `items`."""
    total = sum(item_size(i) for i in items)
    units = max(1, math.ceil(total / READ_UNIT))
    return units if consistent else units / 2


def write_units(item: dict) -> int:
    """Write capacity of putting one item into the table itself (no index)."""
    return max(1, math.ceil(item_size(item) / WRITE_UNIT))


def index_write_units(item: dict) -> int:
    """Write capacity the GSI adds for writing `item`: none when the item has no GSI key."""
    return write_units(item) if "message_group_uuid" in item else 0


def put_units(item: dict) -> int:
    """Write capacity of a plain PutItem of a new item, table and GSI."""
    return write_units(item) + index_write_units(item)


TRANSACTION_FACTOR = 2  # transactional writes cost two units per 1 KB (prepare + commit)


def transaction_units(puts=(), deletes=()) -> int:
    """Write capacity of a TransactWriteItems that puts and deletes these items (table and GSI)."""
    return TRANSACTION_FACTOR * sum(put_units(i) for i in [*puts, *deletes])
