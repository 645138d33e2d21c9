"""The students' requirements (course.grading.handout.pins): exactly the course's versions, of only
what students run, with what extras pull in."""

from pathlib import Path

import pytest

from course.grading.handout.pins import canonical, closure, student_requirements
from tests.support.nbrun import REPO, source_notebooks

HELPERS = ["numpy>=2", "matplotlib>=3.8", "scikit-learn>=1.4"]


def course_pins() -> dict[str, str]:
    lines = (REPO / "requirements.txt").read_text().split()
    return {canonical(name): version for name, version in (line.split("==") for line in lines)}


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    lines = student_requirements(source_notebooks(), HELPERS, "course")
    names = [line.split("==")[0] for line in lines]
    assert names == sorted(set(names))  # one pin per distribution, in order
    return dict(line.split("==") for line in lines)


def test_every_student_pin_is_the_course_pin(pins):
    course = course_pins()
    assert {name: version for name, version in pins.items() if course.get(name) != version} == {}


def test_students_get_the_workbench_and_what_the_notebooks_import(pins):
    imported = {"numpy", "sympy", "scipy", "matplotlib", "scikit-learn", "threadpoolctl", "tqdm"}
    assert imported | {"jupyterlab", "ipykernel", "nbgrader"} <= set(pins)


def test_students_get_none_of_the_instructors_tools(pins):
    assert not {"pytest", "pytest-xdist", "nbval", "ruff", "playwright", "coverage", "uv", "hatchling"} & set(pins)
    assert "backprop-course" not in pins  # the helpers come as the package's own wheel


def test_extras_bring_what_they_require():
    # jupyter-events requires jsonschema[format-nongpl], whose extra requires fqdn and isoduration
    assert {"jsonschema", "fqdn", "isoduration"} <= set(closure(["jupyter-events"]))
    assert "fqdn" not in closure(["jsonschema"])


def test_a_required_package_that_is_not_installed_is_a_clear_error(tmp_path: Path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(
        '{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [],'
        ' "source": "import numpy"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    with pytest.raises(LookupError, match="a-package-nobody-installed is required"):
        student_requirements([notebook], ["a_package_nobody_installed>=1"], "course")


def test_names_compare_as_the_standards_say():
    assert (
        canonical("Send2Trash") == "send2trash" and canonical("jupyter_server.terminals") == "jupyter-server-terminals"
    )
