"""nbgrader configuration of the backpropagation course.

Every path is anchored at this file's folder, so a copy of the course (a test's temporary
folder, an instructor's checkout) grades into its own gradebook and never touches another's.
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = str(COURSE_ROOT)
# The embedded SQLite gradebook lives in the course root (git-ignored).
c.CourseDirectory.db_url = f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
# A local exchange inside the course, never /srv or /usr/local/share.
c.Exchange.root = str(COURSE_ROOT / "exchange")

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

# A cell that runs longer than this while autograding is stopped and recorded as an error.
c.Execute.timeout = 60
# What a student sees where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE / TWOJA ODPOWIEDŹ TUTAJ"

# Autograding runs students' code in the bubblewrap sandbox (course/sandbox.py), and hidden
# checks are judged outside the kernel against the reference solution's records
# (course/autograding.py): these two replace nbgrader's plain Execute step.
c.Autograde.autograde_preprocessors = [
    "course.autograding.SandboxedExecute",
    "course.autograding.VerifyHiddenChecks",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# A submission with a deleted test cell gets it back (and its tests run) instead of losing track.
c.OverwriteCells.add_missing_cells = True
