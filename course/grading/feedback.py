"""Feedback that says what each hidden check found without giving the checks away.

``nbgrader generate_feedback`` renders the autograded notebook, and autograding put every
hidden test back into its grade cell, so the HTML shows the hidden tests' code, their seeds and
inputs (nbgrader issue #917): next year's class, or a resubmission, would know the checks.
``HideHiddenTests`` (in ``nbgrader_config.py``'s feedback steps) replaces each hidden region
with a line saying where its results are, drops the raw check records, and shortens the
tracebacks of grade cells to their last line (a traceback quotes the cell's code). The summary
``course.grading.scoring`` wrote stays: each check's name, passed or not, and the mistake it
shows, never a reference value. ``c.HideHiddenTests.hide = False`` restores nbgrader's feedback.
"""

import re

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool

from course.checks import MIME_TYPE, MISTAKE_MIME
from course.grading.scoring import VERDICT_MIME

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*", re.DOTALL | re.MULTILINE)
PLACEHOLDER = "# Testy ukryte: ich wyniki są poniżej. / Hidden tests: their results are below."


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback without the hidden tests' code, records or tracebacks."""

    hide = Bool(True, help="Hide the hidden tests in feedback (False: nbgrader's feedback, code included).").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        if not self.hide or cell.cell_type != "code" or not is_grade(cell) or not HIDDEN.search(cell.source):
            return cell, resources
        cell.source = HIDDEN.sub(PLACEHOLDER, cell.source)
        kept = []
        for output in cell.outputs:
            data = output.get("data", {})
            if {MIME_TYPE, MISTAKE_MIME, VERDICT_MIME} & set(data):
                continue
            if output.get("output_type") == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
            kept.append(output)
        cell.outputs = kept
        return cell, resources
