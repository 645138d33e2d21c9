"""Work handed in from a one-language student package is graded by the course's normal grading
exactly like work from release/: solved in Polish or in English, full marks; blank, zero; the
same half-done work, the same gradebook rows and the same autograded code cells."""

from pathlib import Path

import nbformat
import pytest

from course.grading import pipeline
from course.grading.handout import package
from course.grading.handout.languages import LANGUAGES
from course.grading.parallel import grade
from course.grading.scores import gradebook_url, read_scores
from tests.support.course import copy_course, partly_solved, submit
from tests.support.gradebooks import gradebook_entries
from tests.support.nbrun import REPO

pytestmark = pytest.mark.slow  # nbgrader and real grading kernels for a small class

SOURCES = sorted((REPO / "source").glob("*/*.ipynb"))
ASSIGNMENTS = sorted({p.parent.name for p in SOURCES})


def every_other(ids: list[str]) -> list[str]:
    return ids[::2]


def hand_in(root: Path, student: str, folder: Path, choose=None) -> None:
    """Every notebook of ``folder`` (a package or release/) handed in, solved by ``choose`` (None: as it is)."""
    for source in SOURCES:
        notebook = folder / source.parent.name / source.name
        content = partly_solved(source, notebook, choose) if choose else nbformat.read(notebook, as_version=4)
        submit(root, student, source.parent.name, {source.name: content})


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = copy_course(tmp_path_factory.mktemp("course"))
    dist = tmp_path_factory.mktemp("dist")
    pipeline.generate_release(root, "*")
    hand_in(root, "release_half", root / "release", every_other)
    for lang in LANGUAGES:
        package.build(REPO, dist, lang)
        folder = dist / package.package_name(lang)
        hand_in(root, f"{lang}_solved", folder, lambda ids: ids)
        hand_in(root, f"{lang}_blank", folder)
        hand_in(root, f"{lang}_half", folder, every_other)
    report = grade(root, ASSIGNMENTS, workers=2, progress=False)
    assert not report.failures, report.failures
    return root


def scores_of(root: Path, student: str) -> dict[str, tuple[float, float]]:
    return {s.notebook: (s.score, s.max_score) for s in read_scores(root, ASSIGNMENTS) if s.student == student}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_one_language_work_solved_scores_full_marks_and_blank_scores_zero(graded, lang):
    solved, blank = scores_of(graded, f"{lang}_solved"), scores_of(graded, f"{lang}_blank")
    assert len(solved) == len(blank) == len(SOURCES)
    assert all(score == maximum > 0 for score, maximum in solved.values()), solved
    assert all(score == 0 for score, _ in blank.values()), blank


def rows_of(entries: dict, student: str) -> dict:
    return {key[1:]: value for key, value in entries.items() if key[0] == student}


def code_cells(root: Path, student: str) -> dict[str, list[tuple[str, tuple, dict]]]:
    """Per autograded notebook, each code cell's source, its errors and what it printed per stream.

    Printed text is joined per stream: how it falls into chunks depends on the kernel's timing.
    """
    outline = {}
    for path in sorted((root / "autograded" / student).glob("*/*.ipynb")):
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        outline[path.name] = [
            (
                c.source,
                tuple(o.get("ename") or o["output_type"] for o in c.outputs if o["output_type"] != "stream"),
                {name: "".join(o.text for o in c.outputs if o.get("name") == name) for name in ("stdout", "stderr")},
            )
            for c in cells
        ]
    return outline


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_same_work_from_a_package_is_graded_as_from_the_release(graded, lang):
    entries = gradebook_entries(gradebook_url(graded))
    expected = rows_of(entries, "release_half")
    assert len(expected) > 6 * len(SOURCES)  # a notebook row, its grade cells and comments, per notebook
    assert rows_of(entries, f"{lang}_half") == expected  # every notebook, grade cell, score and comment
    halves = scores_of(graded, "release_half").values()
    assert any(0 < score < maximum for score, maximum in halves), "half-done work must score in between"
    assert code_cells(graded, f"{lang}_half") == code_cells(graded, "release_half")
