"""Import holds every item to the rules of every other write path before its first write, in-process on moto.

Each crafted export differs from a real one (the seeded table's items) in one way; the
import refuses it in one line naming the file, the line and the rule, creates no table
and sends no write.
"""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddb.backup import importing
from ddb.backup import rules as import_rules
from ddb.backup import source as import_source
from ddb.backup.layout import ExportFormatError
from ddb.core import text
from ddb.data import validate
from ddb.schema import declaration as schema
from ddb.schema.description import DescriptionError

from .support import TABLE, typed_items, write_export

COPY = "cruddur-copy"
MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
TOMAS = "af471036-78d5-4a38-bcf5-7d663ff84e8a"
JUNE = "a3d22a69-1e07-4922-aa0f-9a7468447548"
MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
WRITES = {"BatchWriteItem", "PutItem", "CreateTable", "UpdateItem", "DeleteItem", "TransactWriteItems"}


def _first(items: list[dict], prefix: str) -> int:
    return next(i for i, item in enumerate(items) if item["pk"]["S"].startswith(prefix))


def _refusal(client, folder, sent) -> str:
    """Validate and plan an import of `folder` into a new table; the one-line refusal it must end in."""
    with pytest.raises((ExportFormatError, DescriptionError)) as refused:
        source = import_source.open_source(folder)
        import_source.validate(source)
        importing.run(client, COPY, source, importing.plan(client, COPY, source))
    message = str(refused.value)
    assert "\n" not in message
    assert COPY not in schema.list_tables(client) and not WRITES & set(sent)
    return message


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("message", "hi \ud800 there", "holds a lone surrogate U+D800, which is not Unicode text"),
        ("message", "bell \x07", "holds the control character '\\x07' at position 5"),
        ("message", "carriage\r return", "holds the control character '\\r'"),
        ("message", "escape \x1b[2J", "holds the control character '\\x1b'"),
        ("user_display_name", "Mira\x00", "holds the control character '\\x00'"),
        ("user_handle", "mira\n", "is not a handle"),
    ],
)
def test_a_text_that_any_other_write_path_refuses_is_refused_naming_file_line_and_rule(
    client, seeded, tmp_path, sent, field, value, rule
):
    items = typed_items(client)
    index = _first(items, "MSG#")
    items[index][field] = {"S": value}
    folder = write_export(tmp_path, items)
    message = _refusal(client, folder, sent)
    assert message.startswith(f"{folder}/data/crafted.json.gz:{index + 1}: {field}: ")
    assert rule in message


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ({"N": "1" * 41}, "has more than 38 significant digits"),
        ({"N": "1e200"}, "outside DynamoDB's range"),
        ({"N": "twelve"}, "is not a number"),
        ({"S": "7", "N": "7"}, "expected one typed value"),
        ({"X": "7"}, "is not a DynamoDB type"),
    ],
)
def test_a_value_dynamodb_cannot_store_is_refused_before_anything_is_written(client, seeded, tmp_path, sent, value, rule):
    items = typed_items(client)
    index = _first(items, "GRP#")
    items[index]["message_count"] = value
    message = _refusal(client, write_export(tmp_path, items), sent)
    assert f"crafted.json.gz:{index + 1}: message_count: " in message and rule in message


def test_json_nested_100000_deep_is_one_line(client, seeded, tmp_path, sent):
    line = '{"Item": ' + "[" * 100_000 + "]" * 100_000 + "}"
    message = _refusal(client, write_export(tmp_path, [line]), sent)
    assert message.endswith(
        "crafted.json.gz:1: not JSON (maximum recursion depth exceeded while decoding a JSON array from a unicode string)"
    )


def test_a_line_longer_than_one_item_can_be_is_refused_as_soon_as_it_is_read(client, seeded, tmp_path, sent):
    message = _refusal(client, write_export(tmp_path, [b" " * 3_000_000 + b"\n"]), sent)
    assert message.endswith(f"crafted.json.gz:1: longer than {6 * 400 * 1024 + 64 * 1024} bytes, more than one item can be")


