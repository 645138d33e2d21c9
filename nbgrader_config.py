"""nbgrader configuration of the backpropagation course.

Every path is anchored at this file's folder, so a copy of the course (a test's temporary
folder, an instructor's checkout) grades into its own gradebook and never touches another's.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

COURSE_ROOT = Path(__file__).resolve().parent
# nbgrader imports the course's preprocessors (below) by name, in whatever Python runs it. From
# another environment than the course's .venv they then still import, and the sandbox's first
# check says, instead of a dead kernel, that grading kernels need the course's environment.
if (COURSE_ROOT / "course").is_dir() and str(COURSE_ROOT) not in sys.path:
    sys.path.append(str(COURSE_ROOT))

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = str(COURSE_ROOT)
# The gradebook: on one instructor's machine an embedded SQLite file in the course root
# (git-ignored); on a class server a database server, e.g.
# BACKPROP_GRADEBOOK_URL=postgresql+psycopg://instructor@/backprop?host=/var/run/postgresql
c.CourseDirectory.db_url = os.environ.get("BACKPROP_GRADEBOOK_URL") or f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
# nbgrader's exchange: a local one inside the course on one machine; the server's shared folder
# (deploy/, e.g. /srv/nbgrader/exchange) through BACKPROP_EXCHANGE.
c.Exchange.root = os.environ.get("BACKPROP_EXCHANGE") or str(COURSE_ROOT / "exchange")

# Only notebooks and the data files they read reach release/ and autograded/.
c.CourseDirectory.include = ["*.ipynb", "*.csv", "*.npz", "*.npy", "*.json", "*.txt"]
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "__pycache__",
    "*.pyc",
    ".DS_Store",
    "feedback",
    "*.ipynb.bak",
]

# nbconvert validates a notebook against the format's schema once, after the last preprocessor,
# instead of after each of nbgrader's ten or so (a tenth of a grading worker's own CPU time per
# notebook); an invalid notebook is refused all the same, only its error names no preprocessor.
c.Exporter.optimistic_validation = True

# A cell that runs longer than this while autograding is stopped and recorded as an error.
c.Execute.timeout = 60
# What a student sees where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE / TWOJA ODPOWIEDŹ TUTAJ"

# Autograding runs students' code in the bubblewrap sandbox (course/grading/sandbox.py), and hidden
# checks are judged outside the kernel against the reference solution's records
# (course/grading/autograding.py): these two replace nbgrader's plain Execute step.
c.Autograde.autograde_preprocessors = [
    "course.grading.autograding.SandboxedExecute",
    "course.grading.autograding.VerifyHiddenChecks",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback without the hidden tests' code: each check's name, result and the mistake it shows
# (course/grading/feedback.py). c.HideHiddenTests.hide = False gives nbgrader's feedback, code included.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# A submission with a deleted test cell gets it back (and its tests run) instead of losing track.
c.OverwriteCells.add_missing_cells = True
