"""The flags many tasks share (--prod, --endpoint-url, --yes, --json) read the same in every task's --help.

The tasks are read from `tasks.ns`, as `invoke --help` reads them: invoke's Collection
and each Task's arguments.
"""

import copy

import pytest
from invoke import Context, Task

import tasks
from commands.exits import reports_errors
from commands.flags import ENDPOINT, JSON, PROD, SHARED_HELP, YES, target_flags

# The tasks that reword a shared flag on purpose, and why; any other wording is a slip.
REWORDED = {
    ("export", "prod"): "says it only reads the prod table (it writes a local folder)",
    ("model.cost", "prod"): "says it only reads the prod table (it may write a chart)",
    ("seed", "json_"): "prints one summary object, not a table's rows",
    ("scan", "json_"): "prints JSON Lines, one item a line",
    ("schema-plan", "json_"): "gives the plan's shape",
}


def _arguments(task: Task) -> list:
    """The task's flags as `invoke --help` shows them, read from a copy: `get_arguments` pops the help it uses."""
    return copy.deepcopy(task).get_arguments()


def _shared_flags() -> list[tuple[str, str, str]]:
    """(task, flag, its help) for every shared flag of every task in the namespace."""
    found = []
    for name in tasks.ns.task_names:
        for argument in _arguments(tasks.ns[name]):
            flag = argument.attr_name or argument.name
            if flag in SHARED_HELP:
                found.append((name, flag, argument.help))
    return found


SHARED_FLAGS = _shared_flags()


@pytest.mark.parametrize(("name", "flag", "help_text"), SHARED_FLAGS, ids=[f"{n}:{f}" for n, f, _ in SHARED_FLAGS])
def test_a_shared_flag_has_the_shared_help_unless_the_task_rewords_it_on_purpose(name, flag, help_text):
    if (name, flag) in REWORDED:
        assert help_text and help_text != SHARED_HELP[flag], f"{name} --{flag} is on REWORDED but says the shared text"
    else:
        assert help_text == SHARED_HELP[flag], f"{name} --{flag}: {help_text!r} is not the shared help"


def test_the_tasks_take_every_shared_flag_and_each_rewording_names_a_flag_a_task_has():
    taken = {(name, flag) for name, flag, _ in SHARED_FLAGS}
    assert {flag for _, flag in taken} == set(SHARED_HELP)
    assert set(REWORDED) <= taken


def test_target_flags_gives_the_shared_help_of_the_flags_the_body_takes_and_the_tasks_own():
    @target_flags(name="sample", limit="stop after N", prod=PROD + "; reads only")
    @reports_errors
    def body(c, limit=None, prod=False, endpoint_url=None, yes=False, json_=False):
        """A sample task."""
        return (limit, prod)

    assert body.name == "sample"
    assert {argument.attr_name or argument.name: argument.help for argument in _arguments(body)} == {
        "limit": "stop after N",
        "prod": PROD + "; reads only",
        "endpoint_url": ENDPOINT,
        "yes": YES,
        "json_": JSON,
    }
    assert body(Context(), limit=3) == (3, False)


def test_target_flags_adds_no_help_for_a_shared_flag_the_body_does_not_take():
    @target_flags()
    def body(c, json_=False):
        """Another sample task."""

    assert body.help == {"json_": JSON}
    assert [argument.attr_name for argument in _arguments(body)] == ["json_"]
