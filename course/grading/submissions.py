"""What is wrong with a submission before it is graded, said in words a student understands.

nbgrader grades what it finds and logs the rest in a long technical log. This module looks at
each ``submitted/<student>/<assignment>/`` folder first and names the problems an instructor
must hear about: an empty folder, a renamed or extra notebook, a file that is not a notebook,
deleted, duplicated or reordered exercise cells. The grading itself decides the score; these
messages say why it is what it is.
"""

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError


@dataclass(frozen=True)
class Finding:
    student: str
    assignment: str
    message: str


def grade_ids(notebook: nbformat.NotebookNode) -> list[str]:
    """nbgrader cell ids of a notebook, in order (solution, grade and locked cells alike)."""
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in notebook.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    ]


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    try:
        return nbformat.read(path, as_version=4), None
    except NotJSONError:
        return None, f"{path.name} is not valid JSON: it cannot be graded and scores 0"
    except Exception as error:  # noqa: BLE001 -- any unreadable file gets the same verdict
        return None, f"{path.name} is not a readable notebook ({type(error).__name__}): it scores 0"


def inspect_notebook(path: Path, release: nbformat.NotebookNode) -> list[str]:
    """Problems of one submitted notebook against its released version."""
    notebook, problem = _read(path)
    if problem:
        return [problem]
    expected, found = grade_ids(release), grade_ids(notebook)
    messages = []
    missing = [g for g in expected if g not in found]
    if missing:
        messages.append(f"{path.name}: cells deleted: {', '.join(missing)} (tests are put back for grading)")
    duplicated = sorted({g for g in found if found.count(g) > 1})
    if duplicated:
        messages.append(f"{path.name}: cells duplicated: {', '.join(duplicated)}")
    kept = [g for g in found if g in expected]
    if not missing and not duplicated and kept != expected:
        messages.append(f"{path.name}: exercise cells are out of order; they run in the submitted order")
    return messages


def inspect(root: Path, assignment: str, student: str) -> list[str]:
    """Everything worth telling about ``student``'s submission of ``assignment``."""
    folder = root / "submitted" / student / assignment
    released = {p.name: p for p in sorted((root / "release" / assignment).glob("*.ipynb"))}
    submitted = {p.name: p for p in sorted(folder.glob("*.ipynb"))} if folder.is_dir() else {}
    if not submitted:
        return [f"no notebook submitted (expected {', '.join(released)}): scores 0"]
    messages = []
    extra = [name for name in submitted if name not in released]
    for name, path in released.items():
        if name in submitted:
            messages += inspect_notebook(submitted[name], nbformat.read(path, as_version=4))
        else:
            hint = f"; found {', '.join(extra)} instead: was it renamed?" if extra else ""
            messages.append(f"{name} is missing{hint} (scores 0)")
    messages += [f"{name} is not part of the assignment and is not graded" for name in extra]
    return messages


def inspect_all(root: Path, assignment: str) -> list[Finding]:
    """Findings for every student folder of ``assignment`` under ``submitted/``."""
    submitted = root / "submitted"
    students = sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    return [
        Finding(student, assignment, message)
        for student in students
        if (submitted / student / assignment).exists()
        for message in inspect(root, assignment, student)
    ]
