"""Opaque cursors of the item lists and queries: a key where the next page starts (DynamoDB's ExclusiveStartKey).

A cursor is the key's string attributes as base64url JSON; one that does not decode to
exactly the expected attribute names, each a short string, is refused in one line.
"""

import base64
import binascii
import json

from ddb.core.errors import BadCursor

MAX_VALUE_BYTES = 2048  # DynamoDB's partition key limit; sort keys are shorter


def encode(key: dict) -> str:
    """The cursor of a typed key ({"pk": {"S": ...}, ...})."""
    plain = {name: value["S"] for name, value in key.items()}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, names: set[str]) -> dict:
    """The typed key a cursor stands for; BadCursor unless its attributes are exactly `names`."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (
            isinstance(plain, dict)
            and set(plain) == names
            and all(isinstance(v, str) and 0 < len(v.encode()) <= MAX_VALUE_BYTES for v in plain.values())
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise BadCursor(f"malformed cursor {cursor[:40]!r}: follow the page's own next link")
    return {name: {"S": value} for name, value in plain.items()}
