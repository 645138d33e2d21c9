"""The single-writer gradebook merge: what autograding wrote for a submission, copied all or nothing.

nbgrader's preprocessors commit many small transactions per notebook, and SQLite takes one
writer at a time. So a parallel run snapshots the course gradebook into a private SQLite file (the
assignments' cells and checksums from ``generate_assignment`` are all a worker needs), every
worker grades into its own copy and reads back what autograding wrote for the submission
(``read_recorded``), and the parent process alone applies it to the course gradebook (``merge``),
one transaction per submission. The course gradebook may be SQLite (one instructor's machine) or
a database server such as PostgreSQL (a class server): workers never connect to the server, so
a grading run holds one connection to it, and nothing is written there but whole submissions.

The merge goes through nbgrader's ``update_or_create_*`` calls, keyed by (student, assignment,
notebook, cell) under the schema's unique constraints: an interrupted run keeps every
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

from nbgrader.api import Base, Gradebook, MissingEntry
from sqlalchemy import Column, MetaData, String, Table, create_engine, make_url
from sqlalchemy.exc import SAWarning

# nbgrader stamps every gradebook with its schema's alembic revision, outside its own metadata.
ALEMBIC_VERSION = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False))


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


def sqlite_file(db_url: str) -> Path | None:
    """The file behind a ``sqlite:///`` gradebook URL; None for a database server's URL."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise ValueError(f"a gradebook in memory cannot be shared with grading workers: {db_url!r}")
    return Path(url.database)


def snapshot(db_url: str, target: Path) -> None:
    """A consistent private SQLite copy of the course gradebook at ``db_url``, in ``target``.

    An SQLite gradebook is copied with SQLite's backup API, consistent even while another program
    (the formgrader) has it open. A server's gradebook is read table by table in one
    repeatable-read transaction into nbgrader's own schema, so the copy is one moment's state.
    """
    path = sqlite_file(db_url)
    if path is not None:
        with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return
    source, copy = create_engine(db_url), create_engine(f"sqlite:///{target}")
    try:
        tables = [*Base.metadata.sorted_tables, ALEMBIC_VERSION]
        Base.metadata.create_all(copy)
        ALEMBIC_VERSION.create(copy)
        with source.connect().execution_options(isolation_level="REPEATABLE READ") as read, copy.begin() as write:
            for table in tables:
                rows = [dict(row._mapping) for row in read.execute(table.select())]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        source.dispose()
        copy.dispose()


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