def test_a_file_with_more_lines_than_its_item_count_is_refused_at_the_first_line_too_many(client, seeded, tmp_path, sent):
    items = typed_items(client)[:2]
    message = _refusal(client, write_export(tmp_path, [*items, b"\n" * 1_000_000], item_count=2), sent)
    assert message.endswith("crafted.json.gz:4: more lines than the 2 item(s) manifest-files.json gives it")


def test_a_data_file_larger_than_its_items_can_fill_is_refused_before_it_is_read(client, seeded, tmp_path, sent):
    folder = write_export(tmp_path, [], item_count=0)
    data = folder / "data" / "crafted.json.gz"
    data.write_bytes(data.read_bytes() + b"\0" * 2_600_000)
    message = _refusal(client, folder, sent)
    assert (
        message
        == f"{data}: {data.stat().st_size} bytes, more than its 0 item(s) can fill (manifest-files.json): not the file exported"
    )


def test_a_group_item_that_adds_a_third_person_to_a_conversation_is_refused(client, seeded, tmp_path, sent):
    items = typed_items(client)
    intruder = copy.deepcopy(items[_first(items, f"GRP#{MIRA}")])
    intruder.update(pk={"S": f"GRP#{JUNE}"}, message_group_uuid={"S": MIRA_TOMAS}, user_uuid={"S": MIRA})
    items.append(intruder)
    message = _refusal(client, write_export(tmp_path, items), sent)
    assert message.endswith(
        f"crafted.json.gz:{len(items)}: a group item makes {JUNE} a third participant of conversation {MIRA_TOMAS}, "
        f"which is between {MIRA} and {TOMAS}: a conversation is between exactly two users"
    ) or message.endswith(f"which is between {TOMAS} and {MIRA}: a conversation is between exactly two users")


def test_a_message_from_someone_outside_the_conversation_is_refused(client, seeded, tmp_path, sent):
    items = typed_items(client)
    index = next(i for i, item in enumerate(items) if item["pk"]["S"] == f"MSG#{MIRA_TOMAS}")
    items[index]["user_uuid"] = {"S": JUNE}
    message = _refusal(client, write_export(tmp_path, items), sent)
    assert f"the sender of a message makes {JUNE} a third participant of conversation {MIRA_TOMAS}" in message


def test_a_second_group_item_of_one_user_for_one_conversation_is_refused(client, seeded, tmp_path, sent):
    items = typed_items(client)
    twin = copy.deepcopy(items[_first(items, f"GRP#{MIRA}")])
    twin["sk"] = {"S": "2020-01-01T00:00:00.000000+00:00"}
    items.append(twin)
    message = _refusal(client, write_export(tmp_path, items), sent)
    assert f"crafted.json.gz:{len(items)}: user {MIRA} has a second group item for conversation " in message
    assert message.endswith("a user has one group item per conversation")


def test_a_claim_that_names_other_users_than_the_group_items_is_refused(client, seeded, tmp_path, sent):
    items = typed_items(client)
    index = next(i for i, item in enumerate(items) if item["pk"]["S"] == f"CLAIM#GROUP#{MIRA_TOMAS}")
    items[index]["user_uuids"] = {"L": [{"S": JUNE}, {"S": MIRA}]}
    assert "a third participant of conversation" in _refusal(client, write_export(tmp_path, items), sent)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["GlobalSecondaryIndexes"][0].update(Projection="x"), "Projection: expected {ProjectionType: "),
        (lambda d: d.update(KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}]), "KeySchema: expected pk (HASH) and sk"),
        (lambda d: d["AttributeDefinitions"].append({"AttributeName": "message", "AttributeType": "N"}), "'message' as 'N'"),
        (lambda d: d.update(ProvisionedThroughput={"ReadCapacityUnits": 10**9}), "is not a number of units"),
        (lambda d: d.update(StreamSpecification=[1]), "not a DescribeTable answer"),
    ],
)
def test_a_saved_description_no_table_of_this_project_comes_from_is_one_line(client, seeded, tmp_path, sent, edit, problem):
    description = json.loads(json.dumps(schema.table_spec(TABLE)))
    edit(description)
    folder = write_export(tmp_path, typed_items(client), description=description)
    message = _refusal(client, folder, sent)
    assert message.startswith(f"{folder}/table-description.json: ") and problem in message


