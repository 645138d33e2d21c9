"""Run a course notebook's code cells in this process, cell by cell, like the autograder would.

In-process execution is fast (no kernel start) and hands the test the notebook's namespace, so a
test can call the reference solution's functions directly or swap a solution cell for an
adversarial one and see which grade cells still pass. The real kernel path is covered by nbval
and by the nbgrader pipeline tests.
"""

import io
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import nbformat

from course import checks
from course.grading.demos import is_demo

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "source"


def source_notebooks() -> list[Path]:
    """Every instructor notebook of the course."""
    return sorted(p for p in SOURCE.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@dataclass
class Run:
    """What running a notebook gave: its namespace, per grade cell the exception or None, the
    exceptions of the other cells (by cell id), which the autograder also steps over, and what
    the cells printed, so a test of the output needs no second run of its own."""

    namespace: dict
    grades: dict[str, BaseException | None] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    records: dict[str, list[dict]] = field(default_factory=dict)
    checks_passed: dict[str, list[str]] = field(default_factory=dict)
    stdout: str = ""

    def passed(self, grade_id: str) -> bool:
        return self.grades[grade_id] is None

    def failures(self) -> dict[str, str]:
        """Every failed cell, grade or not, with its error: empty for a working reference."""
        failed = {g: e for g, e in self.grades.items() if e is not None}
        return {cell: repr(error) for cell, error in {**self.errors, **failed}.items()}


@contextmanager
def _printed_into(run: Run) -> Iterator[None]:
    """Keep what the cells print in ``run.stdout`` and pass it on, so pytest still shows it."""
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            yield
    finally:
        run.stdout = buffer.getvalue()
        sys.stdout.write(run.stdout)


@contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
        plt.close("all")


def run_notebook(
    path: Path,
    replace: Mapping[str, str] | None = None,
    namespace: dict | None = None,
    expected: Mapping[str, list[dict]] | None = None,
    demos: bool = True,
) -> Run:
    """Execute ``path``'s code cells in order, in its own folder.

    ``replace`` maps a ``grade_id`` to the source that cell gets instead (a student's answer);
    ``namespace`` seeds the globals the cells run in. As in autograding, a failing cell is
    recorded (in ``grades`` or ``errors``) and execution goes on with the next one. Each grade
    cell's hidden-check records are kept in ``records``; given the reference's records as
    ``expected``, a grade cell whose records differ fails, and ``checks_passed`` names the hidden
    checks that earn (not property checks, ``earns=False``) and passed in each grade cell: grading
    gives a cell points only when one of those passed.
    What the cells print is kept in ``stdout``.

    ``demos=False`` skips the demonstration cells, by the autograder's own rule (``is_demo``), as
    grading does. A run that only judges grade cells (a student's slip, pasted answers) then costs
    what grading costs, without the timings, training runs and plots that are most of a notebook's
    time and that no grade cell needs (tests/test_notebook_hygiene.py). Keep the full run when a
    test reads what a demonstration prints, draws or binds, or whether it fails.
    """
    replace = dict(replace or {})
    notebook = nbformat.read(path, as_version=4)
    run = Run(namespace={"__name__": "__main__", **(namespace or {})})
    with _in_folder(path.parent), _printed_into(run):
        for cell in notebook.cells:
            if cell.cell_type != "code" or (not demos and is_demo(cell)):
                continue
            meta = nbgrader_meta(cell)
            grade_id = meta.get("grade_id")
            source = replace.pop(grade_id, cell.source)
            code = compile(source, f"<{path.name}:{grade_id or cell.get('id')}>", "exec")
            with checks.collecting() as records:
                try:
                    exec(code, run.namespace)
                except Exception as error:  # noqa: BLE001 -- a failing cell is a result here
                    if meta.get("grade"):
                        run.grades[grade_id] = error
                    else:
                        run.errors[grade_id or cell.get("id")] = error
                else:
                    if meta.get("grade"):
                        verdicts = checks.verdicts(expected[grade_id], records) if expected is not None else []
                        earning = [r.get("earns", True) for r in expected[grade_id]] if expected is not None else []
                        run.checks_passed[grade_id] = [v.name for v, e in zip(verdicts, earning) if v.passed and e]
                        problems = [problem for verdict in verdicts for problem in verdict.problems]
                        run.grades[grade_id] = AssertionError("; ".join(problems)) if problems else None
            if meta.get("grade"):
                run.records[grade_id] = list(records)
    if replace:
        raise KeyError(f"no cells run with grade_id {sorted(replace)} in {path}")
    return run
