"""release/ is what `nbgrader generate_assignment` makes of source/, and gives nothing away."""

import re
from pathlib import Path

import nbformat
import pytest

from tests.support.nbrun import REPO, source_notebooks

REGIONS = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def committed_files(root: Path) -> dict[str, bytes]:
    release = root / "release"
    return {
        str(p.relative_to(release)): p.read_bytes()
        for p in sorted(release.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }


@pytest.mark.slow
def test_release_is_current(graded_course):
    """Regenerating release/ in a copy of the course gives exactly the committed files."""
    root, _ = graded_course
    fresh, committed = committed_files(root), committed_files(REPO)
    assert sorted(fresh) == sorted(committed), "release/ has missing or extra files: run `make release`"
    stale = [name for name in committed if committed[name] != fresh[name]]
    assert not stale, f"release/ is out of date for {stale}: run `make release` and commit release/"


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
