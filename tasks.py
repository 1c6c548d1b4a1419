"""The invoke namespaces of cruddur-ddb; `invoke --list` shows every task. The tasks live in `commands/`."""

from invoke import Collection

from commands import (
    deploy_tasks,
    export_tasks,
    local_tasks,
    migrate_tasks,
    model_tasks,
    parsing,
    pattern_tasks,
    schema_tasks,
    stream_tasks,
    table_tasks,
)
from commands.ui import task as ui_task

parsing.install()  # unknown and missing flags get one line in the house style
ns = Collection.from_module(table_tasks)
ns.add_collection(Collection.from_module(pattern_tasks, name="patterns"))
ns.add_collection(Collection.from_module(stream_tasks, name="stream"))
ns.add_collection(Collection.from_module(local_tasks, name="local"))
ns.add_collection(Collection.from_module(deploy_tasks, name="deploy"))
ns.add_task(export_tasks.export)
ns.add_task(export_tasks.import_)
ns.add_task(schema_tasks.schema_plan)
ns.add_task(schema_tasks.schema_apply)
ns.add_collection(Collection.from_module(migrate_tasks, name="migrate"))
ns.add_collection(Collection.from_module(model_tasks, name="model"))
ns.add_task(ui_task.ui)
