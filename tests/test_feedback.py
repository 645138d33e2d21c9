"""Feedback that teaches, on a real class of notebook 02 graded by the main job: partial credit per
hidden check in the gradebook, mistakes named in both languages, feedback HTML without the hidden
tests or a reference value, and the class-wide mistake report."""

import csv
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.checks import MISTAKE_MIME
from course.grading import expectations, pipeline
from course.grading.mistakes import KERNEL_OUTCOMES, PARTLY, RIGHT, WRONG
from course.grading.scores import gradebook_url, read_scores
from tests.support.course import REGIONS, copy_course, partly_solved, submit

pytestmark = pytest.mark.slow  # nbgrader, real grading kernels, feedback for a small class

ASSIGNMENT, NOTEBOOK = "02_backprop_network", "backprop_network"
OUTCOMES = {RIGHT, PARTLY, WRONG, *KERNEL_OUTCOMES.values()}
# The two mistakes the notebook's author declared (tests/test_named_mistakes.py checks every
# declared one), each made by one student as a one-line change to the reference solution.
SLIPS = {
    # right for one example, wrong for a batch (len is the batch size there): half of output_delta's
    # hidden checks pass; the batch exercises' visible tests fail (the student saw that).
    "len_slip": ("backprop_output_delta", "n_out = y_out.shape[-1]", "n_out = len(y_out)"),
    # the visible batch has N = 2: hard-coding it passes the visible tests, not the hidden ones (N = 7).
    "fixed_n": ("backprop_batch_matmul", "n_examples = X.shape[0]", "n_examples = 2"),
}
NAMED = {"len_slip": "n_L taken from len(y)", "fixed_n": "batch size fixed at the visible test's"}
# A slip no author declared, which the visible tests (dW1, db1, db3) do not see: layer 2's dW three
# times too large. Only the generic diagnoses can name it.
GENERIC = (
    "backprop_batch_matmul",
    "activations[layer - 1].T @ delta / n_examples,",
    "activations[layer - 1].T @ delta / n_examples * (3 if layer == 2 else 1),",
)


def slipped(root: Path, grade_id: str, right: str, wrong: str) -> nbformat.NotebookNode:
    source = root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    notebook = partly_solved(source, root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", lambda ids: ids)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert right in cell.source
    cell.source = cell.source.replace(right, wrong)
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, str]:
    """The class graded by the main job, then its feedback generated: (course root, printed report)."""
    root = copy_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    for student, slip in [*SLIPS.items(), ("generic", GENERIC)]:
        submit(root, student, ASSIGNMENT, {f"{NOTEBOOK}.ipynb": slipped(root, *slip)})
    printed = pipeline.run(root, [ASSIGNMENT])
    pipeline.run_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    return root, printed


def feedback(root: Path, student: str) -> str:
    return (root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()


def grades(root: Path, student: str) -> dict[str, float]:
    with Gradebook(gradebook_url(root)) as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {grade.name: grade.auto_score for grade in notebook.grades}


def test_each_hidden_check_earns_its_share_in_the_gradebook(graded):
    root, _ = graded
    slip = grades(root, "len_slip")
    assert slip["test_backprop_output_delta"] == 0.5  # 1 of its 2 hidden checks, of 1 point
    assert slip["test_backprop_batch_broadcast"] == slip["test_backprop_batch_matmul"] == 0  # visible tests fail
    assert grades(root, "fixed_n")["test_backprop_batch_matmul"] == 0  # both hidden batches have N = 7
    scores = {s.student: s.score for s in read_scores(root, [ASSIGNMENT])}
    assert scores == {"reference": 14, "blank": 0, "len_slip": 9.5, "fixed_n": 12, "generic": 12}
    for student in scores:  # the notebook's score is the sum of its cells', partial credit included
        assert sum(grades(root, student).values()) == scores[student]


def test_the_export_carries_the_partial_credit(graded):
    root, _ = graded
    pipeline.run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with (root / "grades.csv").open() as exported:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(exported)}
    assert rows["len_slip"] == 9.5


