"""The student package (course.grading.handout.package): what students receive instead of the
course repository, in each language choice, and nothing an instructor keeps."""

import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.grading.handout import package
from course.grading.handout.languages import CHOICES, LANGUAGES
from tests.support.course import copy_course, course_secret_lines
from tests.support.nbrun import REPO, source_notebooks

RELEASED = sorted(p.relative_to(REPO / "release") for p in (REPO / "release").glob("*/*.ipynb"))
HELPERS = sorted(p.name for p in (REPO / "course").glob("*.py"))
# A line of the helpers' code as short as `continue` also occurs in some solution; the wheel is
# searched for the secret lines long enough to be a solution's own (every helper is public by
# design: tests/test_package_layout.py keeps the grading side out of it).
WHEEL_LINE = 16


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """Every language choice built once, from the repository's committed release/."""
    out = tmp_path_factory.mktemp("dist")
    for lang in CHOICES:
        package.build(REPO, out, lang)
    return out


def files_of(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def wheel_of(folder: Path) -> Path:
    (wheel,) = (folder / "wheels").glob("*.whl")
    return wheel


def package_lines(folder: Path) -> dict[str, str]:
    """Every stripped line a student receives, mapped to the first file it is in (wheel members included)."""
    lines: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as archive:
                texts = {f"{path.name}:{n}": archive.read(n).decode() for n in archive.namelist()}
        elif path.suffix == ".ipynb":
            texts = {str(path): "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)}
        else:
            texts = {str(path): path.read_text()}
        for where, text in texts.items():
            for line in text.splitlines():
                lines.setdefault(line.strip(), where)
    return lines


@pytest.mark.parametrize("lang", CHOICES)
def test_the_package_holds_the_release_the_wheel_the_pins_a_readme_the_notation_and_nothing_else(dist, lang):
    folder = dist / package.package_name(lang)
    wheel = wheel_of(folder).name
    expected = [*map(str, RELEASED), "CONVENTIONS.md", "README.md", "requirements.txt", f"wheels/{wheel}"]
    assert files_of(folder) == sorted(expected)
    assert (folder / "CONVENTIONS.md").read_bytes() == (REPO / "CONVENTIONS.md").read_bytes()  # what ../ links to
    with zipfile.ZipFile(dist / f"{package.package_name(lang)}.zip") as archive:
        members = sorted(name for name in archive.namelist() if not name.endswith("/"))
    assert members == [f"{folder.name}/{name}" for name in files_of(folder)]  # the zip is the folder


def test_both_languages_is_the_release_byte_for_byte(dist):
    folder = dist / package.package_name("both")
    assert all((folder / name).read_bytes() == (REPO / "release" / name).read_bytes() for name in RELEASED)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_one_language_package_holds_that_language_only(dist, lang):
    for name in RELEASED:
        notebook = nbformat.read(dist / package.package_name(lang) / name, as_version=4)
        assert {c.metadata["lang"] for c in notebook.cells if c.cell_type == "markdown"} == {lang}, name


@pytest.mark.parametrize("lang", CHOICES)
def test_no_solution_or_hidden_test_line_is_anywhere_in_the_package(dist, lang):
    secrets = course_secret_lines(source_notebooks())
    assert len(secrets) > 100  # the course's solutions and hidden tests, found
    lines = package_lines(dist / package.package_name(lang))
    leaked = {line: where for line, where in lines.items() if line in secrets}
    leaked = {line: where for line, where in leaked.items() if ".whl:" not in where or len(line) >= WHEEL_LINE}
    assert not leaked, f"solution or hidden-test lines in the package: {leaked}"
    assert not any(marker in line for line in lines for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"))


def test_the_wheel_holds_the_helpers_as_they_are_and_no_grading_code(dist):
    with zipfile.ZipFile(wheel_of(dist / package.package_name("both"))) as archive:
        code = {n: archive.read(n) for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert sorted(code) == [f"course/{name}" for name in HELPERS]
    assert all(content == (REPO / name).read_bytes() for name, content in code.items())


def test_the_wheel_declares_what_the_helpers_import(dist):
    declared = {
        re.split(r"[<>=!~ ;]", line)[0] for line in package.wheel_requirements(wheel_of(dist / "backprop-student"))
    }
    assert declared == {"numpy", "matplotlib", "scikit-learn"}


def test_the_requirements_pin_every_package_and_end_with_the_wheel(dist):
    folder = dist / package.package_name("pl")
    lines = [line for line in (folder / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    *pins, wheel = lines
    assert wheel == f"./wheels/{wheel_of(folder).name}"
    assert all(re.fullmatch(r"[a-z0-9-]+==[\w.]+", pin) for pin in pins), [p for p in pins if "==" not in p]
    names = {pin.split("==")[0] for pin in pins}
    assert {"jupyterlab", "nbgrader", "ipykernel", "numpy", "sympy", "matplotlib", "scikit-learn"} <= names
    assert not {"pytest", "nbval", "ruff", "playwright", "jupytext", "uv", "hatchling"} & names


@pytest.mark.parametrize("lang", CHOICES)
def test_the_readme_gives_two_commands_the_language_and_every_notebook(dist, lang):
    readme = (dist / package.package_name(lang) / "README.md").read_text()
    commands = re.search(r"```sh\n(.*?)```", readme, re.DOTALL).group(1).splitlines()
    assert commands == [
        "python3.11 -m venv .venv && .venv/bin/pip install -r requirements.txt",
        ".venv/bin/jupyter lab",
    ]
    assert package.LANGUAGE_LINES[lang] in readme
    polish, english = package.LANGUAGE_LINES[lang].split(" / ")
    assert "Notatniki" in polish and "Notebooks" in english  # each language says it in its own words
    assert all(f"`{name}`" in readme for name in RELEASED)
    assert "$" not in readme.replace("```sh", "")  # every placeholder filled


def test_a_course_without_its_release_is_a_clear_error_and_the_old_package_stays(tmp_path, dist):
    root = copy_course(tmp_path / "course")
    (root / "release" / RELEASED[0]).unlink()
    out = tmp_path / "dist"
    shutil.copytree(dist, out)
    before = {name: (out / name).read_bytes() for name in files_of(out)}
    with pytest.raises(package.PackageError, match=f"release/{RELEASED[0]} missing: run `make release` first"):
        package.build(root, out, "pl")
    assert {name: (out / name).read_bytes() for name in files_of(out)} == before


def test_a_folder_that_is_no_course_or_a_language_the_course_lacks_is_a_clear_error(tmp_path, capsys):
    assert package.main(["--root", str(tmp_path)]) == 1
    assert "has no source/<assignment>/<notebook>.ipynb: is it the course folder?" in capsys.readouterr().err
    with pytest.raises(package.PackageError, match="no language 'de': choose pl, en, both"):
        package.build(REPO, tmp_path, "de")
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_wheel_that_cannot_be_built_is_a_clear_error(tmp_path):
    root = copy_course(tmp_path / "course")  # source/ and release/, but no pyproject.toml nor course/
    with pytest.raises(package.PackageError, match="building the helpers' wheel failed"):
        package.build(root, tmp_path / "dist", "en")
    assert not (tmp_path / "dist" / "backprop-student-en").exists()
