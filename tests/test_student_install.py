"""A student's first hour, from the student package alone: unpack the zip in a fresh folder, run
the README's two commands exactly as written (a fresh virtual environment from the package's own
requirements file, no access to the course repository), open a notebook, work, Validate."""

import json
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.grading.handout import package
from tests.support.browser import start_jupyter
from tests.support.course import partly_solved
from tests.support.nbrun import REPO, nbgrader_meta

pytestmark = pytest.mark.slow  # a real pip install from the package index, kernels, a server

LANG = "en"  # the languages differ only in markdown cells (tests/test_student_package.py)
RUNNER = Path(__file__).with_name("support") / "first_error.py"
SOURCES = {p.relative_to(REPO / "source"): p for p in sorted((REPO / "source").glob("*/*.ipynb"))}
INSTALL_TIMEOUT = 900  # seconds: pip downloads and installs about 120 packages


def readme_commands(folder: Path) -> list[str]:
    """The shell lines of the package README's install block, as a student copies them."""
    return re.search(r"```sh\n(.*?)```", (folder / "README.md").read_text(), re.DOTALL).group(1).splitlines()


def student_environment(home: Path) -> dict[str, str]:
    """A student's shell: their own home, no virtual environment active, nothing of the course's on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    course_bins = {str(REPO / ".venv" / "bin"), str(Path(sys.executable).parent)}
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep) if d not in course_bins)
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The package unpacked and installed by its README's first command: (its folder, the student's env)."""
    made = tmp_path_factory.mktemp("instructor")
    archive = package.build(REPO, made, LANG)
    downloads = tmp_path_factory.mktemp("downloads")  # nothing of the course's but the zip
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(downloads)
    folder = downloads / package.package_name(LANG)
    env = student_environment(tmp_path_factory.mktemp("home"))
    install = readme_commands(folder)[0]
    result = subprocess.run(
        install, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert result.returncode == 0, f"`{install}` failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return folder, env


def test_the_install_needs_nothing_but_the_package(student):
    folder, _ = student
    assert not any(REPO == p or REPO in p.parents for p in [folder, *folder.parents])
    python = folder / ".venv" / "bin" / "python"
    helpers = subprocess.run(
        [python, "-c", "import course, course.networks; print(course.__file__)"],
        cwd=folder.parent,  # not the package folder: the import must come from the environment
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(helpers).is_relative_to(folder / ".venv")
    grading = subprocess.run([python, "-c", "import course.grading"], cwd=folder.parent, capture_output=True, text=True)
    assert "No module named 'course.grading'" in grading.stderr


def test_every_notebook_runs_to_its_first_exercise(student):
    folder, env = student
    notebooks = [str(name) for name in SOURCES]
    result = subprocess.run(
        [folder / ".venv" / "bin" / "python", RUNNER, *notebooks], cwd=folder, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert Path(report["kernel"]).parent == folder / ".venv" / "bin"  # the student's own kernel
    assert Path(report["course"]).is_relative_to(folder / ".venv")  # the helpers from the wheel
    for name in notebooks:
        # The first exercise: its solution cell defines the function, its grade cell calls it.
        cells = nbformat.read(folder / name, as_version=4).cells
        solution = next(i for i, cell in enumerate(cells) if nbgrader_meta(cell).get("solution"))
        tests = next(i for i, cell in enumerate(cells) if i > solution and nbgrader_meta(cell).get("grade"))
        failed = report["notebooks"][name]
        assert failed["ename"] == "NotImplementedError", f"{name}: {failed}"
        assert failed["cell"] in (solution, tests), f"{name}: {failed}, first exercise in cells {solution}, {tests}"


def test_notebooks_solved_in_the_package_pass_validate_and_a_blank_one_does_not(student):
    folder, env = student
    solved = folder / "solved"
    for name, source in SOURCES.items():
        (solved / name).parent.mkdir(parents=True)
        nbformat.write(partly_solved(source, folder / name, lambda ids: ids), solved / name)
    blank = folder / "04_outer_product" / "outer_product.ipynb"
    names = [str(solved / name) for name in SOURCES]
    result = subprocess.run(
        [folder / ".venv" / "bin" / "nbgrader", "validate", *names, str(blank)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # nbgrader logs which notebook it validates, then prints the verdict
        text=True,
        timeout=600,
    )
    parts = re.split(r"^\[ValidateApp \| INFO\] Validating '(.*)'$", result.stdout, flags=re.M)[1:]
    reports = dict(zip(parts[::2], parts[1::2], strict=True))
    assert sorted(reports) == sorted([*names, str(blank)]), result.stdout[-3000:]
    for name in names:
        assert "Success! Your notebook passes all the tests." in reports[name], f"{name}:\n{reports[name]}"
    assert "NotImplementedError" in reports[str(blank)] and "Success!" not in reports[str(blank)]


def test_jupyterlab_opens_the_notebooks_with_nbgraders_validate(student, tmp_path):
    folder, env = student
    lab = readme_commands(folder)[1] + (" --allow-root" if os.geteuid() == 0 else "")
    server = start_jupyter([lab], folder, tmp_path / "jupyter", tmp_path / "lab.log")
    try:
        headers = {"Authorization": f"token {server.token}"}
        name = next(iter(SOURCES))
        request = urllib.request.Request(f"{server.base_url}/api/contents/{name}?content=1", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["content"]["nbformat"] == 4
        with urllib.request.urlopen(server.url("/lab"), timeout=30) as response:
            page = response.read().decode()
        assert '"name": "@jupyter/nbgrader"' in page or '"name":"@jupyter/nbgrader"' in page, server.log_tail()
    finally:
        server.stop()
