"""Submissions that try to cheat or are broken, graded by the real pipeline in a copy of the course.

Every case is built from the real notebook 02 and its reference solution, graded in one run of
the instructor's main job (sandboxed, parallel), and must get the right score, a message that
says why, and leave every other student graded.
"""

import re
import shutil
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

from course.grading import pipeline
from course.grading.parallel import grade
from course.grading.scores import read_scores
from tests.support.course import copy_course, submit
from tests.support.nbrun import REPO

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

ASSIGNMENT = "02_backprop_network"
NAME = "backprop_network.ipynb"
TIMEOUT = 10  # seconds per cell in this copy: the infinite loop costs little, a busy machine's slow cell passes


def cells_by_id(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def reference():
    return nbformat.read(REPO / "source" / ASSIGNMENT / NAME, as_version=4)


def released():
    return nbformat.read(REPO / "release" / ASSIGNMENT / NAME, as_version=4)


def with_solution(nb, grade_id, source):
    cells_by_id(nb)[grade_id].source = source
    return nb


POINTS = {g: c.metadata.nbgrader["points"] for g, c in cells_by_id(reference()).items() if c.metadata.nbgrader["grade"]}
FULL = sum(POINTS.values())

READ_SOURCE = f"""
import json
solution = json.load(open({str(REPO / "source" / ASSIGNMENT / NAME)!r}))
for cell in solution["cells"]:
    if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
        exec("".join(cell["source"]))
"""
WRITE_GRADEBOOK = """
import sqlite3
db = sqlite3.connect({path!r})
db.execute("UPDATE grade SET auto_score = 99")
db.commit()
"""
SILENCE_TESTS = """
import numpy
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
AssertionError = type("AssertionError", (Exception,), {})
record = lambda *a, **k: None
def forward(x, layers):
    return [x] * (len(layers) + 1)
"""


def build_submissions(root):
    """student -> (what the folder holds). Returns the expected score of each student."""
    expected = {}

    def hand_in(student, notebook=None, name=NAME, score=None):
        """``notebook`` (a notebook, or raw text) handed in as ``name``; without one, an empty folder."""
        submit(root, student, ASSIGNMENT, {} if notebook is None else {name: notebook})
        expected[student] = score

    hand_in(
        "loops_forever",
        with_solution(reference(), "backprop_mse_loss", "while True:\n    pass"),
        score=FULL - POINTS["test_backprop_mse_loss"],
    )
    hand_in(
        "kills_kernel",
        with_solution(reference(), "backprop_hidden_delta", "import os\nos._exit(1)"),
        score=sum(POINTS[g] for g in ("test_backprop_forward", "test_backprop_mse_loss", "test_backprop_output_delta")),
    )
    hand_in(
        "hogs_memory",
        with_solution(reference(), "backprop_mse_loss", "import numpy as np\nhog = np.ones(3 * 2**27)\nhog[:] = 1"),
        score=FULL - POINTS["test_backprop_mse_loss"],
    )
    hand_in("not_json", '{"cells": [', score=0)
    hand_in("empty_json", "{}", score=0)
    nb = reference()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_backprop_forward"]
    hand_in("deleted_test", nb, score=FULL)
    nb = reference()
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    i, j = ids.index("backprop_forward"), ids.index("test_backprop_forward")
    nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
    hand_in("reordered", nb, score=FULL - POINTS["test_backprop_forward"])
    nb = reference()
    cells_by_id(nb)["test_backprop_gradients"].source = "pass  # the test is gone"
    hand_in(
        "edited_test",
        with_solution(nb, "backprop_gradients", "def gradients(x, y_true, layers):\n    return []"),
        score=FULL - POINTS["test_backprop_gradients"],
    )
    hand_in("silences_tests", with_solution(released(), "backprop_forward", SILENCE_TESTS), score=0)
    hand_in("reads_source", with_solution(released(), "backprop_forward", READ_SOURCE), score=0)
    gradebook = str(root / "gradebook.db")
    hand_in(
        "writes_gradebook",
        with_solution(released(), "backprop_forward", WRITE_GRADEBOOK.format(path=gradebook)),
        score=0,
    )
    nb = released()
    demo = next(c for c in nb.cells if "demo" in c.metadata.get("tags", []))
    demo.source = "\n".join(c.source for c in reference().cells if c.metadata.get("nbgrader", {}).get("solution"))
    for cell in nb.cells:
        cell.metadata["tags"] = ["demo"]  # and every grade cell claims to be a demonstration
    hand_in("solves_in_demo", nb, score=0)
    hand_in("wrong_name", reference(), name="Backprop_network (1).ipynb", score=0)
    hand_in("extra_notebook", reference(), score=FULL)
    hand_in("extra_notebook", reference(), name="scratch.ipynb", score=FULL)
    hand_in("empty_folder", score=None)  # None: never graded, no gradebook entry
    return expected


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("adversarial"), [ASSIGNMENT])
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.Execute.timeout = {TIMEOUT}\n")
    expected = build_submissions(root)
    report = pipeline.run(root, [ASSIGNMENT])
    scores = {s.student: s.score for s in read_scores(root, [ASSIGNMENT])}
    return root, expected, scores, report


