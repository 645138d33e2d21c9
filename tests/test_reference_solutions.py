"""Every source notebook, run as the autograder runs it, has no failing cell."""

import pytest

from tests.support.nbrun import source_notebooks


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name)
def test_reference_solution_passes_every_cell(path, reference_runs):
    run = reference_runs(path)
    assert run.grades, f"{path.name} has no grade cells"
    assert not run.failures(), f"the reference solution of {path.name} fails: {run.failures()}"
