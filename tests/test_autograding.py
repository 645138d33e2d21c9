"""The autograding preprocessors: a dying kernel and forged or wrong hidden results."""

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from course.grading.autograding import SandboxedExecute, VerifyHiddenChecks
from course.grading.demos import NOT_RUN_NOTE
from course.grading.expectations import HELPERS, ReferenceFailure, compute, fingerprint, load
from tests.support.nbrun import SOURCE

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser


def grade_cell(source: str, grade_id: str) -> nbformat.NotebookNode:
    meta = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": grade_id, "schema_version": 3}
    return new_code_cell(source, metadata={"nbgrader": meta})


def demo_cell(source: str) -> nbformat.NotebookNode:
    """A read-only demonstration cell, as the course's notebooks mark them."""
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": "a_demo", "schema_version": 3}
    return new_code_cell(source, metadata={"nbgrader": meta, "tags": ["demo"]})


def notebook(solution: str, *extra: str | nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_code_cell("from course.checks import record"),
            new_code_cell(solution),
            grade_cell("assert double(1) == 2\nrecord('double 21', double(21))", "test_double"),
            *[new_code_cell(cell) if isinstance(cell, str) else cell for cell in extra],
            grade_cell("assert double(2) == 4\nrecord('double 5', double(5))", "test_double_again"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


REFERENCE = "def double(x):\n    return 2 * x"
PASTED = "def double(x):\n    return {1: 2, 2: 4}.get(x, 0)"


@pytest.fixture
def course(tmp_path):
    """A one-notebook course: source/a/nb.ipynb holds the reference solution."""
    (tmp_path / "source" / "a").mkdir(parents=True)
    nbformat.write(notebook(REFERENCE), tmp_path / "source" / "a" / "nb.ipynb")
    (tmp_path / "work").mkdir()
    return tmp_path


def autograde(course, nb, **execute):
    resources = {
        "nbgrader": {"assignment": "a", "notebook": "nb", "student": "s"},
        "metadata": {"path": str(course / "work")},
    }
    config = Config({"CourseDirectory": {"root": str(course)}})
    nb, resources = SandboxedExecute(config=config, timeout=60, **execute).preprocess(nb, resources)
    nb, _ = VerifyHiddenChecks(config=config).preprocess(nb, resources)
    return {cell.metadata.nbgrader.grade_id: cell.outputs for cell in nb.cells if "nbgrader" in cell.metadata}


def errors(outputs) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]


# What a pasted answer gets in its grade cell, in both languages (course.checks).
PASTED_FAILS = (
    "HiddenTestFailed: double 21: wartość jest inna (największa różnica względna 1) / "
    "the value differs (largest relative difference 1)"
)


def test_the_reference_passes(course):
    outputs = autograde(course, notebook(REFERENCE))
    assert errors(outputs["test_double"]) == errors(outputs["test_double_again"]) == []


def test_answers_pasted_for_the_visible_inputs_fail_the_hidden_checks(course):
    outputs = autograde(course, notebook(PASTED))
    assert errors(outputs["test_double"]) == [PASTED_FAILS]


def test_switching_off_assertions_and_records_earns_nothing(course):
    cheat = PASTED + "\nimport numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None"
    cheat += "\nrecord = lambda *a, **k: None"
    outputs = autograde(course, notebook(cheat))
    assert errors(outputs["test_double"]) == [
        "HiddenTestFailed: ukryty test 'double 21' nie został uruchomiony / hidden check 'double 21' did not run"
    ]


def test_a_kernel_that_dies_zeroes_the_rest_and_says_why(course):
    outputs = autograde(course, notebook(REFERENCE, "import os\nos._exit(3)"))
    assert errors(outputs["test_double"]) == []
    assert errors(outputs["test_double_again"]) == ["NotRun: not run: the kernel died in cell 4"]


def test_demonstration_cells_are_skipped_with_a_note(course):
    """A demo cell that would kill the kernel is not run when grading; the cell says so instead."""
    nb = notebook(REFERENCE, demo_cell("import os\nos._exit(3)"))
    outputs = autograde(course, nb)
    assert errors(outputs["test_double"]) == errors(outputs["test_double_again"]) == []
    assert [o.get("text") for o in outputs["a_demo"]] == [NOT_RUN_NOTE]
    assert "not run when grading" in NOT_RUN_NOTE and "nie uruchamiana przy ocenianiu" in NOT_RUN_NOTE


def test_an_instructor_can_run_the_demonstrations_too(course):
    outputs = autograde(course, notebook(REFERENCE, demo_cell("import os\nos._exit(3)")), run_demonstrations=True)
    assert errors(outputs["test_double_again"]) == ["NotRun: not run: the kernel died in cell 4"]


def test_a_grade_cell_tagged_demo_still_runs(course):
    """Tags are the student's to edit: a grade cell that was skipped would have no error to score it zero."""
    nb = notebook(PASTED)
    for cell in nb.cells:
        cell.metadata["tags"] = ["demo"]
    outputs = autograde(course, nb)
    assert errors(outputs["test_double"]) == [PASTED_FAILS]


def test_reference_records_are_cached_and_refreshed(course):
    first = load(course, "a", "nb")
    assert first == {
        "test_double": [{"name": "double 21", "value": 42.0, "rtol": 1e-7, "atol": 1e-12}],
        "test_double_again": [{"name": "double 5", "value": 10.0, "rtol": 1e-7, "atol": 1e-12}],
    }
    nbformat.write(notebook("def double(x):\n    return x + x + 0.5 * (x == 21)"), course / "source" / "a" / "nb.ipynb")
    assert load(course, "a", "nb")["test_double"][0]["value"] == 42.5


def test_reference_records_are_made_with_the_demonstrations_skipped(course):
    """The records are those of the run grading makes: had the reference run this demonstration,
    which rebinds the function, a grading run (which skips it) of the reference itself would fail."""
    rebinding = demo_cell("double = lambda x, double=double: double(x) + (x == 5)")
    nbformat.write(notebook(REFERENCE, rebinding), course / "source" / "a" / "nb.ipynb")
    assert load(course, "a", "nb")["test_double_again"] == [
        {"name": "double 5", "value": 10.0, "rtol": 1e-7, "atol": 1e-12}
    ]


def test_skipping_the_demonstrations_leaves_the_course_reference_records_unchanged(reference_runs):
    """The records grading judges against (demonstrations skipped, in a kernel) equal those of a
    full run, which the tests of figures and printed output read and the pasted-answers test
    judges against. Notebook 05: its demonstrations train networks, the likeliest way to leave
    state behind that a later grade cell would record."""
    path = SOURCE / "05_training_loop" / "training_loop.ipynb"
    assert compute(path) == reference_runs(path).records


def test_a_broken_reference_stops_grading(course):
    nbformat.write(notebook("def double(x):\n    return 3 * x"), course / "source" / "a" / "nb.ipynb")
    with pytest.raises(ReferenceFailure, match="the reference fails its grade cell test_double"):
        load(course, "a", "nb")


def test_the_reference_records_depend_on_the_helpers_not_on_the_grading_code(course, tmp_path):
    """Editing the parallel grader must not make every notebook's reference run again; editing a
    helper whose generators make the hidden inputs must."""
    package = tmp_path / "copy" / "course"
    shutil.copytree(HELPERS, package, ignore=shutil.ignore_patterns("__pycache__"))
    source = course / "source" / "a" / "nb.ipynb"
    before = fingerprint(source, package)
    with (package / "grading" / "pool.py").open("a") as grading_module:
        grading_module.write("\n# a comment\n")
    assert fingerprint(source, package) == before
    with (package / "networks.py").open("a") as helper:
        helper.write("\n# a comment\n")
    assert fingerprint(source, package) != before
