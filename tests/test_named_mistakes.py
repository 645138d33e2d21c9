"""Every mistake a notebook's author declares beside a hidden test is named when a student makes it.

For each declared mistake, a submission built from the reference with exactly that slip (one line
of one solution) is judged as grading judges it (``course.grading.scoring``) against the records
the reference made in a kernel (``course.grading.expectations``): the failed checks name the
mistake in both languages and the cell keeps the share of the checks the slip does not touch.
(tests/test_feedback.py follows two of them through real grading, feedback and the class report.)
"""

import re

import nbformat
import pytest

from course.checks import MIME_TYPE
from course.grading import expectations, scoring
from tests.support.course import REGIONS, student_code
from tests.support.nbrun import SOURCE, nbgrader_meta, run_notebook, source_notebooks

pytestmark = pytest.mark.slow  # the reference records are made in a kernel

# (notebook, solution cell, the right line, the slip, its grade cell): kind, checks failed / of, points
SLIPS = {
    ("02_backprop_network", "backprop_output_delta", "n_out = y_out.shape[-1]", "n_out = len(y_out)"): (
        "test_backprop_output_delta",
        "n_L taken from len(y)",
        (1, 2),
        0.5,
    ),
    ("02_backprop_network", "backprop_batch_matmul", "n_examples = X.shape[0]", "n_examples = 2"): (
        "test_backprop_batch_matmul",
        "batch size fixed at the visible test's",
        (2, 2),
        0,
    ),
    ("03_layers_softmax_dropout", "layers_cce", "/ y_pred.shape[0]", "/ 3"): (
        "test_layers_cce",
        "batch size fixed at the visible test's",
        (3, 6),
        1,
    ),
}
DECLARED = re.compile(r"^\s*mistake\(", re.MULTILINE)


def declarations(path) -> int:
    """How many ``mistake(`` calls the notebook's hidden tests hold."""
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    return sum(len(DECLARED.findall(m.group(2))) for m in REGIONS.finditer(text) if m.group(1) == "HIDDEN TESTS")


def test_every_declared_mistake_has_a_slip_here():
    declared = {p.parent.name: declarations(p) for p in source_notebooks() if declarations(p)}
    slipped = {notebook for notebook, *_ in SLIPS}
    assert set(declared) == slipped, "a notebook declares mistakes no slip here makes, or the other way round"
    assert sum(declared.values()) == len(SLIPS)


@pytest.fixture(scope="module")
def references() -> dict:
    return {notebook: expectations.compute(next((SOURCE / notebook).glob("*.ipynb"))) for notebook, *_ in SLIPS}


@pytest.mark.parametrize("slip", SLIPS, ids=lambda s: f"{s[1]}: {s[3]}")
def test_a_slip_gets_its_named_diagnosis_and_its_share(slip, references):
    notebook, solution, right, wrong = slip
    grade_id, kind, (failed, of), points = SLIPS[slip]
    path = next((SOURCE / notebook).glob("*.ipynb"))
    (source,) = [
        c.source for c in nbformat.read(path, as_version=4).cells if nbgrader_meta(c).get("grade_id") == solution
    ]
    assert right in source
    run = run_notebook(path, replace={solution: student_code(source).replace(right, wrong)}, demos=False)
    assert run.grades[grade_id] is None, f"the slip fails the visible tests: {run.grades[grade_id]!r}"
    outputs = [{"output_type": "display_data", "data": {MIME_TYPE: r}} for r in run.records[grade_id]]
    judged = scoring.judge(references[notebook][grade_id], outputs)
    wrong_checks = [j for j in judged if not j.verdict.passed]
    assert (len(wrong_checks), len(judged)) == (failed, of)
    assert {j.diagnosis.kind for j in wrong_checks} == {kind}
    assert all(j.diagnosis.pl != j.diagnosis.en for j in wrong_checks)
    cell_points = next(
        nbgrader_meta(c)["points"] for c in nbformat.read(path, 4).cells if nbgrader_meta(c).get("grade_id") == grade_id
    )
    assert scoring.share(cell_points, judged) == points
