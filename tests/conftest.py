"""Shared fixtures: one temporary copy of the course, released and graded once per test session."""

import shutil
from pathlib import Path

import pytest

from course import pipeline
from tests.nbrun import REPO


def copy_course(target: Path) -> Path:
    """A grading-ready copy of the course (sources, committed release, config) in ``target``."""
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> tuple[Path, str]:
    """The course copied to a temporary folder after the main job ran there: (root, score table)."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    table = pipeline.run(root)
    return root, table
