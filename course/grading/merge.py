"""The single-writer gradebook merge: what autograding wrote for a submission, copied all or nothing.

SQLite takes one writer at a time, and nbgrader's preprocessors commit many small transactions
per notebook. So a parallel run snapshots the course gradebook (the assignments' cells and
checksums from ``generate_assignment`` are all a worker needs), every worker grades into its own
copy and reads back what autograding wrote for the submission (``read_recorded``), and the
parent process alone applies it to the course gradebook (``merge``), one transaction per
submission. The merge goes through nbgrader's ``update_or_create_*`` calls, keyed by (student,
assignment, notebook, cell) under the schema's unique constraints: an interrupted run keeps every
submission merged so far, and merging a submission again overwrites instead of adding, which is
what lets the submissions of a worker that died simply be graded again.
"""

import sqlite3
import warnings
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning


@dataclass(frozen=True)
class CellResult:
    """What autograding wrote for one grade cell (``grade``) or solution/task cell (``comment``)."""

    notebook: str
    cell: str
    auto_score: float | None = None
    needs_manual_grade: bool = False
    auto_comment: str | None = None


@dataclass(frozen=True)
class Recorded:
    """Everything autograding writes into the gradebook for one submission."""

    timestamp: datetime | None
    late_penalties: tuple[tuple[str, float | None], ...]
    grades: tuple[CellResult, ...]
    comments: tuple[CellResult, ...]

    @property
    def notebooks(self) -> int:
        return len({cell.notebook for cell in self.grades + self.comments})


def sqlite_path(db_url: str) -> Path:
    """The file behind a ``sqlite:///`` gradebook URL; other databases are not supported here."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or db_url == prefix + ":memory:":
        raise ValueError(f"parallel grading needs an SQLite file gradebook, got {db_url!r}")
    return Path(db_url[len(prefix) :])


def snapshot(source: Path, target: Path) -> None:
    """A consistent copy of the gradebook, even if another program has it open (SQLite backup API)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def read_recorded(db_url: str, assignment: str, student: str) -> Recorded | None:
    """What autograding wrote for one submission in a worker's gradebook; None if it wrote none."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        grades, comments, penalties = [], [], []
        for notebook in submission.notebooks:
            penalties.append((notebook.name, notebook.late_submission_penalty))
            for grade in notebook.grades:
                grades.append(CellResult(notebook.name, grade.name, grade.auto_score, grade.needs_manual_grade))
            for comment in notebook.comments:
                comments.append(CellResult(notebook.name, comment.name, auto_comment=comment.auto_comment))
        return Recorded(submission.timestamp, tuple(penalties), tuple(grades), tuple(comments))


class _FlushOnCommit:
    """A session stand-in whose ``commit`` only flushes.

    nbgrader's ``update_or_create_*`` methods commit after each change; behind this proxy their
    changes stay in one open transaction that ``merge`` commits (or rolls back) as a whole.
    """

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def merge(gradebook: Gradebook, assignment: str, student: str, recorded: Recorded) -> None:
    """Write one submission's autograde results into the course gradebook, all or nothing.

    Student and submission are created with the same nbgrader calls ``nbgrader autograde``
    makes; then exactly the columns autograding sets are copied. Manual scores, manual comments,
    extra credit and flags already in the gradebook are left alone, as serial autograde does.
    """
    session = gradebook.db
    gradebook.db = _FlushOnCommit(session)
    try:
        with warnings.catch_warnings():
            # nbgrader's add_submission builds its rows under autoflush and SQLAlchemy warns
            # ("not in session, add operation ... will not proceed"); serial autograde does the same.
            warnings.simplefilter("ignore", SAWarning)
            _copy_results(gradebook, assignment, student, recorded)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        gradebook.db = session


def _copy_results(gradebook: Gradebook, assignment: str, student: str, recorded: Recorded) -> None:
    """Create student and submission as nbgrader does, then set the columns autograding sets."""
    gradebook.update_or_create_student(student)
    submission = gradebook.update_or_create_submission(assignment, student)
    submission.timestamp = recorded.timestamp
    notebooks = {nb.name: nb for nb in submission.notebooks}
    for name, penalty in recorded.late_penalties:
        notebooks[name].late_submission_penalty = penalty
    grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
    for cell in recorded.grades:
        grade = grades[(cell.notebook, cell.cell)]
        grade.auto_score = cell.auto_score
        grade.needs_manual_grade = cell.needs_manual_grade
    comments = {(nb.name, c.name): c for nb in submission.notebooks for c in nb.comments}
    for cell in recorded.comments:
        comments[(cell.notebook, cell.cell)].auto_comment = cell.auto_comment
