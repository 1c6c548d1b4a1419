"""The fixture contract: the repository's fixtures keep it, and breaking it is one clear line."""

import json
import shutil
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddb.core.errors import FixtureError, NotFound
from ddb.data import contract
from ddb.seed import fixtures

from .support import FIXTURES


def test_repository_fixtures_are_valid_and_big_enough(repo_fixtures):
    assert len(repo_fixtures.users) >= 4
    assert len(repo_fixtures.conversations) >= 3
    assert max(len(c.messages) for c in repo_fixtures.conversations) >= 60


def test_every_fixture_file_passes_its_json_schema():
    assert contract.first_problem("users", json.loads((FIXTURES / "users.json").read_text())) is None
    for path in sorted((FIXTURES / "conversations").glob("*.json")):
        assert contract.first_problem("conversation", json.loads(path.read_text())) is None, path


def test_default_handle_and_group_of_invoke_yaml_exist(repo_fixtures):
    import yaml

    config = yaml.safe_load((FIXTURES.parent / "invoke.yaml").read_text())["ddb"]
    assert config["default_handle"] in repo_fixtures.users
    assert config["default_message_group_uuid"] in {c.message_group_uuid for c in repo_fixtures.conversations}


def test_derived_message_uuids_are_deterministic_and_unique(repo_fixtures):
    again = fixtures.load(FIXTURES)
    uuids = [m.message_uuid for c in repo_fixtures.conversations for m in c.messages]
    assert uuids == [m.message_uuid for c in again.conversations for m in c.messages]
    assert len(set(uuids)) == len(uuids)


@given(group=st.text(max_size=60), index=st.integers(min_value=0, max_value=10**9))
def test_a_derived_message_uuid_is_uuid5_of_group_and_index(group, index):
    assert fixtures.derived_message_uuid(group, index) == str(uuid.uuid5(fixtures._MESSAGE_NAMESPACE, f"{group}/{index}"))


def test_unknown_handle_names_the_known_ones(repo_fixtures):
    with pytest.raises(NotFound, match=r"unknown handle 'nobody': users.json knows june, lena, mira, ravi, tomas"):
        repo_fixtures.user("nobody")


@pytest.fixture
def fixture_copy(tmp_path):
    target = tmp_path / "fx"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("schema"))
    return target


def _edit(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_a_negative_minutes_ago_is_one_line_with_file_and_place(fixture_copy):
    path = fixture_copy / "conversations" / "mira-june.json"
    _edit(path, lambda d: d["messages"][3].__setitem__("minutes_ago", -1))
    with pytest.raises(FixtureError) as caught:
        fixtures.load(fixture_copy)
    assert str(caught.value) == f"{path}: messages[3].minutes_ago: -1 is less than the minimum of 0"


def test_a_sender_outside_the_conversation_is_rejected(fixture_copy):
    path = fixture_copy / "conversations" / "mira-june.json"
    _edit(path, lambda d: d["messages"][0].__setitem__("from", "ravi"))
    with pytest.raises(FixtureError) as caught:
        fixtures.load(fixture_copy)
    assert str(caught.value) == f"{path}: messages[0].from: 'ravi' is not one of the conversation's users ['mira', 'june']"


def test_broken_json_names_line_and_column(fixture_copy):
    path = fixture_copy / "users.json"
    path.write_text('[{"uuid": ')
    with pytest.raises(FixtureError, match=r"users.json: line 1 column 11: invalid JSON: Expecting value$"):
        fixtures.load(fixture_copy)


def test_missing_directory_is_one_line(tmp_path):
    with pytest.raises(FixtureError) as caught:
        fixtures.load(tmp_path / "nope")
    assert str(caught.value) == f"{tmp_path / 'nope'}: fixture directory does not exist"