def test_a_backups_capacity_above_the_declaration_is_refused_unless_asked_for(client, seeded, tmp_path, sent):
    description = json.loads(json.dumps(schema.table_spec(TABLE)))
    description["ProvisionedThroughput"] = {"ReadCapacityUnits": 40000, "WriteCapacityUnits": 40000}
    source = import_source.open_source(write_export(tmp_path, typed_items(client), description=description))
    import_source.validate(source)
    with pytest.raises(importing.DdbError) as refused:
        importing.plan(client, COPY, source)
    assert str(refused.value) == (
        "the backup's table description asks for provisioned 40000/40000 RCU/WCU, index message-group-sk-index 5/5, "
        "above the declared 5 RCU/WCU: nothing was created (pass --backup-capacity to create the table with the backup's capacity)"
    )
    found = importing.plan(client, COPY, source, backup_capacity=True)
    assert found.creation and str(found.creation.capacity).startswith("provisioned 40000/40000")
    importing.run(client, COPY, source, found)
    into_live = importing.plan(client, TABLE, source)  # an existing table: its capacity is not the backup's business
    assert into_live.creation is None and into_live.to_write == 0
    created = client.describe_table(TableName=COPY)["Table"]["ProvisionedThroughput"]
    assert (created["ReadCapacityUnits"], created["WriteCapacityUnits"]) == (40000, 40000)


_ANY_TEXT = st.text(st.characters(codec=None), max_size=60) | st.sampled_from(["\ud800", "a\udcff", "\x1b[2J", "ok\r\n", " ", ""])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_ANY_TEXT)
def test_import_accepts_a_message_text_exactly_when_sending_it_would(tmp_path_factory, text):
    """The same verdict as pattern C's check (`ddb.data.validate.text_problem`), and a refusal names the line and the rule."""
    folder = tmp_path_factory.mktemp("export")
    message = {
        "pk": {"S": f"MSG#{MIRA_TOMAS}"},
        "sk": {"S": "2026-11-25T16:20:00.000000+00:00"},
        "message_uuid": {"S": JUNE},
        "message": {"S": text},
        "user_uuid": {"S": MIRA},
        "user_display_name": {"S": "Mira"},
        "user_handle": {"S": "mira"},
    }
    source = import_source.open_source(write_export(folder, [message]))
    expected = validate.text_problem(text)
    if expected is None:
        assert import_source.validate(source) == 1
        return
    with pytest.raises(ExportFormatError) as refused:
        import_source.validate(source)
    assert str(refused.value) == f"{folder}/AWSDynamoDB/01764000000000-0000abcd/data/crafted.json.gz:1: message: {expected}"


