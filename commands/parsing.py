"""invoke's command-line parser, in the house style: a mistyped flag or a missing one is one line that says what to type.

invoke 3 answers `invoke patterns.create-message --mesage hi` with "No idea what 'hi' is!"
(worse: it first takes `--mesage` as the value of a required positional argument), and a
missing required argument with "'model.workbench' did not receive required positional
arguments: 'out'". `install()` (called by tasks.py, before invoke parses the task's
arguments) makes them:

    error: patterns.create-message has no flag --mesage; did you mean --message? (`invoke --help patterns.create-message` lists its flags)
    error: model.workbench needs --out (`invoke --help model.workbench`)

A token that looks like a flag is never taken as a value, except as the value of the flag
before it (`--message -hi`).
"""


def _unknown_flag(machine, token: str) -> bool:
    context = machine.context
    return (
        not machine.ignore_unknown
        and machine.current_state != "unknown"
        and context is not None
        and bool(context.name)
        and token.startswith("-")
        and token not in ("-", "--")
        and not token[1:].replace(".", "", 1).isdigit()  # a negative number is a value
        and not machine.waiting_for_flag_value
        and token not in context.flags
        and token not in context.inverse_flags
        and not (machine.initial and token in machine.initial.flags)
    )


def unknown_flag_line(task: str, token: str, flags: list[str]) -> str:
    """The one line for a flag `task` does not have, naming the closest of `flags`."""
    import difflib

    closest = difflib.get_close_matches(token, flags, n=1, cutoff=0.6)
    guess = f"; did you mean {closest[0]}?" if closest else ""
    return f"error: {task} has no flag {token[:40]}{guess} (`invoke --help {task}` lists its flags)"


def _reworded(machine, message: str) -> str:
    if "did not receive required positional arguments" in message and machine.context is not None:
        missing = ", ".join(f"--{arg.name.replace('_', '-')}" for arg in machine.context.missing_positional_args)
        return f"error: {machine.context.name} needs {missing} (`invoke --help {machine.context.name}`)"
    if message.startswith("No idea what") and machine.context is not None and machine.context.name:
        name = machine.context.name
        return f"error: {message[len('No idea what ') : -len(' is!')]} is no task, and no flag of {name} takes it (`invoke --help {name}`)"
    return message


def install() -> None:
    """Make invoke's parser word unknown and missing flags as above (once per process)."""
    from invoke.exceptions import ParseError
    from invoke.parser.parser import ParseMachine

    if getattr(ParseMachine.handle, "house_style", False):
        return
    handle, error = ParseMachine.handle, ParseMachine.error

    def handle_in_house_style(self, token: str) -> None:
        if _unknown_flag(self, token):
            raise ParseError(unknown_flag_line(self.context.name, token, sorted(self.context.flags)), self.context)
        handle(self, token)

    def error_in_house_style(self, msg: str) -> None:
        error(self, _reworded(self, msg))

    handle_in_house_style.house_style = True  # type: ignore[attr-defined]
    ParseMachine.handle = handle_in_house_style  # type: ignore[method-assign]
    ParseMachine.error = error_in_house_style  # type: ignore[method-assign]
