"""The names of the AWS clients the library is handed (`target.client` makes them), and of what they take and give.

boto3 builds its clients at run time and the pinned set carries no stubs for them, so
each name stands for `Any`: a signature says which service it expects, and mypy checks
everything around the calls. The wire dicts are named the same way: a request, a
response, an item in DynamoDB JSON or in plain values. The shapes the app sees are
TypedDicts (`ddb.data.items`).
"""

from typing import Any, TypeAlias

AwsClient: TypeAlias = Any  # a client of any service
DynamoDBClient: TypeAlias = Any
DynamoDBStreamsClient: TypeAlias = Any
CloudFormationClient: TypeAlias = Any
S3Client: TypeAlias = Any

Request: TypeAlias = dict[str, Any]  # the keyword arguments of a call: `client.query(**request)`
Response: TypeAlias = dict[str, Any]  # what a call returns
TypedItem: TypeAlias = dict[str, Any]  # an item or key in DynamoDB JSON: {"pk": {"S": "GRP#…"}}
PlainItem: TypeAlias = dict[str, Any]  # an item or key in plain values: {"pk": "GRP#…"}
