"""Copying the expected numbers into the solution cells earns no points, in every notebook."""

import pytest

from tests.support.nbrun import source_notebooks
from tests.support.pasting import cells, exercise_functions, run_pasted

NOTEBOOKS = source_notebooks()
ids = lambda p: p.parent.name  # noqa: E731


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_exercise_is_a_function(path):
    """Only a function can be called on unseen inputs; a solution cell that sets a value cannot."""
    for grade_id, source in cells(path, "solution").items():
        assert exercise_functions(source), f"solution cell {grade_id} defines no function"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_pasted_answers_pass_the_visible_tests(path):
    """The attack is realistic: a student running the visible tests sees them all pass."""
    run = run_pasted(path)
    failed = {g: repr(e) for g, e in run.grades.items() if e is not None}
    assert not failed, f"the lookup-table submission should pass the visible tests: {failed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_pasted_answers_fail_every_grade_cell(path, reference_runs):
    run = run_pasted(path, expected=reference_runs(path).records)
    passed = [g for g, e in run.grades.items() if e is None]
    assert run.grades and not passed, f"pasted numbers earned the points of {passed}"
    # Points are shared among a cell's hidden checks once one answer is right: none may be.
    earning = {g: names for g, names in run.checks_passed.items() if names}
    assert not earning, f"pasted numbers pass hidden checks that earn a share of the points: {earning}"
