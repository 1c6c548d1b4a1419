"""model.cost refuses what it cannot price, in one bounded line (issue 22, item 2).

The traffic file is read to a size cap, its YAML may not alias, nest or repeat keys, its
numbers are finite and in range, an error line shows at most an excerpt of a value, and
`--chart` never replaces a file (or follows a link) unless told to with `--force`.
"""

import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ddb.core.errors import InvalidInput
from ddb.data import model
from ddb.modeling import pricing
from ddb.seed import stamping

from .support import ROOT

PRICES = pricing.Prices(0.125, 0.625, 0.00013, 0.00065, 0.25, "2026-11-26", "us-east-1")
EXAMPLE = (ROOT / "docs" / "traffic.example.yaml").read_text()


def _refusal(tmp_path, content: str | bytes) -> str:
    path = tmp_path / "traffic.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InvalidInput) as refused:
        pricing.read_traffic(path)
    prefix = f"{path}: "
    assert str(refused.value).startswith(prefix), refused.value
    return str(refused.value)[len(prefix) :]


# ------------------------------------------------------------------ size and structure


def test_a_traffic_file_of_64_kb_is_read_and_one_byte_more_is_refused(tmp_path):
    path = tmp_path / "traffic.yaml"
    path.write_text(EXAMPLE + "#" * (64 * 1024 - len(EXAMPLE.encode()) - 1) + "\n")
    assert pricing.read_traffic(path).rates["A"] == 200
    path.write_text(EXAMPLE + "#" * (64 * 1024 - len(EXAMPLE.encode())) + "\n")
    assert _refusal(tmp_path, path.read_bytes()) == "more than 64 KB: a traffic file is a few lines"


def test_yaml_anchors_and_aliases_are_refused_at_their_place_so_billion_laughs_never_expands(tmp_path):
    laughs = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    laughs += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)]
    content = "\n".join(laughs) + "\npatterns: {create-message: *i}\n"
    assert _refusal(tmp_path, content) == "line 1 column 4: anchors and aliases are not allowed in a traffic file"
    content = "patterns: {create-message: 1, stream: *a}\n"
    assert _refusal(tmp_path, content) == "line 1 column 39: anchors and aliases are not allowed in a traffic file"


def test_nesting_deeper_than_a_traffic_file_goes_is_refused_before_it_is_walked(tmp_path):
    content = "patterns: {create-message: " + "[" * 5000 + "]" * 5000 + "}\n"
    assert _refusal(tmp_path, content) == (
        "line 1 column 30: nested deeper than a traffic file goes (a mapping of mappings of numbers)"
    )


def test_a_traffic_file_of_more_values_than_its_keys_allow_is_refused_before_it_is_walked(tmp_path):
    content = "patterns: {" + ", ".join(f"p{n}: {n}" for n in range(200)) + "}\n"
    assert _refusal(tmp_path, content) == "line 1 column 879: more than 200 values: a traffic file has about 30"


