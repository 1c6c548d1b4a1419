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

import atexit
import gc
import sys

# Three costs every command paid on top of its work (`bench/command_latency.py --breakdown`):
# - invoke turns Python's bytecode cache off (its --write-pyc flag, off by default) before
#   it loads tasks.py, so every command compiled this package and ddb/ afresh. They are
#   cached as any module is, unless Python was told not to (-B, PYTHONDONTWRITEBYTECODE).
# - The objects invoke and Python made so far live as long as the process. Frozen, they
#   are left out of every later collection, and building a boto3 client no longer sets off
#   a full collection that walks them all.
# - At exit, after every other exit handler, the rest is frozen too: the interpreter's
#   shutdown then frees the modules without walking every object in repeated collections
#   (about 80 ms after a boto3 client). Python does not promise to collect reference
#   cycles at exit; nothing here relies on it.
sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)
gc.freeze()
atexit.register(gc.freeze)  # registered first, so it runs last
