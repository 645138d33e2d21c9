"""The class-wide mistake report: per exercise, how many got it right and which mistakes they made.

Read from the autograded notebooks after grading (the verdicts ``course.grading.scoring`` left
in each grade cell, and the kernel's error where a cell failed before its hidden checks), so it
describes exactly what was graded. Each student counts once per exercise and outcome. Printed
as a table after the scores, written as ``reports/mistakes.csv`` and drawn as
``reports/mistakes.png`` in the course root: what to teach again next week.
"""

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nbformat.reader
from nbgrader.utils import is_grade

from course.grading.scoring import VERDICT_MIME
from course.grading.tables import render

RIGHT, PARTLY, WRONG = "right", "partly right", "hidden checks fail"
# Why a grade cell failed in the kernel, by the error's name.
KERNEL_OUTCOMES = {
    "NotImplementedError": "not attempted",
    "AssertionError": "visible tests fail",
    "NotRun": "kernel died before it",
    "KernelDied": "kernel died in it",
    "CellTimeoutError": "too slow",
}
REPORTS = "reports"


@dataclass
class Exercise:
    """One grade cell of one notebook and what the class did in it: each student's outcome (one
    each: right, partly right, wrong, or why the cell failed in the kernel) and the mistakes named."""

    assignment: str
    notebook: str
    grade_id: str
    students: int = 0
    outcomes: Counter = field(default_factory=Counter)
    mistakes: Counter = field(default_factory=Counter)


def outcome_of(cell: nbformat.NotebookNode) -> tuple[str, set[str]]:
    """One student's graded cell: its outcome, and the mistakes its failed hidden checks showed."""
    for output in cell.get("outputs", []):
        verdict = output.get("data", {}).get(VERDICT_MIME)
        if verdict is not None:
            failed = [check for check in verdict["checks"] if not check["passed"]]
            outcome = RIGHT if not failed else PARTLY if verdict["score"] > 0 else WRONG
            return outcome, {check["mistake"] for check in failed if check["mistake"]}
        if output.get("output_type") == "error":
            return KERNEL_OUTCOMES.get(output["ename"], f"error: {output['ename']}"), set()
    return RIGHT, set()  # no hidden checks and no error: nbgrader's full marks


def tally(root: Path, assignments: Iterable[str]) -> list[Exercise]:
    """Every grade cell of ``assignments`` with the outcomes of every autograded student."""
    exercises: dict[tuple[str, str, str], Exercise] = {}
    for assignment in assignments:
        for path in sorted((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
            # nbgrader wrote it (format 4, valid): read without validating again, a third of the time,
            # which counts for a class (1,600 notebooks: 2 s instead of 5, after the grading).
            for cell in nbformat.reader.reads(path.read_text(encoding="utf-8")).cells:
                if cell.cell_type != "code" or not is_grade(cell):
                    continue
                key = (assignment, path.stem, cell.metadata.nbgrader.grade_id)
                exercise = exercises.setdefault(key, Exercise(*key))
                outcome, mistakes = outcome_of(cell)
                exercise.students += 1
                exercise.outcomes[outcome] += 1
                exercise.mistakes.update(mistakes)
    return [exercises[key] for key in sorted(exercises)]


def counted(counter: Counter) -> str:
    return ", ".join(f"{name} {count}" for name, count in counter.most_common()) or "-"


def rows(exercises: list[Exercise]) -> list[tuple[str, str, int, int, str, str]]:
    """(assignment, exercise, students, right, the other outcomes, the mistakes named), most frequent first."""
    return [
        (
            e.assignment,
            e.grade_id,
            e.students,
            e.outcomes[RIGHT],
            counted(Counter({k: v for k, v in e.outcomes.items() if k != RIGHT})),
            counted(e.mistakes),
        )
        for e in exercises
    ]


def format_report(exercises: list[Exercise]) -> str:
    header = ("assignment", "exercise", "students", "right", "not right (students)", "mistakes named (students)")
    return render(header, rows(exercises))


def write_csv(exercises: list[Exercise], path: Path) -> Path:
    """One row per exercise and outcome or mistake: assignment, notebook, exercise, kind, what, students, of."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["assignment", "notebook", "exercise", "kind", "what", "students", "of"])
        for e in exercises:
            for kind, counter in (("outcome", e.outcomes), ("mistake", e.mistakes)):
                for what, count in sorted(counter.items()):
                    writer.writerow([e.assignment, e.notebook, e.grade_id, kind, what, count, e.students])
    return path


def draw(exercises: list[Exercise], path: Path) -> Path:
    """A bar per exercise split into the shares of its outcomes, the mistakes named beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({k for e in exercises for k in e.outcomes}, key=lambda k: (k != RIGHT, k != PARTLY, k))
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(exercises) + 2.2))
    labels = [f"{e.assignment[:2]} {e.grade_id}" for e in exercises]
    left = [0.0] * len(exercises)
    colors = plt.get_cmap("tab10").colors
    for number, kind in enumerate(kinds):
        shares = [e.outcomes[kind] / e.students for e in exercises]
        ax.barh(labels, shares, left=left, label=kind, color=colors[number % len(colors)])
        left = [a + b for a, b in zip(left, shares, strict=True)]
    for row, e in enumerate(exercises):
        if e.mistakes:
            ax.text(1.02, row, counted(e.mistakes), va="center", fontsize="small")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("udział studentów / share of students")
    ax.set_title("Wyniki i nazwane błędy, zadanie po zadaniu / Outcomes and named mistakes, exercise by exercise")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4, fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def report(root: Path, assignments: Iterable[str]) -> str:
    """Tally, write ``reports/mistakes.csv`` and ``.png``, and return the table with where they are."""
    exercises = tally(root, assignments)
    if not exercises:
        return "no autograded notebooks to report on"
    csv_path = write_csv(exercises, root / REPORTS / "mistakes.csv")
    png_path = draw(exercises, root / REPORTS / "mistakes.png")
    return f"{format_report(exercises)}\n(written to {csv_path} and {png_path})"
