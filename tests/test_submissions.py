"""Pre-grading findings about broken submissions, built from a real released notebook."""

import shutil

import nbformat
import pytest

from course.grading.submissions import inspect, inspect_all
from tests.support.course import submit
from tests.support.nbrun import REPO

ASSIGNMENT = "02_backprop_network"
NAME = "backprop_network.ipynb"


@pytest.fixture
def course(tmp_path):
    shutil.copytree(REPO / "release" / ASSIGNMENT, tmp_path / "release" / ASSIGNMENT)
    return tmp_path


def released():
    return nbformat.read(REPO / "release" / ASSIGNMENT / NAME, as_version=4)


def test_an_untouched_release_has_nothing_to_report(course):
    submit(course, "ala", ASSIGNMENT, {NAME: released()})
    assert inspect(course, ASSIGNMENT, "ala") == []


def test_empty_folder(course):
    submit(course, "ala", ASSIGNMENT)
    assert inspect(course, ASSIGNMENT, "ala") == [f"no notebook submitted (expected {NAME}): scores 0"]


def test_not_json(course):
    submit(course, "ala", ASSIGNMENT, {NAME: '{"cells": ['})
    assert inspect(course, ASSIGNMENT, "ala") == [f"{NAME} is not valid JSON: it cannot be graded and scores 0"]


def test_renamed_and_extra_notebooks(course):
    submit(course, "ala", ASSIGNMENT, {"backprop_network (1).ipynb": released()})
    assert inspect(course, ASSIGNMENT, "ala") == [
        f"{NAME} is missing; found backprop_network (1).ipynb instead: was it renamed? (scores 0)",
        "backprop_network (1).ipynb is not part of the assignment and is not graded",
    ]
    submit(course, "ola", ASSIGNMENT, {NAME: released()})
    submit(course, "ola", ASSIGNMENT, {"scratch.ipynb": released()})
    assert inspect(course, ASSIGNMENT, "ola") == ["scratch.ipynb is not part of the assignment and is not graded"]


def test_deleted_and_reordered_cells(course):
    nb = released()
    graded = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    deleted = nb.cells[graded[0]].metadata.nbgrader.grade_id
    del nb.cells[graded[0]]
    submit(course, "ala", ASSIGNMENT, {NAME: nb})
    assert inspect(course, ASSIGNMENT, "ala") == [f"{NAME}: cells deleted: {deleted} (tests are put back for grading)"]
    nb = released()
    nb.cells[graded[0]], nb.cells[graded[1]] = nb.cells[graded[1]], nb.cells[graded[0]]
    submit(course, "ola", ASSIGNMENT, {NAME: nb})
    assert inspect(course, ASSIGNMENT, "ola") == [
        f"{NAME}: exercise cells are out of order; they run in the submitted order"
    ]


def test_findings_cover_every_student(course):
    submit(course, "ala", ASSIGNMENT)
    submit(course, "bob", ASSIGNMENT, {NAME: released()})
    findings = inspect_all(course, ASSIGNMENT)
    assert [(f.student, f.assignment) for f in findings] == [("ala", ASSIGNMENT)]
