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


def install() -> None:
    """Both, in this process (a grading worker); idempotent."""
    share_gradebook_engines()
    check_metadata_schemas_once()
