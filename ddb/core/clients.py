"""The names of the AWS clients the library is handed (`target.client` makes them).

boto3 builds its clients at run time and the pinned set carries no stubs for them, so
each name stands for `Any`: a signature says which service it expects, and mypy checks
everything around the calls.
"""

from typing import Any, TypeAlias

AwsClient: TypeAlias = Any  # a client of any service
DynamoDBClient: TypeAlias = Any
DynamoDBStreamsClient: TypeAlias = Any
CloudFormationClient: TypeAlias = Any
S3Client: TypeAlias = Any
