"""invoke's parser errors in the house style: a mistyped flag names the closest one; a missing one is named as a flag."""

import pytest


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["patterns.create-message", "--mesage", "hi"],
            "error: patterns.create-message has no flag --mesage; did you mean --message? "
            "(`invoke --help patterns.create-message` lists its flags)",
        ),
        (
            ["patterns.list-conversations", "--handel", "mira"],
            "error: patterns.list-conversations has no flag --handel; did you mean --handle? "
            "(`invoke --help patterns.list-conversations` lists its flags)",
        ),
        (
            ["scan", "--zzz"],
            "error: scan has no flag --zzz (`invoke --help scan` lists its flags)",
        ),
        (["model.workbench"], "error: model.workbench needs --out (`invoke --help model.workbench`)"),
        (
            ["patterns.list-conversations", "mira"],
            "error: 'mira' is no task, and no flag of patterns.list-conversations takes it "
            "(`invoke --help patterns.list-conversations`)",
        ),
    ],
)
def test_a_mistyped_or_missing_flag_is_one_line_that_says_what_to_type(invoke_alone, args, line):
    run = invoke_alone(*args)
    assert (run.code, run.err.strip(), run.out) == (1, line, "")


def test_a_flag_value_that_starts_with_a_dash_is_still_a_value(invoke_alone):
    run = invoke_alone("patterns.list-conversations", "--limit", "-5")
    assert run.err.strip() == "error: --limit must be a whole number from 1 to 1000, not '-5'"
