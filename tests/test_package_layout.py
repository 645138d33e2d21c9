"""The tree shows the two audiences: students' helpers in ``course``, instructors' tooling in
``course.grading``; the helpers never need the grading side, and the grading side has no cycles."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.nbrun import REPO

COURSE = REPO / "course"
HELPERS = sorted(COURSE.glob("*.py"))
GRADING = sorted((COURSE / "grading").rglob("*.py"))
MAX_LINES = 300


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", HELPERS, ids=lambda p: p.name)
def test_a_helper_imports_nothing_from_the_grading_side(path):
    grading = sorted(name for name in imported_modules(path) if name.startswith("course.grading"))
    assert not grading, f"{path.name} imports {grading}: students install the helpers without course.grading"


def test_importing_every_helper_loads_no_grading_module():
    names = ", ".join(module_name(path) for path in HELPERS)
    code = f"import sys, {names}; print(sorted(m for m in sys.modules if m.startswith('course.grading')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_grading_package_has_no_import_cycle():
    modules = {module_name(path): path for path in GRADING}
    graph = {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, "import cycle: " + " -> ".join((*trail[trail.index(name) :], name))
        if name not in done:
            for imported in sorted(graph[name]):
                visit(imported, (*trail, name))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert "course.grading.kernel_factory" not in graph["course.grading.sandbox"]


@pytest.mark.parametrize("path", GRADING, ids=lambda p: p.name)
def test_grading_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: cut it by idea"
