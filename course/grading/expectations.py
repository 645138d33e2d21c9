"""What the reference solution records in each grade cell: the answers hidden checks must match.

Computed by executing the instructor's source notebook (trusted code, ordinary kernel) and
reading the records each grade cell displayed. The notebook runs as grading runs a submission,
its demonstration cells (``demos.is_demo``) skipped: a record is what the reference gives in
the very run a student's answer is judged in, never a value a timing, a training run or a plot
left behind, and the demonstrations, most of a notebook's run, cost nothing here. Cached per
notebook in ``expected/`` in the course root, a folder the grading sandbox cannot see, and
recomputed whenever the source notebook or one of the student-facing helpers (``course/*.py``,
whose seeded generators make the hidden inputs and whose ``record`` encodes the answers) changes.
The grading package is not part of the key: the records are what the reference solution computes,
and grading code does not compute them (the cells it skips are the ones the notebook tags).

The hidden tests also declare, in this run only (``course.checks.making_reference``), the values
their typical mistakes give (``course.checks.mistake``); they are kept with the records they
belong to, so a wrong answer can be named without anything running in a student's kernel.
"""

import hashlib
import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import is_grade

import course
from course.checks import REFERENCE_RUN, matches, mistakes_in_outputs, records_in_outputs
from course.grading.demos import is_demo

HELPERS = Path(course.__file__).resolve().parent  # the student-facing modules, not course/grading/
EXPECTED_FOLDER = "expected"


class ReferenceFailure(RuntimeError):
    """The reference solution fails one of its own grade cells: nothing can be graded against it."""


def fingerprint(source_notebook: Path, helpers: Path = HELPERS) -> str:
    """Hash of everything that determines the records: the notebook and the helpers it imports."""
    digest = hashlib.sha256(source_notebook.read_bytes())
    for module in sorted(helpers.glob("*.py")):
        digest.update(module.name.encode() + module.read_bytes())
    return digest.hexdigest()


def compute(source_notebook: Path, timeout: int = 120) -> dict[str, list[dict]]:
    """Execute the source notebook as grading does, its demonstration cells skipped, and return
    grade_id -> the records its grade cell displayed."""
    notebook = nbformat.read(source_notebook, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if not is_demo(cell)]
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(source_notebook.parent)}},
    )
    client.execute(env={**os.environ, REFERENCE_RUN: "1"})  # the hidden tests declare their mistakes
    records = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or not is_grade(cell):
            continue
        meta = cell.metadata.nbgrader
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if errors:
            raise ReferenceFailure(
                f"{source_notebook}: the reference fails its grade cell {meta['grade_id']}: "
                f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
            )
        records[meta["grade_id"]] = with_mistakes(
            records_in_outputs(cell.outputs),
            mistakes_in_outputs(cell.outputs),
            f"{source_notebook}: {meta['grade_id']}",
        )
    return records


def with_mistakes(records: list[dict], mistakes: list[dict], where: str) -> list[dict]:
    """``records`` with each declared mistake under the record of its check (key ``mistakes``).

    A mistake that names no check, or gives the check's right answer, is the author's error: it
    would never, or always, be diagnosed.
    """
    by_name = {record["name"]: record for record in records}
    for declared in mistakes:
        record = by_name.get(declared["check"])
        if record is None:
            raise ReferenceFailure(f"{where}: mistake {declared['kind']!r} names no hidden check {declared['check']!r}")
        if matches(record["value"], declared["value"], record["rtol"], record["atol"]):
            raise ReferenceFailure(f"{where}: mistake {declared['kind']!r} gives the right answer of its check")
        record.setdefault("mistakes", []).append({k: declared[k] for k in ("kind", "pl", "en", "value")})
    return records


def load(root: Path, assignment: str, notebook: str) -> dict[str, list[dict]]:
    """The reference records of ``source/<assignment>/<notebook>.ipynb``, from cache when current."""
    source = root / "source" / assignment / f"{notebook}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no source notebook {source} to take the reference records from")
    cache = root / EXPECTED_FOLDER / assignment / f"{notebook}.json"
    key = fingerprint(source)
    if cache.is_file():
        stored = json.loads(cache.read_text(encoding="utf-8"))
        if stored.get("fingerprint") == key:
            return stored["cells"]
    cells = compute(source)
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"fingerprint": key, "cells": cells}), encoding="utf-8")
    os.replace(temporary, cache)  # atomic: parallel graders never read half a file
    return cells
