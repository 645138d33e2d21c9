"""Course fixtures for the tests and the benchmarks: a grading-ready copy of the course, student
submissions in nbgrader's layout, and partly solved notebooks built from the real ones.

They live in one module so that what a test grades and what the benchmark times are built the
same way: a change to the course's layout (a new folder to copy, a different submission file)
is made here once, not in every test that fakes a class.
"""

import re
import shutil
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

import nbformat

from tests.support.nbrun import REPO, nbgrader_meta

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
REGIONS = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def copy_course(target: Path, assignments: Iterable[str] | None = None) -> Path:
    """A grading-ready copy of the course in ``target``: source/ and the committed release/ (without
    Jupyter's checkpoints), and nbgrader_config.py; returns ``target``.

    ``assignments`` copies only those assignments' folders, for a test that grades one assignment
    and should not pay for releasing the others. Grading in a copy keeps the repository's own
    gradebook and autograded/ folder untouched.
    """
    ignore = shutil.ignore_patterns(".ipynb_checkpoints")
    for folder in ("source", "release"):
        if assignments is None:
            shutil.copytree(REPO / folder, target / folder, ignore=ignore)
        else:
            for assignment in assignments:
                shutil.copytree(REPO / folder / assignment, target / folder / assignment, ignore=ignore)
    shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


def submit(
    root: Path,
    student: str,
    assignment: str,
    notebooks: Mapping[str, nbformat.NotebookNode | str] | None = None,
    *,
    from_folder: str | None = None,
    timestamp: str | None = None,
) -> Path:
    """Hand in ``submitted/<student>/<assignment>/`` in the course at ``root``; returns that folder.

    ``from_folder`` (``"source"`` for the reference, ``"release"`` for the blank notebook) copies
    every notebook of ``root/<from_folder>/<assignment>``. ``notebooks`` then maps a file name to
    a notebook, written as nbformat writes it, or to raw text, written as it is: a broken or
    truncated file is exactly what some tests hand in. ``timestamp`` is written to
    ``timestamp.txt``, which nbgrader reads as the submission time (for late work). Calling it
    again for the same student adds files to the folder; with nothing given the folder is empty,
    which is itself a submission to grade.
    """
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if from_folder is not None:
        for path in sorted((root / from_folder / assignment).glob("*.ipynb")):
            shutil.copy(path, folder / path.name)
    for name, content in (notebooks or {}).items():
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            nbformat.write(content, folder / name)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder


def student_code(source: str) -> str:
    """A solution cell as a student would hand it in: the instructor's solution without the
    markers nbgrader cuts the release by (a student's copy never has them)."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS)


def solution_ids(notebook: nbformat.NotebookNode) -> list[str]:
    """The grade ids of a notebook's solution cells, in notebook order."""
    return [nbgrader_meta(cell)["grade_id"] for cell in notebook.cells if nbgrader_meta(cell).get("solution")]


def partly_solved(source: Path, release: Path, choose: Callable[[list[str]], Collection[str]]) -> nbformat.NotebookNode:
    """The released notebook ``release`` with some solution cells solved from ``source``.

    ``choose`` gets the release's solution grade ids in notebook order and returns those to solve
    (a fixed share such as the first half, or a seeded random pick); the others keep the
    release's stub. A student who did part of the work scores between the blank release and the
    reference, which is what makes a grading comparison more than "all or nothing".
    """
    answers = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in nbformat.read(source, as_version=4).cells
        if nbgrader_meta(c).get("solution")
    }
    notebook = nbformat.read(release, as_version=4)
    solved = set(choose([grade_id for grade_id in solution_ids(notebook) if grade_id in answers]))
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in solved and nbgrader_meta(cell).get("solution"):
            cell.source = student_code(answers[grade_id])
    return notebook


def _regions(notebook: Path) -> tuple[set[str], str]:
    """The stripped lines of ``notebook``'s solution and hidden-test regions, and its text without them."""
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    secret = {line.strip() for match in REGIONS.finditer(text) for line in match.group(2).splitlines()}
    return secret, REGIONS.sub("", text)


def secret_lines(notebook: Path) -> set[str]:
    """Lines of solution and hidden-test regions that appear nowhere else in the source notebook.

    Lines the student also sees elsewhere (a blank line, `return grads[::-1]` printed in the
    text) cannot leak anything, so they are left out.
    """
    secret, public = _regions(notebook)
    return {line for line in secret if len(line) > 3 and line not in public}


def course_secret_lines(notebooks: Iterable[Path]) -> set[str]:
    """The secret lines of every notebook, less those any notebook shows the student.

    A line can be one notebook's solution and another's given code (02 gives the sigmoid that 01
    asks for): finding it in a package that holds both notebooks gives nothing away.
    """
    regions = [_regions(notebook) for notebook in notebooks]
    public = {line.strip() for _, text in regions for line in text.splitlines()}
    return {line for secret, _ in regions for line in secret if len(line) > 3 and line not in public}
