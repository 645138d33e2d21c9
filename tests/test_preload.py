"""What a kernel factory preloads (course.grading.preload): the graded assignments' imports, no more."""

import importlib.util

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.grading.pipeline import list_assignments
from course.grading.preload import KERNEL_MODULES, LAZY_PARTS, for_assignments
from tests.support.nbrun import REPO


def test_a_factory_grading_one_assignment_loads_only_what_it_imports():
    outer_product = for_assignments(REPO, ["04_outer_product"])
    assert outer_product[: len(KERNEL_MODULES)] == KERNEL_MODULES
    assert {"numpy", "matplotlib.pyplot", "course.checks", "course.networks"} <= set(outer_product)
    assert not {"sympy", "scipy.optimize", "course.datasets"} & set(outer_product)
    assert {"sympy", *LAZY_PARTS["sympy"]} <= set(for_assignments(REPO, ["01_chain_rule"]))
    assert {"course.datasets", "scipy.optimize"} <= set(for_assignments(REPO, ["06_classifier_gradient_check"]))


def test_several_assignments_load_the_union_once():
    names = list_assignments(REPO)
    everything = for_assignments(REPO, [*names, *names])
    assert len(everything) == len(set(everything))
    assert set(everything) == set().union(*(for_assignments(REPO, [name]) for name in names))


def test_every_preloaded_module_exists_in_the_course_environment():
    """A misspelt or vanished import would be skipped silently by the factory, and only be slow."""
    missing = [name for name in for_assignments(REPO, list_assignments(REPO)) if importlib.util.find_spec(name) is None]
    assert missing == []


def test_demonstrations_magics_and_relative_imports_add_nothing(tmp_path):
    demo = new_code_cell("import sklearn.datasets", metadata={"tags": ["demo"], "nbgrader": {"locked": True}})
    untagged_twin = new_code_cell("import sklearn.datasets")  # the same cell, not a demonstration
    cells = [
        new_markdown_cell("import html"),
        new_code_cell("%matplotlib inline\nimport json\nfrom . import sibling"),
        new_code_cell("def broken(:\n    import csv"),  # cannot be parsed: skipped, not fatal
        demo,
    ]
    notebook = tmp_path / "source" / "a1" / "a1.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells), notebook)
    assert for_assignments(tmp_path, ["a1"]) == (*KERNEL_MODULES, "json")
    nbformat.write(new_notebook(cells=[*cells, untagged_twin]), notebook)
    assert for_assignments(tmp_path, ["a1"]) == (*KERNEL_MODULES, "json", "sklearn.datasets")


def test_an_assignment_without_source_notebooks_loads_the_kernel_alone(tmp_path):
    assert for_assignments(tmp_path, ["not_here"]) == KERNEL_MODULES