@pytest.mark.parametrize(
    "content, line",
    [
        (
            "patterns: {create-message: 1}\npeak_factor: 2\npatterns: {create-message: 2}\n",
            "line 3 column 1: duplicate key 'patterns' (first on line 1)",
        ),
        (
            "patterns:\n  create-message: 1\n  get-conversation: 3\n  create-message: 900\n",
            "line 4 column 3: duplicate key 'create-message' (first on line 2)",
        ),
        ("patterns: {1: 2, 1.0: 3}\n", "line 1 column 18: duplicate key 1.0 (first on line 1)"),
    ],
)
def test_a_duplicate_key_is_refused_naming_the_key_and_its_line(tmp_path, content, line):
    assert _refusal(tmp_path, content) == line


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    "content, line",
    [
        ("patterns: {create-message: .inf}\n", "patterns.create-message: inf is not a finite number"),
        ("patterns: {create-message: -.inf}\n", "patterns.create-message: -inf is not a finite number"),
        ("patterns: {create-message: .nan}\n", "patterns.create-message: nan is not a finite number"),
        ("patterns: {create-message: 1e999}\n", "patterns.create-message: inf is not a finite number"),
        ("patterns: {create-message: 1e308}\n", "patterns.create-message: 1e+308 is out of range: from 0 to 1e+12"),
        ("patterns: {stream: -1}\n", "patterns.stream: -1 is out of range: from 0 to 1e+12"),
        ("patterns: {stream: " + "9" * 300 + "}\n", "patterns.stream: a 300-digit number is out of range: from 0 to 1e+12"),
        ("patterns: {stream: " + "9" * 5000 + "}\n", "patterns.stream: a 5000-digit number is out of range: from 0 to 1e+12"),
        ("patterns: {stream: true}\n", "patterns.stream: True is not a number"),
        ("patterns: {stream: '5'}\n", "patterns.stream: '5' is not a number"),
        ("patterns: {stream: [5]}\n", "patterns.stream: a list is not a number"),
        ("patterns: {stream: {rate: 5}}\n", "patterns.stream: a mapping is not a number"),
        ("patterns: {stream: }\n", "patterns.stream: None is not a number"),
        ("patterns: {stream: 1}\npeak_factor: 1e6\n", "peak_factor: 1e+06 is out of range: from 1 to 1000"),
        ("patterns: {stream: 1}\nhot_share: 1.5\n", "hot_share: 1.5 is out of range: from 0 to 1"),
        ("patterns: {stream: 1}\nstorage_gb: 1e10\n", "storage_gb: 1e+10 is out of range: from 0 to 1e+09"),
        (
            "patterns: {stream: 1}\npage_sizes: {get-conversation: 2.5}\n",
            "page_sizes.get-conversation: 2.5 is not a whole number",
        ),
        ("patterns: {stream: 1}\npage_sizes: [20]\n", "page_sizes: expected a mapping of {<pattern>: <items per page>}"),
    ],
)
def test_a_number_that_is_not_finite_and_in_range_is_refused_naming_its_key(tmp_path, content, line):
    assert _refusal(tmp_path, content) == line


def test_the_largest_rates_the_file_allows_still_price_a_finite_month(tmp_path, repo_fixtures):
    path = tmp_path / "traffic.yaml"
    names = [p.name for p in model.PATTERNS]
    path.write_text("patterns: {" + ", ".join(f"{n}: 1e12" for n in names) + "}\npeak_factor: 1000\nstorage_gb: 1e9\n")
    month = pricing.price(stamping.sample_items(repo_fixtures), pricing.read_traffic(path), PRICES)["month"]
    assert math.isfinite(month["on_demand"]) and math.isfinite(month["provisioned"])


def test_a_month_that_overflows_is_refused_for_traffic_built_in_code(repo_fixtures):
    with pytest.raises(InvalidInput) as refused:
        pricing.price(stamping.sample_items(repo_fixtures), pricing.Traffic({"A": 1e300, "C": 1e300}, peak_factor=1e10), PRICES)
    assert str(refused.value) == "the month's provisioned capacity is not a finite number: lower the rates or the peak"


# ------------------------------------------------------------------ short excerpts


@pytest.mark.parametrize(
    "content, line",
    [
        ("patterns: {stream: " + "x" * 10_000 + "}\n", "patterns.stream: " + repr("x" * 40) + "… is not a number"),
        (
            "patterns:\n  ? " + "x" * 10_000 + "\n  : 1\n",
            "patterns." + repr("x" * 40) + "…: unknown pattern: the patterns are "
            "get-conversation, list-conversations, create-message, create-conversation, stream",
        ),
        (
            "patterns: {}\n? " + "k" * 10_000 + "\n: 1\n",
            "unknown key " + repr("k" * 40) + "…: the keys are patterns, page_sizes, peak_factor, hot_share, storage_gb",
        ),
        ("patterns: {}\n1: 2\nzz: 3\n", "unknown key 1: the keys are patterns, page_sizes, peak_factor, hot_share, storage_gb"),
        (
            "patterns: {stream: !!python/name:" + "o" * 10_000 + " }\n",
            "line 1 column 20: invalid YAML: "
            + ("could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:" + "o" * 80)[:80]
            + "…",
        ),
        ("patterns: {stream: 1}\n\x00\n", "character 23: invalid YAML: special characters are not allowed (#x0000)"),
        (
            "patterns: {stream: 1}\n---\npatterns: {}\n",
            "line 2 column 1: invalid YAML: expected a single document in the stream but found another document",
        ),
    ],
)
def test_an_error_line_shows_only_a_short_excerpt_of_what_the_file_holds(tmp_path, content, line):
    assert _refusal(tmp_path, content) == line


