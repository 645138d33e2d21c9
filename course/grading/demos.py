"""Which cells only demonstrate, by one rule shared by grading, the reference records and the tests.

A demonstration cell (timings, training runs, plots) is a read-only code cell tagged ``demo`` that
no grade or solution cell needs; grading skips it, so it costs nothing per submission. The rule
lives apart from the preprocessors so that ``expectations`` can apply it without importing them.
"""

from nbformat.notebooknode import NotebookNode
from nbgrader.utils import is_grade, is_locked, is_solution

DEMO_TAG = "demo"
# What a skipped demonstration cell shows in the autograded notebook and its feedback.
NOT_RUN_NOTE = (
    "Demonstracja: nie uruchamiana przy ocenianiu (uruchom ją w swoim notatniku).\n"
    "Demonstration: not run when grading (run it in your own notebook).\n"
)


def is_demo(cell: NotebookNode) -> bool:
    """A read-only code cell that only demonstrates: no grade or solution cell needs what it computes.

    Grade and solution cells never count, whatever their tags say: a submission's metadata is the
    student's to edit, and a grade cell that is skipped would have no error to score it zero.
    """
    return (
        cell.cell_type == "code"
        and DEMO_TAG in cell.get("metadata", {}).get("tags", [])
        and is_locked(cell)
        and not is_grade(cell)
        and not is_solution(cell)
    )
