"""What nbgrader builds anew for every notebook and a grading worker builds once.

A worker grades many notebooks in one process, where ``nbgrader autograde`` grades a few and
exits, so nbgrader's per-notebook set-up costs a worker more than it costs nbgrader's own
command. ``install`` makes the worker keep, across notebooks, two things nbgrader rebuilds each
time and never changes. What nbgrader checks, queries and writes stays exactly its own.
"""

import functools
import json
from types import SimpleNamespace
from typing import Any

import jsonschema
from nbgrader import api
from nbgrader.nbgraderformat import common
from sqlalchemy import event


def share_gradebook_engines() -> None:
    """One SQLAlchemy engine per gradebook URL in this worker, instead of one per ``Gradebook``.

    nbgrader opens the gradebook about ten times per notebook (the converter and each of its
    preprocessors), each time with a new engine, whose compiled-statement cache starts empty: every
    query is compiled again, about a tenth of a warm notebook's grading time. ``Gradebook.close``
    only disposes of the engine's pooled connections, so a shared engine stays usable.
    """
    if not hasattr(api.create_engine, "cache_info"):
        api.create_engine = functools.cache(api.create_engine)


@functools.cache
def _validator(schema_text: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(instance: Any, schema: dict) -> None:
    """``jsonschema.validate`` with the schema checked once: the same error for the same instance.

    nbgrader validates every cell's nbgrader metadata with ``jsonschema.validate``, which checks
    the schema itself against the JSON Schema meta-schema before each cell: about a quarter of a
    worker's CPU time per notebook (CheckCellMetadata and the metadata upgrades, 60-odd cells).
    """
    error = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    if error is not None:
        raise error


def check_metadata_schemas_once() -> None:
    """nbgrader's metadata validator calls ``jsonschema.validate``, its only use of the module: this one."""
    common.jsonschema = SimpleNamespace(validate=validate)  # type: ignore[assignment]


def scratch_gradebook(db_url: str) -> None:
    """Let the gradebook at ``db_url``, a worker's private SQLite copy, commit without waiting for the disk.

    nbgrader commits about 30 times per notebook, and SQLite makes each commit durable: a
    rollback journal written, synced and deleted, about 0.25 ms apiece here. A worker's copy is
    scratch, read back after each submission and thrown away with the run; what must survive a
    crash is the course gradebook, which the parent process writes with its usual durability
    (``course.grading.merge``). Needs ``share_gradebook_engines``: the engine is the one nbgrader gets.
    """
    engine = api.create_engine(db_url, echo=False, future=True)  # nbgrader's call (api.Gradebook.__init__)
    if not event.contains(engine, "connect", _without_syncing):
        event.listen(engine, "connect", _without_syncing)


def _without_syncing(connection: Any, record: Any) -> None:
    connection.execute("PRAGMA journal_mode=MEMORY")
    connection.execute("PRAGMA synchronous=OFF")


def install() -> None:
    """Both, in this process (a grading worker); idempotent."""
    share_gradebook_engines()
    check_metadata_schemas_once()
