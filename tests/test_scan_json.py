"""`invoke scan --json` reads items straight from the answer's body: the same JSON Lines as botocore's way.

The old way is botocore's parser (the Scan output shape) and then `scan_items`'s plain items,
each `json.dumps(item, ensure_ascii=False)`. The property test builds answers of typed items
of every DynamoDB type and compares the two texts exactly; binary values, which the old way
could not print at all, come out as their base64 text.
"""

import base64
import io
import json
import sys
from decimal import Decimal

import botocore.session
import pytest
from botocore.parsers import create_parser
from hypothesis import given
from hypothesis import strategies as st

from commands import output
from ddb.bulk import scan_json
from ddb.bulk.scan import scan_items
from ddb.data.items import to_typed

from .support import TABLE

_SCAN_OUTPUT = botocore.session.get_session().get_service_model("dynamodb").operation_model("Scan").output_shape


def botocore_page(body: dict) -> dict:
    """What `client.scan` returns for this answer body: botocore's own parse."""
    answer = {"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}
    return create_parser("json").parse(answer, _SCAN_OUTPUT)


class Answers:
    """A stand-in client whose scan gives botocore's parse of the bodies, one a page, in turn."""

    def __init__(self, bodies: list[dict]):
        self.bodies = bodies

    def scan(self, TableName, ExclusiveStartKey=None, **_):
        number = int(ExclusiveStartKey["page"]["N"]) if ExclusiveStartKey else 0
        return botocore_page(self.bodies[number])


def old_lines(pages_of_items: list[list[dict]]) -> str:
    """The old `scan --json`: botocore's parse, `scan_items`'s plain items, one json.dumps a line."""
    bodies = [
        {"Items": items, **({"LastEvaluatedKey": {"page": {"N": str(n + 1)}}} if n + 1 < len(pages_of_items) else {})}
        for n, items in enumerate(pages_of_items)
    ]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in scan_items(Answers(bodies), TABLE))


def numbers() -> st.SearchStrategy[str]:
    """Numbers as DynamoDB sends them: up to 38 significant digits, exponents within its range, every spelling."""
    whole = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1).map(str)
    digits = st.integers(min_value=0, max_value=10**20).map(str)
    scaled = st.builds(
        lambda sign, d, exponent, form: form(Decimal(f"{sign}{d}E{exponent}")),
        st.sampled_from(["", "-"]),
        digits,
        st.integers(min_value=-100, max_value=100),
        st.sampled_from([str, lambda d: f"{d:f}", lambda d: f"{d:e}"]),
    )
    readable = scaled.filter(lambda text: len(Decimal(text).as_tuple().digits) <= 38)  # more: boto3 refuses them
    return st.one_of(whole, readable, st.sampled_from(["0", "-0", "0.10", "1E+2", "1e-130", "9.9E+125", "100.000"]))


_text = st.text(max_size=30)
_bytes = st.binary(max_size=20)


def typed_values(binary: bool) -> st.SearchStrategy[dict]:
    """AttributeValues of every type (B and BS only with `binary`), nested through L and M, as the body has them."""
    scalars: list[st.SearchStrategy[dict]] = [
        _text.map(lambda s: {"S": s}),
        numbers().map(lambda n: {"N": n}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.lists(_text, min_size=1, max_size=5, unique=True).map(lambda v: {"SS": v}),
        st.lists(numbers(), min_size=1, max_size=5).map(lambda v: {"NS": list(dict.fromkeys(v))}),
    ]
    if binary:
        b64 = _bytes.map(lambda b: base64.b64encode(b).decode())
        scalars += [b64.map(lambda b: {"B": b}), st.lists(b64, min_size=1, max_size=4, unique=True).map(lambda v: {"BS": v})]
    return st.recursive(
        st.one_of(scalars),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda v: {"L": v}),
            st.dictionaries(_text, inner, max_size=4).map(lambda v: {"M": v}),
        ),
        max_leaves=8,
    )


def typed_items(binary: bool = False) -> st.SearchStrategy[dict]:
    keys = st.fixed_dictionaries({"pk": _text.map(lambda s: {"S": s}), "sk": _text.map(lambda s: {"S": s})})
    return st.builds(lambda key, rest: {**key, **rest}, keys, st.dictionaries(_text, typed_values(binary), max_size=4))


