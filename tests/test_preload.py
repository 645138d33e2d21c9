"""What a kernel factory preloads (course.grading.preload): the graded assignments' imports, no more."""

import importlib.util
import subprocess
import sys

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


KERNEL_START = """
import importlib, os, sys, tempfile
from course.grading import tracebacks
from course.grading.autograding import SandboxedExecute
from course.grading.preload import KERNEL_MODULES
from jupyter_client.connect import write_connection_file

folder = tempfile.mkdtemp()
ipc = os.path.join(folder, "ipc")
connection, _ = write_connection_file(os.path.join(folder, "kernel.json"), transport="ipc", ip=ipc)
arguments = ["-f", connection, *SandboxedExecute().extra_arguments]
for module in KERNEL_MODULES:  # as the factory does (course.grading.kernel_factory.serve)
    importlib.import_module(module)
tracebacks.warm()
before = set(sys.modules)
reader, writer = os.pipe()
if os.fork() == 0:  # the kernel, as become_kernel starts it
    from ipykernel import kernelapp
    kernelapp.IPKernelApp.instance().initialize(arguments)
    os.write(writer, " ".join(sorted(set(sys.modules) - before)).encode())
    os._exit(0)
os.close(writer)
print("imported:", os.read(reader, 1 << 16).decode())
"""


def test_a_kernel_forked_from_the_kernel_modules_imports_nothing_while_it_starts(tmp_path):
    """Whatever ipykernel imports as it initializes, a forked kernel would import again for every notebook."""
    result = subprocess.run([sys.executable, "-c", KERNEL_START], capture_output=True, text=True, cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if line.startswith("imported:")]
    assert lines == ["imported: "], result.stdout + result.stderr
