"""`make student-package`: everything a student needs, and nothing an instructor keeps.

The course repository holds every solution (``source/``), the hidden tests, the reference records
and the grading tooling, so students never get it. They get this package instead, by the routes
instructors use (a learning platform, e-mail, a web page): the released notebooks, the helpers'
wheel, a requirements file with the exact versions of only what students run, a bilingual
README (install with two commands, open JupyterLab, work, Validate, hand in) and the course's
notation sheet, CONVENTIONS.md, which the notebooks link. It is written to
``dist/<name>/`` and ``dist/<name>.zip``, in one language or both.

    python -m course.grading.handout.package [--lang pl en both]

Built from the committed ``release/`` (``make release`` regenerates it; the tests keep it current),
never from ``source/``: what a package holds is what nbgrader already stripped.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path
from string import Template

import nbformat

from course.grading.handout.languages import BOTH, CHOICES, one_language
from course.grading.handout.pins import student_requirements

PACKAGE = "backprop-student"
HELPERS = "course"  # the import package the wheel ships
README = Path(__file__).with_name("README-student.md")
CONVENTIONS = "CONVENTIONS.md"  # the course's notation, which every notebook's title cell links as ../CONVENTIONS.md
LANGUAGE_LINES = {
    BOTH: "Notatniki po polsku i po angielsku (każda komórka tekstu w obu językach). / "
    "Notebooks in Polish and English (every text cell in both languages).",
    "pl": f"Notatniki po polsku; wersja angielska jest w pakiecie `{PACKAGE}-en`. / "
    f"Notebooks in Polish; the English version is in the package `{PACKAGE}-en`.",
    "en": f"Notatniki po angielsku; wersja polska jest w pakiecie `{PACKAGE}-pl`. / "
    f"Notebooks in English; the Polish version is in the package `{PACKAGE}-pl`.",
}


class PackageError(RuntimeError):
    """The package cannot be built from this course folder; nothing in ``dist/`` was changed."""


def package_name(lang: str) -> str:
    """``backprop-student`` for both languages, ``backprop-student-pl`` / ``-en`` for one."""
    return PACKAGE if lang == BOTH else f"{PACKAGE}-{lang}"


def released_notebooks(root: Path) -> list[Path]:
    """The notebooks of ``release/``, one per notebook of ``source/``, or an error naming what is missing."""
    sources = sorted((root / "source").glob("*/*.ipynb"))
    if not sources:
        raise PackageError(f"{root} has no source/<assignment>/<notebook>.ipynb: is it the course folder?")
    released = [root / "release" / p.relative_to(root / "source") for p in sources]
    missing = [str(p.relative_to(root)) for p in released if not p.is_file()]
    if missing:
        raise PackageError(f"{', '.join(missing)} missing: run `make release` first")
    return released


def build_wheel(root: Path, out: Path) -> Path:
    """The helpers' wheel, built by the project's own backend (pyproject.toml) from ``root``."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    result = subprocess.run([*command, "--wheel-dir", str(out), str(root)], capture_output=True, text=True)
    wheels = sorted(out.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise PackageError(f"building the helpers' wheel failed:\n{result.stdout}{result.stderr}")
    return wheels[0]


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's metadata: what the helpers declare they need."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode())
    return message.get_all("Requires-Dist") or []


def write_notebooks(notebooks: list[Path], root: Path, folder: Path, lang: str) -> list[Path]:
    """The released notebooks in ``folder`` under their release paths, in ``lang``; returns them."""
    names = {choice: package_name(choice) for choice in CHOICES}
    written = []
    for path in notebooks:
        target = folder / path.relative_to(root / "release")
        target.parent.mkdir(parents=True, exist_ok=True)
        if lang == BOTH:
            shutil.copyfile(path, target)  # byte for byte what nbgrader released
        else:
            nbformat.write(one_language(nbformat.read(path, as_version=4), lang, names), target)
        written.append(target)
    return written


def build(root: Path, dist: Path, lang: str) -> Path:
    """Write ``dist/<name>/`` and ``dist/<name>.zip`` for ``lang``; returns the zip's path.

    Everything is made in a temporary folder inside ``dist`` first and moved in place at the end,
    so a failed build leaves the previous package as it was.
    """
    if lang not in CHOICES:
        raise PackageError(f"no language {lang!r}: choose {', '.join(CHOICES)}")
    notebooks = released_notebooks(root)
    name = package_name(lang)
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dist, prefix=f".{name}-") as scratch:
        folder = Path(scratch) / name
        written = write_notebooks(notebooks, root, folder, lang)
        wheel = build_wheel(root, folder / "wheels")
        pins = student_requirements(sorted((root / "source").glob("*/*.ipynb")), wheel_requirements(wheel), HELPERS)
        (folder / "requirements.txt").write_text(
            "# Exactly the versions the course was tested with; the last line is the course's helpers.\n"
            + "".join(f"{pin}\n" for pin in pins)
            + f"./wheels/{wheel.name}\n"
        )
        contents = "\n".join(f"- `{p.relative_to(folder)}`" for p in written)
        example = next((p for p in written if "backprop_network" in p.name), written[0]).relative_to(folder)
        readme = Template(README.read_text()).substitute(
            languages=LANGUAGE_LINES[lang], example=example, contents=contents
        )
        (folder / "README.md").write_text(readme)
        if not (root / CONVENTIONS).is_file():
            raise PackageError(f"{root / CONVENTIONS} missing: the notebooks link to it")
        shutil.copyfile(root / CONVENTIONS, folder / CONVENTIONS)
        archive = shutil.make_archive(str(Path(scratch) / name), "zip", root_dir=scratch, base_dir=name)
        shutil.rmtree(dist / name, ignore_errors=True)
        folder.rename(dist / name)
        return Path(shutil.move(archive, dist / f"{name}.zip"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the student package(s) in dist/.")
    parser.add_argument("--lang", nargs="+", choices=CHOICES, default=[BOTH], help="pl, en or both (default)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: here)")
    parser.add_argument("--dist", type=Path, help="where to write (default: <root>/dist)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        for lang in args.lang:
            archive = build(root, args.dist or root / "dist", lang)
            notebooks = len(list(archive.with_suffix("").glob("*/*.ipynb")))
            print(f"{archive} ({archive.stat().st_size // 1024} KiB): {notebooks} notebooks, language {lang}")
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