def without_binaries(typed: dict) -> dict:
    """The item with each binary as the text the new way prints for it: B as base64 S, BS as an SS of them."""
    kind, value = next(iter(typed.items()))
    if kind == "B":
        return {"S": value}
    if kind == "BS":
        return {"SS": value}
    if kind == "L":
        return {"L": [without_binaries(v) for v in value]}
    if kind == "M":
        return {"M": {k: without_binaries(v) for k, v in value.items()}}
    return typed


@given(st.lists(st.lists(typed_items(), max_size=4), min_size=1, max_size=3))
def test_items_read_from_the_body_print_as_botocores_way_prints_them(pages_of_items):
    new = "".join(scan_json.page_text(items) for items in pages_of_items)
    assert new == old_lines(pages_of_items)


@given(st.lists(typed_items(binary=True), min_size=1, max_size=3))
def test_binaries_print_as_their_base64_text(items):
    plain_twin = [{name: without_binaries(value) for name, value in item.items()} for item in items]
    assert scan_json.page_text(items) == old_lines([plain_twin])
    # botocore's parse hands binaries over as bytes: the same text again
    assert scan_json.page_text(botocore_page({"Items": items})["Items"]) == scan_json.page_text(items)


def _every_type() -> list[dict]:
    text = "ünï \x1b[2J \u2028 " + "lorem ipsum " * 3000  # about 36 kB: 40 items make pages of 1 MB on moto
    plain = {"message": text, "n": 7, "f": Decimal("1.5"), "big": 10**30, "ok": True, "none": None}
    plain |= {"tags": {"b", "a"}, "scores": {Decimal(3), Decimal("0.25")}, "nested": {"l": [1, "x", {"m": False}]}}
    return [to_typed({"pk": f"P#{n % 7}", "sk": f"{n:05d}", **plain}) for n in range(40)]


def test_a_real_client_prints_what_it_printed_before(client, table):
    for item in _every_type():
        client.put_item(TableName=TABLE, Item=item)
    before = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in scan_items(client, TABLE))
    texts = list(scan_json.json_lines(client, TABLE))
    assert len(texts) >= 2  # more than one page, each one text
    assert "".join(texts) == before
    lines = before.split("\n")  # not splitlines(): a U+2028 in a value is no line end in JSON Lines
    assert "".join(scan_json.json_lines(client, TABLE, limit=5)) == "\n".join(lines[:5]) + "\n"
    parallel = "".join(scan_json.json_lines(client, TABLE, segments=3)).split("\n")
    assert sorted(parallel) == sorted(lines)


def test_a_binary_attribute_prints_as_base64_where_it_used_to_fail(client, table):
    client.put_item(TableName=TABLE, Item={"pk": {"S": "P"}, "sk": {"S": "1"}, "blob": {"B": b"\x00\xff"}})
    [line] = "".join(scan_json.json_lines(client, TABLE)).split("\n")[:-1]
    assert json.loads(line) == {"pk": "P", "sk": "1", "blob": "AP8="}
    # the hook is gone afterwards: the client's own scan is botocore's parse again (binaries as bytes)
    assert client.scan(TableName=TABLE)["Items"][0]["blob"] == {"B": b"\x00\xff"}


@pytest.mark.parametrize("limit", [0, -1])
def test_no_items_are_asked_for_when_the_limit_is_not_positive(limit):
    assert list(scan_json.json_lines(None, TABLE, limit=limit)) == []


class Sips(io.RawIOBase):
    """An unbuffered stdout's raw file that takes at most 1,000 bytes a write, as a pipe being drained does."""

    def __init__(self):
        self.taken = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.taken += bytes(data[:1000])
        return min(len(data), 1000)


def test_a_page_reaches_an_unbuffered_stdout_whole_however_little_each_write_takes(monkeypatch):
    raw = Sips()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8", write_through=True))  # type: ignore[type-var]
    pages = [scan_json.page_text([{"pk": {"S": f"ü{n}" * 500}}]) for n in range(5)]
    output.print_texts(iter(pages))
    sys.stdout.flush()
    assert raw.taken.decode() == "".join(pages)
