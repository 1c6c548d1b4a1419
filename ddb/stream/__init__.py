"""Pattern E: the table's stream keeps both group items of a conversation at its last message.

- `handler`: applies a batch of stream records (`handle_records`) and is the Lambda entry
  point, deployed as `ddb.stream.lambda_handler`;
- `moves`: a conversation's group items moved to a new message (conditional transactions);
- `records`: one stream record read as the message it inserts, or refused as a poison record;
- `reader`: the same handler fed from a local engine's stream (`invoke stream.process`).
- `follower`: the stream followed continuously, as Lambda's event source mapping does
  (`invoke stream.follow`): `shards` (their lineage), `batches` (bisection, dead letters)
  and `checkpoint` (how far it was applied, shared with `stream.process`).
"""

from ddb.stream.handler import StreamResult, batch_item_failures, handle_records, lambda_handler

__all__ = ["StreamResult", "batch_item_failures", "handle_records", "lambda_handler"]