# ------------------------------------------------------------------ every input: a finite month or one line

_RAW = (".inf", "-.inf", ".nan", "1e308", "1e999", "1e12", "0x1f", "0o17", "1_000", "1:30", "~", "&a 1", "*a", "!!binary aGk=")
_NAMES = [p.name for p in model.PATTERNS]
_KEYS = st.sampled_from(["patterns", "page_sizes", "peak_factor", "hot_share", "storage_gb", *_NAMES])
_NUMBERS = (
    st.integers(min_value=-(10**400), max_value=10**400)
    | st.integers(min_value=0, max_value=10**13)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=0, max_value=1e13)
    | st.sampled_from(_RAW)
)
_SCALARS = st.none() | st.booleans() | st.text(max_size=50) | _NUMBERS
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=10), inner, max_size=6),
    max_leaves=20,
)
# Files of the right shape, numbers anywhere (most price), and files of any shape (most are refused).
_MOSTLY_IN_RANGE = st.integers(min_value=0, max_value=1000) | st.floats(min_value=0, max_value=1) | _NUMBERS
_SHAPED = st.fixed_dictionaries(
    {"patterns": st.dictionaries(st.sampled_from(_NAMES), _MOSTLY_IN_RANGE)},
    optional={
        "page_sizes": st.dictionaries(st.sampled_from(["get-conversation", "list-conversations"]), _MOSTLY_IN_RANGE),
        "peak_factor": _MOSTLY_IN_RANGE,
        "hot_share": _MOSTLY_IN_RANGE,
        "storage_gb": _MOSTLY_IN_RANGE,
    },
)
_ANY_SHAPE = st.dictionaries(_KEYS, _VALUES, max_size=6) | st.fixed_dictionaries({"patterns": st.dictionaries(_KEYS, _VALUES)})


def _yaml_text(document) -> str:
    """The document as YAML, with the raw tokens of `_SCALARS` left unquoted as written."""
    try:
        text = yaml.safe_dump(document, allow_unicode=True, width=1_000_000)
    except (yaml.YAMLError, UnicodeEncodeError):
        text = repr(document)
    for raw in _RAW:
        text = text.replace(f"'{raw}'", raw)
    return text


def _priced_or_refused_in_one_line(path, items, document) -> bool:
    """True if `document`, written as a traffic file, prices a finite month; False if it is refused in one short line."""
    path.write_text(_yaml_text(document), encoding="utf-8", errors="surrogatepass")
    try:
        answer = pricing.price(items, pricing.read_traffic(path), PRICES)
    except InvalidInput as refused:
        line = str(refused)
        assert "\n" not in line and len(line) <= len(str(path)) + 220, line
        return False
    month = answer["month"]
    assert math.isfinite(month["on_demand"]) and math.isfinite(month["provisioned"]), month
    return True


@given(_SHAPED)
def test_a_traffic_file_of_any_numbers_prices_a_finite_month_or_refuses_one_in_one_line(tmp_path, repo_fixtures, document):
    _priced_or_refused_in_one_line(tmp_path / "traffic.yaml", stamping.sample_items(repo_fixtures), document)


@given(_ANY_SHAPE)
def test_a_yaml_document_of_any_shape_prices_a_finite_month_or_is_refused_in_one_line(tmp_path, repo_fixtures, document):
    _priced_or_refused_in_one_line(tmp_path / "traffic.yaml", stamping.sample_items(repo_fixtures), document)
