"""Shared fixtures, each made once per test session (per worker under pytest-xdist): the reference
run of every notebook, and a temporary copy of the course, released and graded."""

from collections.abc import Callable
from pathlib import Path

import pytest

from course.grading import pipeline
from tests.support.course import copy_course
from tests.support.nbrun import Run, run_notebook


@pytest.fixture(scope="session")
def reference_runs() -> Callable[[Path], Run]:
    """``path -> Run`` of the unchanged source notebook, run on first use and then kept.

    Every test of a reference (its figures, its printed output, its hidden-check records for the
    pasted-answers attack) reads the same run, so no notebook is executed again to recover what
    an earlier run already gave. Tests must treat the run and its namespace as read-only. Runs
    with a replaced cell (a student's slip) are different runs and go through ``run_notebook``.
    """
    runs: dict[Path, Run] = {}

    def reference_run(path: Path) -> Run:
        key = path.resolve()
        if key not in runs:
            runs[key] = run_notebook(key)
        return runs[key]

    return reference_run


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> tuple[Path, str]:
    """The course copied to a temporary folder after the main job ran there: (root, score table)."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    table = pipeline.run(root)
    return root, table


# The longest modules, longest first: under pytest-xdist each runs on
# one worker, so they start at once instead of being handed out last and running alone at the end.
LONGEST_FIRST = (
    "test_parallel_grading",
    "test_pipeline",
    "test_adversarial",
    "test_hub",
    "test_browser",
    "test_pasted_answers",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module, and of the other modules, stays
