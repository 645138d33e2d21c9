"""Scores read back from the nbgrader gradebook, and the table the main job prints.

Read from the gradebook (not from the autograded notebooks), because the gradebook is what
``nbgrader export`` and the formgrader see: if the table is right, the exported grades are.
"""

from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from traitlets.config.loader import PyFileConfigLoader

from course.grading.tables import render


@dataclass(frozen=True)
class NotebookScore:
    student: str
    assignment: str
    notebook: str
    score: float
    max_score: float


def gradebook_url(root: Path) -> str:
    """The gradebook URL that the course's ``nbgrader_config.py`` sets."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return str(config.CourseDirectory.db_url)


def read_scores(root: Path, assignments: list[str]) -> list[NotebookScore]:
    """Every graded (student, notebook) of ``assignments``, sorted by student then notebook."""
    rows = []
    with Gradebook(gradebook_url(root)) as gradebook:
        for assignment_id in assignments:
            try:
                assignment = gradebook.find_assignment(assignment_id)
            except MissingEntry:
                continue
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    rows.append(
                        NotebookScore(
                            submission.student.id,
                            assignment_id,
                            notebook.name,
                            float(notebook.score),
                            float(notebook.max_score),
                        )
                    )
    return sorted(rows, key=lambda r: (r.student, r.assignment, r.notebook))


def format_table(rows: list[NotebookScore]) -> str:
    """A plain-text table, one line per student and notebook, with each student's total."""
    if not rows:
        return "no graded submissions"
    header = ("student", "assignment", "notebook", "score")
    lines = [(r.student, r.assignment, r.notebook, f"{r.score:g} / {r.max_score:g}") for r in rows]
    for student in sorted({r.student for r in rows}):
        mine = [r for r in rows if r.student == student]
        total = f"{sum(r.score for r in mine):g} / {sum(r.max_score for r in mine):g}"
        lines.append((student, "TOTAL", "", total))
    lines.sort(key=lambda line: (line[0], line[1] == "TOTAL"))
    return render(header, lines)
