"""release/ gives nothing away. (That it is exactly what `nbgrader generate_assignment` makes of
source/ is checked on the graded course, in tests/test_pipeline.py.)"""

import re
from pathlib import Path

import nbformat
import pytest

from tests.support.nbrun import REPO, source_notebooks

REGIONS = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def test_every_assignment_is_released():
    released = {p.parent.name for p in (REPO / "release").glob("*/*.ipynb")}
    assert released == {p.parent.name for p in source_notebooks()}


def secret_lines(notebook: Path) -> set[str]:
    """Lines of solution and hidden-test regions that appear nowhere else in the source notebook.

    Lines the student also sees elsewhere (a blank line, `return grads[::-1]` printed in the
    text) cannot leak anything, so they are left out.
    """
    nb = nbformat.read(notebook, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    secret = {line.strip() for match in REGIONS.finditer(text) for line in match.group(2).splitlines()}
    public = REGIONS.sub("", text)
    return {line for line in secret if len(line) > 3 and line not in public}


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
