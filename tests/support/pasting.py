"""The strongest "paste the expected numbers" submission, built from a notebook automatically.

A student who cannot derive a gradient can still copy what the visible tests expect. The most
effective way is a lookup table: each exercise function returns, for the exact inputs a visible
test passes, the output the reference gives, and the first such output for anything else. Such a
submission passes every visible test by construction; the course's promise is that it earns no
point, because every grade cell also calls the functions on inputs the student never saw.
"""

import ast
import copy
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import nbformat
import numpy as np

from tests.support.nbrun import Run, nbgrader_meta, run_notebook

HIDDEN = "### BEGIN HIDDEN TESTS"


def exercise_functions(source: str) -> list[str]:
    """Names of the functions a solution cell defines at top level."""
    return [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]


def cells(path: Path, kind: str) -> dict[str, str]:
    """grade_id -> source of the notebook's solution (kind="solution") or grade (kind="grade") cells."""
    nb = nbformat.read(path, as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get(kind)}


def visible_only(path: Path) -> dict[str, str]:
    """Grade cells cut before their hidden tests: what the student's copy of the notebook runs."""
    return {grade_id: source.split(HIDDEN)[0] for grade_id, source in cells(path, "grade").items()}


RECORDER = """
def _record(name, function):
    def recorded(*args, **kwargs):
        saved = _copy.deepcopy((args, kwargs))
        result = function(*args, **kwargs)
        _calls.setdefault(name, []).append((saved, _copy.deepcopy(result)))
        return result
    return recorded
"""

PASTED = """
def {name}(*args, **kwargs):
    return _lookup({name!r}, args, kwargs)
"""


def same(a: object, b: object) -> bool:
    """Structural equality for arrays, sequences, dicts and scalars (False when undecidable)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 -- incomparable values are simply different
        return False


def record_visible_calls(path: Path) -> dict[str, list]:
    """Run the reference with visible tests only; return every call of every exercise function.

    Demonstrations are skipped: their inputs are no visible test's, and the reference's outputs on
    them are nowhere in the student's copy (its outputs are cleared), so they are not in the table."""
    calls: dict[str, list] = {}
    replace = dict(visible_only(path))
    for grade_id, source in cells(path, "solution").items():
        names = exercise_functions(source)
        replace[grade_id] = source + RECORDER + "".join(f"\n{n} = _record({n!r}, {n})" for n in names)
    run_notebook(path, replace, namespace={"_calls": calls, "_copy": copy}, demos=False)
    return calls


@cache
def pasted_submission(path: Path) -> tuple[dict[str, str], dict]:
    """(replacement solution cells, namespace holding their lookup table) for ``path``; built once
    per notebook and kept: both pasted-answer tests of a notebook use the same lookup table."""
    calls = record_visible_calls(path)

    def lookup(name, args, kwargs):
        recorded = calls.get(name)
        if not recorded:
            raise NotImplementedError(f"{name} is never called by a visible test")
        for (saved_args, saved_kwargs), result in recorded:
            if same(saved_args, args) and same(saved_kwargs, kwargs):
                return copy.deepcopy(result)
        return copy.deepcopy(recorded[0][1])

    replace = {
        grade_id: "".join(PASTED.format(name=n) for n in exercise_functions(source))
        for grade_id, source in cells(path, "solution").items()
    }
    return replace, {"_lookup": lookup}


def run_pasted(path: Path, expected: Mapping[str, list[dict]] | None = None) -> Run:
    """Run the pasted submission against the visible parts of the grade cells only, or, given the
    reference's hidden-check records as ``expected``, against the full grade cells judged as the
    autograder judges them (records compared with the reference's, demonstrations skipped, as
    grading skips them). The records come from the caller's reference run, so the reference is
    not run again here for each check."""
    replace, namespace = pasted_submission(path)
    replace = dict(replace)
    if expected is None:
        replace.update(visible_only(path))
    return run_notebook(path, replace, namespace=namespace, expected=expected, demos=False)