def test_the_feedback_names_each_check_and_the_mistake_in_both_languages(graded):
    root, _ = graded
    slip = feedback(root, "len_slip")
    assert "Hidden tests: 1 of 2 passed, 0.5 of 1 points." in slip and "Testy ukryte: 1 z 2 zaliczone" in slip
    assert "✓ output_delta: one example" in slip and "✗ output_delta: batch" in slip
    assert "EN: n_L taken from len(y): for a batch, len counts the examples, not the outputs" in slip
    assert "PL: n_L wzięte z len(y): dla paczki len liczy przykłady, nie wyjścia" in slip
    fixed = feedback(root, "fixed_n")
    assert "Hidden tests: 0 of 2 passed, 0 of 2 points." in fixed and "HiddenTestFailed" in fixed
    assert fixed.count("EN: dW divided by a fixed N = 2") == 2 and "PL: dW dzielone przez stałe N = 2" in fixed
    generic = feedback(root, "generic")
    assert "EN: item [1][0]: the values are 3 times too large" in generic
    assert "PL: element [1][0]: wartości są 3 razy za duże" in generic


def test_no_mistake_is_computed_in_a_students_kernel(graded):
    root, _ = graded
    for path in (root / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb"):
        outputs = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])]
        assert not [o for o in outputs if MISTAKE_MIME in o.get("data", {})], path


def hidden_lines(notebook: Path) -> set[str]:
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    return {
        line.strip()
        for match in REGIONS.finditer(text)
        if match.group(1) == "HIDDEN TESTS"
        for line in match.group(2).splitlines()
        if len(line.strip()) > 3
    }


@pytest.mark.parametrize("student", ["reference", "blank", "len_slip", "fixed_n", "generic"])
def test_the_feedback_shows_no_hidden_test_and_no_reference_value(graded, student):
    root, _ = graded
    html = feedback(root, student)
    secrets = hidden_lines(root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    assert len(secrets) > 10
    text = html.replace("&quot;", '"').replace("&#39;", "'").replace("&gt;", ">").replace("&lt;", "<")
    assert not [line for line in secrets if line in text], "a hidden-test line is in the feedback"
    assert "BEGIN HIDDEN TESTS" not in text and "Hidden tests: their results are below" in text
    reference = expectations.load(root, ASSIGNMENT, NOTEBOOK)
    values = {f"{x:.6g}" for records in reference.values() for r in records for x in numbers(r["value"])}
    shown = set(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text))
    assert len(values) > 50 and not values & shown, "a reference value is in the feedback"


def numbers(value) -> list[float]:
    """The numbers of a recorded value worth looking for: not round ones, which any text has."""
    if isinstance(value, dict) and "array" in value:
        value = value["array"]
    found = value if isinstance(value, list) else [value]
    flat = [x for item in found for x in (numbers(item) if isinstance(item, list | dict) else [item])]
    return [x for x in flat if isinstance(x, float) and not float(x).is_integer() and abs(x) > 1e-3]


def test_an_instructor_can_have_nbgraders_feedback_back(graded, tmp_path):
    root, _ = graded
    pipeline.run_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force", "--HideHiddenTests.hide=False")
    text = feedback(root, "len_slip").replace("&quot;", '"')
    assert "### BEGIN HIDDEN TESTS" in text
    pipeline.run_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")  # as the other tests read it
    assert "### BEGIN HIDDEN TESTS" not in feedback(root, "len_slip")


def test_the_class_report_counts_every_outcome(graded):
    root, printed = graded
    with (root / "reports" / "mistakes.csv").open() as report:
        rows = {(r["exercise"], r["what"]): (int(r["students"]), int(r["of"])) for r in csv.DictReader(report)}
    delta, matmul = "test_backprop_output_delta", "test_backprop_batch_matmul"
    assert rows[(delta, "right")] == (3, 5)  # reference, fixed_n, generic
    assert rows[(delta, "partly right")] == rows[(delta, NAMED["len_slip"])] == (1, 5)
    assert rows[(delta, "not attempted")] == (1, 5)  # blank
    assert rows[(matmul, "right")] == rows[(matmul, "not attempted")] == (1, 5)
    assert rows[(matmul, "visible tests fail")] == (1, 5)  # len_slip
    assert rows[(matmul, "hidden checks fail")] == (2, 5)  # fixed_n, generic
    assert rows[(matmul, NAMED["fixed_n"])] == rows[(matmul, "too large by a factor")] == (1, 5)
    assert sum(n for (exercise, what), (n, _) in rows.items() if exercise == delta and what in OUTCOMES) == 5
    assert (root / "reports" / "mistakes.png").stat().st_size > 10_000
    line = next(line for line in printed.splitlines() if line.split()[1:2] == [matmul])
    assert line.split()[2:4] == ["5", "1"] and f"{NAMED['fixed_n']} 1" in line, printed
