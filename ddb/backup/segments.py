"""How many parallel segments a scan of a whole table takes by default: by the table's size and the engine serving it.

- **moto** serves one request at a time and reads the whole table for every page, so more
  segments only add requests: 1.
- **DynamoDB Local** serves segments in parallel. One segment per LOCAL_SEGMENT_BYTES of the
  table (DescribeTable's TableSizeBytes, exact there), at most LOCAL_MOST: past that its
  threads and this process share the same few cores: on two cores `invoke export` of 51,500
  items (16 MB) took 5.1-6.9 s with 8 segments, 6.4-7.4 s with 4, 6.0-9.4 s with 2 and
  11.6-18.9 s with 1 (a loaded machine), and 8 held 101-105 MB at its peak against 4's 83-84.
- **DynamoDB** serves segments in parallel from many partitions: one per AWS_SEGMENT_BYTES,
  at most AWS_MOST (TableSizeBytes is refreshed about every six hours: close enough).
- **Any other engine** (moto started by hand, an emulator): 1, as before there was a choice.

The engine is known by what it says of itself: DynamoDB Local's ARNs name the region
`ddblocal`, and AWS answers at `*.amazonaws.com`. A table under one segment's share is one
segment everywhere: its scan is a page or two, and threads would cost more than they save.
"""

from urllib.parse import urlsplit

from ddb.core.clients import DynamoDBClient

LOCAL_ARN_REGION = "ddblocal"  # DynamoDB Local's ARNs: arn:aws:dynamodb:ddblocal:000000000000:table/...

LOCAL_SEGMENT_BYTES = 1024 * 1024  # DynamoDB Local: a segment per MiB of items (a 1 MB page or two each)
LOCAL_MOST = 4
AWS_SEGMENT_BYTES = 64 * 1024 * 1024
AWS_MOST = 16

MOTO_OR_OTHER, DYNAMODB_LOCAL, AWS = "moto or another engine", "DynamoDB Local", "DynamoDB"


def engine_of(client: DynamoDBClient, description: dict) -> str:
    """Which engine serves the described table: DYNAMODB_LOCAL, AWS or MOTO_OR_OTHER."""
    if str(description.get("TableArn") or "").split(":")[3:4] == [LOCAL_ARN_REGION]:
        return DYNAMODB_LOCAL
    host = urlsplit(str(client.meta.endpoint_url or "")).hostname or ""
    return AWS if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) else MOTO_OR_OTHER


def for_table(engine: str, size_bytes: int) -> int:
    """The default segments of a scan of a table of `size_bytes` served by `engine` (see the module's docstring)."""
    if engine == DYNAMODB_LOCAL:
        share, most = LOCAL_SEGMENT_BYTES, LOCAL_MOST
    elif engine == AWS:
        share, most = AWS_SEGMENT_BYTES, AWS_MOST
    else:
        return 1
    return max(1, min(most, int(size_bytes) // share))


def default_segments(client: DynamoDBClient, description: dict) -> int:
    """The default segments of a scan of the described table through `client`."""
    return for_table(engine_of(client, description), int(description.get("TableSizeBytes") or 0))
