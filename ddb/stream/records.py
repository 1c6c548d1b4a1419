"""Stream records: what one DynamoDB stream record says, checked without a request.

`parse_record` turns one record into the message it inserts (or None when it is not a
new message) and raises `MalformedRecord` for a record that can never apply (a poison
record: no sort key, no text, no conversation uuid, not even a dict). `sequence_number`
and `identifier` name a record in reports, dead letters and Lambda's partial-batch answer
(`BatchResponse`).
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict

from ddb.core.clients import TypedItem
from ddb.core.errors import MalformedRecord
from ddb.data import contract
from ddb.data.items import MESSAGE_PREFIX

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
_TYPE_NAMES = {
    "S": "a string",
    "N": "a number",
    "B": "binary",
    "BOOL": "a boolean",
    "NULL": "null",
    "M": "a map",
    "L": "a list",
    "SS": "a string set",
    "NS": "a number set",
    "BS": "a binary set",
}


StreamRecord = dict[str, Any]  # one record as Lambda's event or `get_records` gives it


class InsertedMessage(TypedDict):
    """The message a stream record inserts (`parse_record`): the key of its item and its text."""

    pk: str
    sk: str
    message: str


class BatchItemFailure(TypedDict):
    """One record Lambda is to retry, by its sequence number."""

    itemIdentifier: str


class BatchResponse(TypedDict):
    """Lambda's partial-batch response (`ddb.stream.lambda_handler`)."""

    batchItemFailures: list[BatchItemFailure]


@dataclass(frozen=True)
class RecordFailure:
    """One record of a batch that was not applied, and why.

    `retryable` is False for a record that can never apply (malformed: retrying cannot
    help) and True for one that failed now and may succeed later (throttling, engine down).
    `identifier` is the sequence number, else the record's eventID, else `#<index>`.
    """

    index: int
    sequence_number: str | None
    identifier: str
    reason: str
    retryable: bool


def sequence_number(record: object) -> str | None:
    """The record's stream sequence number, or None when it has no usable one."""
    details = record.get("dynamodb") if isinstance(record, dict) else None
    number = details.get("SequenceNumber") if isinstance(details, dict) else None
    return number if isinstance(number, str) and number else None


def identifier(record: object, index: int) -> str:
    number = sequence_number(record)
    if number:
        return number
    event_id = record.get("eventID") if isinstance(record, dict) else None
    return event_id if isinstance(event_id, str) and event_id else f"#{index}"


@dataclass(frozen=True)
class _Shapes:
    pk: re.Pattern[str]
    sk: re.Pattern[str]
    text_limit: int


@cache
def _shapes() -> _Shapes:
    """What a message's pk, sk and text must look like, from the item contract."""
    item = contract.schema("item")["$defs"]
    properties = item["message_item"]["properties"]
    return _Shapes(re.compile(properties["pk"]["pattern"]), re.compile(properties["sk"]["pattern"]), item["text"]["maxLength"])


def _string(image: TypedItem, name: str) -> str:
    """The string attribute `name` of a typed image; MalformedRecord if it is missing or not a string."""
    if name not in image:
        raise MalformedRecord(f"the new item has no {name}")
    value = image[name]
    kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if kind != "S" or not isinstance(value[kind], str):
        found = _TYPE_NAMES.get(kind or "", "not a DynamoDB attribute value")
        raise MalformedRecord(f"the new item's {name} is {found}, not a string")
    text: str = value["S"]
    return text


def parse_record(record: object) -> InsertedMessage | None:
    """The message a stream record inserts, as {"pk", "sk", "message"}, or None when it inserts none.

    Pure: no request is sent. Anything but an INSERT of a `MSG#` item is None (a change,
    a delete, a group item written by a move). Raises MalformedRecord, naming what is
    wrong, for a record that can never apply.
    """
    if not isinstance(record, dict):
        raise MalformedRecord(f"the record is not an object (it is {type(record).__name__} {str(record)[:40]!r})")
    event = record.get("eventName")
    if event not in EVENT_NAMES:
        raise MalformedRecord(
            "the record has no eventName"
            if event is None
            else f"the record's eventName {str(event)[:40]!r} is none of {', '.join(EVENT_NAMES)}"
        )
    if event != "INSERT":
        return None
    details = record.get("dynamodb")
    if not isinstance(details, dict):
        raise MalformedRecord("the INSERT record has no dynamodb object")
    image = details.get("NewImage")
    if not isinstance(image, dict):
        raise MalformedRecord("the INSERT record has no NewImage (the stream's view type must be NEW_IMAGE)")
    pk = _string(image, "pk")  # every item of the table has a string pk
    if not pk.startswith(MESSAGE_PREFIX):
        return None  # a group item, or anything else that is not a message
    shapes = _shapes()
    if not shapes.pk.fullmatch(pk):
        raise MalformedRecord(f"the pk {pk[:60]!r} names no conversation uuid (expected {MESSAGE_PREFIX}<uuid>)")
    sk = _string(image, "sk")
    if not shapes.sk.fullmatch(sk):
        raise MalformedRecord(f"the sk {sk[:60]!r} is not a time like 2026-11-25T16:20:00.000000+00:00")
    text = _string(image, "message")
    if not text.strip():
        raise MalformedRecord("the message is blank")
    if len(text) > shapes.text_limit:
        raise MalformedRecord(f"the message is {len(text)} characters long, more than the limit of {shapes.text_limit}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRecord("the message is not valid Unicode text (a lone surrogate)") from None
    return {"pk": pk, "sk": sk, "message": text}
