"""The final check of a restore into a table the import made, where the engine counts exactly: the table's own count.

`ddb.backup.readback.count_stored` proves that every key of the export is in the table by
reading each back (BatchGetItem, 100 keys a call). On DynamoDB Local that read costs the
engine about as much as a fifth of the writes, and there DescribeTable's ItemCount is the
table's exact count at the moment it is asked (DynamoDB refreshes it about every six hours,
and moto's needs no help: it reads keys cheaply). So when the import created the table:

- the table was empty when the import made it, and nothing but the import knew of it;
- every one of the export's items went out as a put of its own key (the keys are distinct:
  validation checks it), and the batch writer counted each only once the engine had taken
  it (`BatchResult.put`, unprocessed items retried until stored, or the import fails);
- DescribeTable's ItemCount, asked after the last write, equals that number.

Then the table holds exactly the export's items: a missing one would take another item
nobody wrote in its place. Anything else (a put short, a count that differs) falls back to
reading every key back, which names what is missing exactly as before.
"""

from ddb.backup import segments
from ddb.core.clients import DynamoDBClient


def counts_exactly(client: DynamoDBClient, description: dict) -> bool:
    """True when the engine serving the described table gives its exact item count in DescribeTable (DynamoDB Local)."""
    return segments.engine_of(client, description) == segments.DYNAMODB_LOCAL


def holds_exactly(client: DynamoDBClient, description: dict, items: int, put: int) -> bool:
    """True when a table the import made, described after its writes, holds exactly the `items` it put (`put`).

    Only where the engine counts exactly (`counts_exactly`); False sends the caller to
    the read of each key.
    """
    if not counts_exactly(client, description) or put != items:
        return False
    return description.get("ItemCount") == items
