"""A pytest plugin for mutation runs only (`[tool.mutmut]` in pyproject.toml loads it with `-p`).

`ddb.migrate.files` loads each migration by path as `cruddur_migrations.<file stem>`.
mutmut names a mutant after its file's path (`migrations.m0001_message_count.x_up__mutmut_3`)
and switches it on only in the module of that name, so under mutmut a migration is
loaded as `migrations.<file stem>` instead. Nothing else changes: the module is still not
put in `sys.modules`, and the ordinary test runs never load this plugin.
"""

import importlib.util

_PREFIX = "cruddur_migrations."
_original = importlib.util.spec_from_file_location


def _named_as_mutmut_names_it(name, location=None, *args, **kwargs):
    if name.startswith(_PREFIX):
        name = "migrations." + name.removeprefix(_PREFIX)
    return _original(name, location, *args, **kwargs)


def pytest_configure(config):
    importlib.util.spec_from_file_location = _named_as_mutmut_names_it


def pytest_unconfigure(config):
    importlib.util.spec_from_file_location = _original