def test_a_data_file_that_cannot_be_read_is_one_line(client, seeded, tmp_path, sent, monkeypatch):
    from ddb.backup import layout as export_layout

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(export_layout, "file_md5", refuse)  # root reads any file, so the refusal is made here
    folder = write_export(tmp_path, typed_items(client))
    message = _refusal(client, folder, sent)
    assert message == f"{folder}/data/crafted.json.gz: not readable ([Errno 13] Permission denied)"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"S": "x"}, None),
        ({"B": "eA=="}, None),
        ({"N": "0"}, None),
        ({"N": "-0.000"}, None),
        ({"N": "-12.5e-3"}, None),
        ({"N": "1" * 38}, None),
        ({"N": "1" * 38 + "0" * 46}, None),
        ({"N": "1E-130"}, None),
        ({"N": "9.9E+125"}, None),
        ({"BOOL": False}, None),
        ({"NULL": True}, None),
        ({"SS": ["a", "b"]}, None),
        ({"NS": ["1", "2"]}, None),
        ({"L": [{"S": "a"}, {"M": {"k": {"N": "1"}}}]}, None),
        ({"N": "1" * 39}, f"x: '{'1' * 39}' has more than 38 significant digits, more than DynamoDB stores"),
        ({"N": "1E-131"}, "x: '1E-131' is outside DynamoDB's range of numbers (1E-130 to 9.9E+125)"),
        ({"N": "1E+126"}, "x: '1E+126' is outside DynamoDB's range of numbers (1E-130 to 9.9E+125)"),
        ({"N": "1" * 38 + "0" * 47}, f"x: {text.shown('1' * 38 + '0' * 47)} is not a number"),
        ({"N": "01"}, "x: '01' is not a number"),
        ({"N": 1}, "x: 1 is not a number"),
        ({"S": 1}, "x: S: expected a string, found 1"),
        ({"B": None}, "x: B: expected a string, found None"),
        ({"BOOL": "true"}, "x: BOOL: expected true or false, found 'true'"),
        ({"NULL": False}, "x: NULL: expected true, found False"),
        ({"SS": []}, "x: SS: expected a non-empty list of distinct values"),
        ({"SS": ["a", "a"]}, "x: SS: expected a non-empty list of distinct values"),
        ({"BS": "ab"}, "x: BS: expected a non-empty list of distinct values"),
        ({"SS": ["a", 2]}, "x: 2 is not a string"),
        ({"NS": ["1", "one"]}, "x: 'one' is not a number"),
        ({"L": [{"S": "a"}, {"N": "x"}]}, "x: 'x' is not a number"),
        ({"M": {"a": {"S": "a"}, "b": {"BOOL": 1}}}, "x: BOOL: expected true or false, found 1"),
        (
            {"L": {"S": "a"}},
            "x: 'L' is not a DynamoDB type (S, N, B, BOOL, NULL, L, M, SS, NS, BS), or holds the wrong kind of value",
        ),
        ({"M": []}, "x: 'M' is not a DynamoDB type (S, N, B, BOOL, NULL, L, M, SS, NS, BS), or holds the wrong kind of value"),
        ({}, 'x: expected one typed value such as {"S": …}, found {}'),
        ("x", "x: expected one typed value such as {\"S\": …}, found 'x'"),
    ],
)
def test_typed_problem_names_the_attribute_and_exactly_what_dynamodb_could_not_store(value, problem):
    assert import_rules.typed_problem({"pk": {"S": "GRP#u"}, "x": value}) == problem


def test_nesting_is_refused_beyond_32_levels_and_not_at_32():
    def nested(levels: int) -> dict:
        value: dict = {"S": "deep"}
        for _ in range(levels - 1):
            value = {"L": [value]}
        return value

    assert import_rules.typed_problem({"x": nested(32)}) is None
    assert import_rules.typed_problem({"x": nested(33)}) == "x: nested more than 32 levels deep"


def _history(version: str, **more: str) -> dict:
    return {"pk": "MIGRATION", "sk": version.zfill(4), "version": version, "state": "applied", **more}


def test_a_history_item_is_restored_as_applying_only_for_a_migration_whose_attribute_some_group_item_lacks():
    lacking = import_rules.Conversations()
    lacking.lacking["message_count"] = 2
    assert import_rules.restored_history(_history("2", applied_at="t"), lacking) == (_history("2", applied_at="t"), None)
    assert import_rules.restored_history(_history("1", applied_at="t"), import_rules.Conversations()) == (
        _history("1", applied_at="t"),
        None,
    )
    restored, change = import_rules.restored_history(_history("1"), lacking)
    assert restored == {**_history("1"), "state": "applying"}
    assert change == import_rules.HistoryChange(
        1, "applying", "2 group item(s) of the export lack message_count (the export ran while the migration did)"
    )


def test_a_history_items_checkpoint_is_dropped_and_the_change_says_why():
    exported = {**_history("1", checkpoint='{"pk": {"S": "GRP#u"}}'), "state": "applying"}
    restored, change = import_rules.restored_history(exported, import_rules.Conversations())
    assert restored == {**_history("1"), "state": "applying"}
    assert change == import_rules.HistoryChange(
        1, "applying", "its checkpoint, a scan position in the exported table, is dropped"
    )


def test_a_data_file_holding_fewer_items_than_its_manifest_says_is_refused(client, seeded, tmp_path, sent):
    items = typed_items(client)
    folder = write_export(tmp_path, items[:-1], item_count=len(items))  # an item silently dropped from the file
    message = _refusal(client, folder, sent)
    assert message == f"{folder}/data/crafted.json.gz: holds {len(items) - 1} items, manifest-files.json says {len(items)}"
