"""An import's validation pass shares its per-item checks with a forked child, and still refuses what one process would.

The child checks the records `CHILD_SHARE` picks (3 of every 5: ordinals 0, 1, 2, 5, 6, 7, …);
this process checks the rest and every rule across items. Whatever the split, the line
refused is the first problem in reading order, worded as the one-process pass words it.
"""

import functools
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddb.backup import source as import_source
from ddb.backup.layout import ExportFormatError
from ddb.core.aside import Aside
from ddb.data import items as shapes

from .support import NOW, typed_items, write_export

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"
BELL = {"S": "bell \x07"}  # a text no write path takes: a per-item problem


def _childs(ordinal: int) -> bool:
    return import_source._childs(ordinal)


def _verdict(folder: Path) -> str:
    """The validation's outcome: the refusal's line, or the item count."""
    try:
        return f"ok {import_source.validate(import_source.open_source(folder))}"
    except ExportFormatError as refused:
        return str(refused)


def _one_process(monkeypatch) -> None:
    monkeypatch.setattr(import_source, "Aside", functools.partial(Aside, fork=False))


def _messages(items: list[dict], share) -> list[int]:
    return [i for i, item in enumerate(items) if item["pk"]["S"].startswith("MSG#") and share(i)]


def test_the_child_takes_three_records_of_every_five():
    assert [o for o in range(10) if _childs(o)] == [0, 1, 2, 5, 6, 7]


def test_a_per_item_problem_in_the_childs_share_before_a_repeated_key_in_this_processs_is_the_one_refused(
    client, seeded, tmp_path
):
    items = typed_items(client)
    early = _messages(items, _childs)[0]
    late = next(i for i in _messages(items, lambda o: not _childs(o)) if i > early)
    items[early]["message"] = BELL
    items[late] = {**items[late], "pk": items[early]["pk"], "sk": items[early]["sk"]}  # the same key again

    message = _verdict(write_export(tmp_path, items))

    assert message.startswith(f"{tmp_path}/AWSDynamoDB/01764000000000-0000abcd/data/crafted.json.gz:{early + 1}: message: ")


def test_a_repeated_key_in_this_processs_share_before_a_per_item_problem_in_the_childs_is_the_one_refused(
    client, seeded, tmp_path
):
    items = typed_items(client)
    first = _messages(items, lambda o: True)[0]
    again = next(i for i in _messages(items, lambda o: not _childs(o)) if i > first)
    late = next(i for i in _messages(items, _childs) if i > again)
    items[again] = {**items[again], "pk": items[first]["pk"], "sk": items[first]["sk"]}
    items[late]["message"] = BELL

    message = _verdict(write_export(tmp_path, items))

    assert message.endswith(f".json.gz:{again + 1}: the key {items[first]['pk']['S']}/{items[first]['sk']['S']} is there twice")


def test_an_item_of_the_childs_share_without_its_keys_is_refused_by_its_rule_not_a_traceback(client, seeded, tmp_path):
    items = typed_items(client)
    index = _messages(items, _childs)[1]
    del items[index]["pk"]  # this process, reading its keys, fails first: the child's line stands

    message = _verdict(write_export(tmp_path, items))

    assert message.startswith(f"{tmp_path}/AWSDynamoDB/01764000000000-0000abcd/data/crafted.json.gz:{index + 1}: pk: ")


def test_a_problem_only_the_child_sees_is_refused_after_this_process_found_none(client, seeded, tmp_path):
    items = typed_items(client)
    index = _messages(items, _childs)[-1]
    items[index]["message"] = BELL

    assert f".json.gz:{index + 1}: message: " in _verdict(write_export(tmp_path, items))


BREAKS = {
    "bell": lambda items, i: {**items[i], "message": BELL} if "message" in items[i] else {**items[i], "sk": {"N": "x"}},
    "no pk": lambda items, i: {k: v for k, v in items[i].items() if k != "pk"},
    "not typed": lambda items, i: {**items[i], "sk": "plain"},
    "key again": lambda items, i: {**items[i], "pk": items[0]["pk"], "sk": items[0]["sk"]},
    "other user": lambda items, i: {**items[i], "user_uuid": {"S": "00000000-0000-4000-8000-000000000000"}},
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(breaks=st.lists(st.tuples(st.integers(1, 111), st.sampled_from(sorted(BREAKS))), max_size=3))
def test_the_split_pass_refuses_exactly_what_one_process_refuses(client, seeded, tmp_path, breaks):
    items = typed_items(client)
    for index, how in breaks:
        items[index] = BREAKS[how](items, index)
    folder = write_export(Path(tempfile.mkdtemp(dir=tmp_path)), items)
    split = _verdict(folder)

    with pytest.MonkeyPatch.context() as monkeypatch:
        _one_process(monkeypatch)
        alone = _verdict(folder)

    assert split == alone
    assert split.startswith("ok ") == (not breaks)


def test_the_pass_forks_for_a_local_folder_and_counts_every_item(client, seeded, tmp_path, monkeypatch):
    forked: list[bool] = []

    def spy(work, fork):
        aside = Aside(work, fork)
        forked.append(aside.forked)
        return aside

    monkeypatch.setattr(import_source, "Aside", spy)
    items = typed_items(client)

    assert _verdict(write_export(tmp_path, items)) == f"ok {len(items)}"
    assert forked == [True]


def test_a_problem_near_the_start_stops_the_child_once_it_has_checked_past_it(client, seeded, tmp_path, monkeypatch):
    june = seeded.users["june"]
    notes = [
        shapes.to_typed(
            shapes.message_item(
                MIRA_JUNE, f"00000000-0000-4000-8000-{n:012d}", june, f"note {n}", shapes.iso_time(NOW + timedelta(minutes=n))
            )
        )
        for n in range(1, 1001)
    ]
    records = typed_items(client) + notes
    records[3] = {**records[3], "pk": records[0]["pk"], "sk": records[0]["sk"]}  # this process's share: refused at once
    ended = tmp_path / "the child read every record"
    every_record, checked = import_source._records, import_source._checked

    def slow(*args):  # the child's whole pass would take seconds; reaching past the problem, a fraction of that
        time.sleep(0.01)
        return checked(*args)

    def read_to_the_end(source):
        yield from every_record(source)
        ended.touch()

    monkeypatch.setattr(import_source, "_checked", slow)
    monkeypatch.setattr(import_source, "_records", read_to_the_end)

    message = _verdict(write_export(tmp_path, records))

    assert message.endswith(f".json.gz:4: the key {records[0]['pk']['S']}/{records[0]['sk']['S']} is there twice")
    assert not ended.exists()  # stopped once past line 4, not waited for
