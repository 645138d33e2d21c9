"""Planning a grading run: which submissions there are, in which order the workers take them.

A task is one submission folder ``submitted/<student>/<assignment>``: the unit of work, of
merging into the gradebook and of regrading. Before any worker starts, ``plan`` checks that the
course can be graded at all (a gradebook, released assignments, submissions), so mistakes are
reported in one clear line instead of by every worker.
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, inspect, make_url
from sqlalchemy.exc import SQLAlchemyError

from course.grading.merge import sqlite_file
from course.grading.scores import gradebook_url


class GradingError(RuntimeError):
    """Grading cannot start (no gradebook, unknown assignment, no submissions) or cannot go on."""


@dataclass(frozen=True, order=True)
class Task:
    """One submission folder ``submitted/<student>/<assignment>``."""

    assignment: str
    student: str


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_gradebook(db_url: str) -> None:
    """Raise a clear error unless ``db_url`` is a gradebook that ``generate_assignment`` has made.

    Opening nbgrader's ``Gradebook`` on a missing SQLite file or an empty database would create
    an empty gradebook there instead of saying that the URL is wrong.
    """
    try:
        path = sqlite_file(db_url)
    except ValueError as error:
        raise GradingError(str(error)) from None
    if path is not None and not path.is_file():
        raise GradingError(f"no gradebook at {path}: run `nbgrader generate_assignment` first")
    engine = create_engine(db_url)
    try:
        tables = inspect(engine).get_table_names()
    except SQLAlchemyError as error:
        where = make_url(db_url).render_as_string(hide_password=True)
        raise GradingError(f"cannot open the gradebook {where}: {error.orig or error}") from None
    finally:
        engine.dispose()
    if "assignment" not in tables:
        raise GradingError(f"the gradebook {db_url} is empty: run `nbgrader generate_assignment` first")


def released_assignments(db_url: str) -> list[str]:
    """Assignments the gradebook knows, i.e. that ``nbgrader generate_assignment`` has processed."""
    with Gradebook(db_url) as gradebook:
        return sorted(a.name for a in gradebook.assignments)


def find_tasks(root: Path, assignments: Iterable[str], students: Iterable[str] | None = None) -> list[Task]:
    """Every submission nbgrader would grade, in the order the workers take them.

    The submitted students come from nbgrader's own API (a folder per student); like
    ``nbgrader autograde``, a folder without a notebook is skipped. The order interleaves
    assignments (first student of each assignment, then the second, ...) so that the workers
    start on different assignments: what the course's preprocessors compute once per notebook
    and cache (the reference records) is computed once, not by every worker at once.
    """
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(root)))
    wanted = set(students) if students else None
    per_assignment = []
    for assignment in assignments:
        submitted = sorted(api.get_submitted_students(assignment))
        per_assignment.append(
            [
                Task(assignment, student)
                for student in submitted
                if (wanted is None or student in wanted)
                and any((root / "submitted" / student / assignment).glob("*.ipynb"))
            ]
        )
    return [task for rank in zip_longest(*per_assignment) for task in rank if task is not None]


def plan(root: Path, assignments: list[str] | None, students: list[str] | None = None) -> tuple[str, list[Task]]:
    """Check the course can be graded and list the submissions: (gradebook URL, tasks)."""
    db_url = gradebook_url(root)
    check_gradebook(db_url)
    known = released_assignments(db_url)
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise GradingError(
            f"not in the gradebook: {', '.join(unknown)} (run `nbgrader generate_assignment` first; "
            f"known: {', '.join(known) or 'none'})"
        )
    tasks = find_tasks(root, chosen, students)
    if not tasks:
        raise GradingError(f"no submissions in {root / 'submitted'} for {', '.join(chosen)}")
    return db_url, tasks
