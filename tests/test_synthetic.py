"""Synthetic fixture sets: valid fixture directories of the size asked for, reproducibly."""

import json
from datetime import UTC

import pytest

from ddb.core.errors import DdbError
from ddb.data import contract
from ddb.seed import fixtures, stamping, synthetic

from .support import NOW


def test_a_synthetic_set_is_a_valid_fixture_directory_of_the_asked_size(tmp_path):
    made = synthetic.generate(tmp_path / "fx", messages=250, conversations=7, users=5)
    loaded = fixtures.load(made.directory)
    assert len(loaded.users) == 5
    assert len(loaded.conversations) == 7
    sizes = [len(c.messages) for c in loaded.conversations]
    assert sum(sizes) == 250 and max(sizes) - min(sizes) <= 1
    pairs = [frozenset(c.between) for c in loaded.conversations]
    assert len(set(pairs)) == 7, "one conversation per pair of users"
    assert len({c.message_group_uuid for c in loaded.conversations}) == 7


def test_every_item_of_a_synthetic_set_keeps_the_item_contract(tmp_path):
    loaded = fixtures.load(synthetic.generate(tmp_path / "fx", messages=120, conversations=4, users=4).directory)
    built = [i for _, items in stamping.stamped(loaded, loaded.conversations, NOW.astimezone(UTC)) for i in items]
    assert len(built) == 120 + 2 * 4 + 4  # messages, group items, group claims
    assert len({(i["pk"], i["sk"]) for i in built}) == len(built)
    for item in built:
        assert contract.item_problems(item) == [], item


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(tmp_path):
    def files(directory):
        return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*.json"))}

    a = synthetic.generate(tmp_path / "a", messages=60, conversations=3, users=4, seed=7).directory
    b = synthetic.generate(tmp_path / "b", messages=60, conversations=3, users=4, seed=7).directory
    c = synthetic.generate(tmp_path / "c", messages=60, conversations=3, users=4, seed=8).directory
    assert files(a) == files(b)
    assert files(a) != files(c)


def test_sets_of_one_seed_agree_on_user_uuids(tmp_path):
    small = json.loads(
        synthetic.generate(tmp_path / "s", messages=10, conversations=2, users=3).directory.joinpath("users.json").read_text()
    )
    large = json.loads(
        synthetic.generate(tmp_path / "l", messages=10, conversations=2, users=30).directory.joinpath("users.json").read_text()
    )
    assert [u["uuid"] for u in small] == [u["uuid"] for u in large[:3]]


def test_existing_fixture_files_are_kept_unless_forced(tmp_path):
    target = tmp_path / "fx"
    synthetic.generate(target, messages=40, conversations=4, users=4)
    with pytest.raises(DdbError, match="already holds fixture files: pass --force"):
        synthetic.generate(target, messages=10, conversations=2, users=3)
    (target / "notes.txt").write_text("mine")
    synthetic.generate(target, messages=10, conversations=2, users=3, force=True)
    assert len(list((target / "conversations").glob("*.json"))) == 2
    assert (target / "notes.txt").read_text() == "mine"
    assert len(fixtures.load(target).users) == 3


@pytest.mark.parametrize(
    "messages, conversations, users, problem",
    [
        (10, 4, 1, "--users must be at least 2"),
        (10, 4, 2, "--conversations must be from 1 to 1"),
        (3, 4, 5, "--messages must be at least --conversations (4)"),
        (10, 0, 5, "--conversations must be from 1 to 10"),
    ],
)
def test_impossible_sizes_are_refused_with_one_line(tmp_path, messages, conversations, users, problem):
    with pytest.raises(DdbError) as caught:
        synthetic.generate(tmp_path / "fx", messages=messages, conversations=conversations, users=users)
    assert problem in str(caught.value)
    assert not (tmp_path / "fx").exists()


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DdbError, match="is not a directory"):
        synthetic.generate(blocker, messages=4, conversations=2, users=3)
    with pytest.raises(DdbError, match="cannot write"):
        synthetic.generate(blocker / "below", messages=4, conversations=2, users=3)
