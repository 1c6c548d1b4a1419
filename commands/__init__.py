"""The command line: invoke tasks around the `ddb` library, one module per namespace.

- `table_tasks` (the root namespace), `pattern_tasks` (`patterns.*`), `stream_tasks`
  (`stream.*`), `local_tasks` (`local.*`), `model_tasks` (`model.*`): the tasks, a few lines each;
- `targeting`: config and flags to a target and its client, the prod prompt;
- `flags`: shared help strings, number parsing;
- `exits`: a `DdbError` to one line (with the hint that names a command) and exit code 1;
- `output`: where output goes (stdout, stderr, a progress bar); `views`: tables and rows
  for people; `sentences`: the status lines; `cost_view`: model.cost's answer as text.

`tasks.py` beside this package assembles the namespaces.
"""