def autograded_errors(root, student):
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / NAME, as_version=4)
    return "\n".join(
        f"{o.ename}: {o.evalue}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    )


CASES = [
    "loops_forever",
    "kills_kernel",
    "hogs_memory",
    "not_json",
    "empty_json",
    "deleted_test",
    "reordered",
    "edited_test",
    "silences_tests",
    "reads_source",
    "writes_gradebook",
    "solves_in_demo",
    "wrong_name",
    "extra_notebook",
    "empty_folder",
]


@pytest.mark.parametrize("student", CASES)
def test_each_bad_submission_gets_the_right_score(graded, student):
    _, expected, scores, report = graded
    if expected[student] is None:
        assert student not in scores, "a folder without a notebook is not graded, as under nbgrader"
    else:
        assert scores[student] == expected[student], report


def test_the_honest_examples_are_graded_alongside(graded):
    _, _, scores, _ = graded
    assert scores["reference"] == FULL and scores["blank"] == 0


@pytest.mark.parametrize(
    ("student", "message"),
    [
        ("loops_forever", "CellTimeoutError"),
        ("kills_kernel", "KernelDied: the kernel stopped while running this cell"),
        ("hogs_memory", "MemoryError"),
        ("silences_tests", "HiddenTestFailed"),
        ("reads_source", "FileNotFoundError"),
        ("writes_gradebook", "OperationalError"),  # no gradebook there to open (or an empty private one)
        ("solves_in_demo", "NotImplementedError"),  # the demo cell was restored and skipped; the stubs ran
    ],
)
def test_the_feedback_says_what_happened(graded, student, message):
    root, *_ = graded
    assert message in autograded_errors(root, student)


@pytest.mark.parametrize(
    ("student", "message"),
    [
        ("not_json", "is not valid JSON"),
        ("deleted_test", "cells deleted: test_backprop_forward"),
        ("reordered", "out of order"),
        ("wrong_name", "was it renamed?"),
        ("extra_notebook", "scratch.ipynb is not part of the assignment"),
        ("empty_folder", "no notebook submitted"),
    ],
)
def test_the_report_names_broken_submissions(graded, student, message):
    *_, report = graded
    assert re.search(rf"^{student}\b.*{re.escape(message)}", report, re.MULTILINE), report


def test_notebooks_nbgrader_cannot_grade_are_failures_that_say_why(graded):
    """Unreadable or renamed: not a crash of the run but a FAILED line with nbgrader's reason each,
    and the command that grades them again once fixed."""
    *_, report = graded
    failed = dict(re.findall(rf"^FAILED (\w+)/{ASSIGNMENT}: (.*)$", report, re.MULTILINE))
    assert set(failed) == {"empty_json", "not_json", "wrong_name"}, report
    assert all(reason.strip() for reason in failed.values()), f"a failure without a reason: {failed}"
    retry = " ".join(f"--student {student}" for student in sorted(failed))
    assert f"python -m course.grading.parallel {ASSIGNMENT} {retry}" in report


def test_the_gradebook_was_not_touched_from_inside(graded):
    root, *_ = graded
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("SELECT count(*) FROM grade WHERE auto_score = 99").fetchone() == (0,)


# Regraded by the interrupted run below: honest, broken and hostile submissions side by side
# (a class's worth would only make the kill later and the rerun longer).
REGRADED = ["reference", "blank", "kills_kernel", "reordered", "extra_notebook"]


def test_interrupted_grading_can_be_rerun_without_losing_or_doubling(graded):
    root, _, scores, _ = graded
    for student in REGRADED:
        shutil.rmtree(root / "autograded" / student)
    selection = [arg for student in REGRADED for arg in ("--student", student)]
    process = subprocess.Popen(
        [sys.executable, "-m", "course.grading.parallel", ASSIGNMENT, "--root", str(root), *selection],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120

    def regraded() -> list[str]:
        return [s for s in REGRADED if (root / "autograded" / s / ASSIGNMENT / NAME).exists()]

    while not regraded() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is None, "grading ended before it could be killed: nothing was interrupted"
    process.kill()
    process.wait()
    assert len(regraded()) < len(REGRADED), "the kill came after the last submission"
    grade(root, [ASSIGNMENT], students=REGRADED, progress=False)  # the rerun
    assert regraded() == REGRADED
    again = read_scores(root, [ASSIGNMENT])
    assert {s.student: s.score for s in again} == scores
    keys = [(s.student, s.notebook) for s in again]
    assert len(keys) == len(set(keys))
    with sqlite3.connect(root / "gradebook.db") as db:
        (duplicates,) = db.execute(
            "SELECT count(*) FROM (SELECT notebook_id, cell_id, count(*) AS n FROM grade "
            "GROUP BY notebook_id, cell_id HAVING n > 1)"
        ).fetchone()
    assert duplicates == 0
