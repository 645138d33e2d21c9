"""release/ gives nothing away. (That it is exactly what `nbgrader generate_assignment` makes of
source/ is checked on the graded course, in tests/test_pipeline.py.)"""

import nbformat
import pytest

from tests.support.course import secret_lines
from tests.support.nbrun import REPO, source_notebooks


def test_every_assignment_is_released():
    released = {p.parent.name for p in (REPO / "release").glob("*/*.ipynb")}
    assert released == {p.parent.name for p in source_notebooks()}


@pytest.mark.parametrize("notebook", source_notebooks(), ids=lambda p: p.parent.name)
def test_release_contains_no_solution_or_hidden_test(notebook):
    released = REPO / "release" / notebook.parent.name / notebook.name
    release_text = "\n".join(cell.source for cell in nbformat.read(released, as_version=4).cells)
    release_lines = {line.strip() for line in release_text.splitlines()}
    secrets = secret_lines(notebook)
    assert secrets, f"{notebook.name} has no solution region"
    leaked = sorted(secrets & release_lines)
    assert not leaked, f"{released} contains solution or hidden-test lines: {leaked[:5]}"
    assert "BEGIN SOLUTION" not in release_text and "BEGIN HIDDEN TESTS" not in release_text
