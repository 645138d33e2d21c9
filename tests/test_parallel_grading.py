"""Parallel autograding (course.parallel_grading) against plain serial `nbgrader autograde`.

A small class (6 students, one assignment, 2 workers) in copies of the course: reference,
blank and half-solved notebooks, one submission late (the course copy zeroes late work), one on
time. Serial and parallel grading of the same submissions must leave the same gradebook,
entry by entry, and the same autograded notebooks; interrupting and repeating the parallel run
must neither lose nor double an entry; broken submissions must not stop the others.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import parallel_grading, pipeline
from course.parallel_grading import autograded_outline, gradebook_entries
from course.scores import gradebook_url
from tests.conftest import copy_course
from tests.nbrun import REPO

ASSIGNMENT = "04_outer_product"
DUE = "2020-01-01 00:00:00"
CELL_TIMEOUT = 3  # seconds, in the copy with the infinite loop


def solution_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [c.metadata.nbgrader.grade_id for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def half_solved(root: Path, name: str) -> nbformat.NotebookNode:
    """The release with its first half of solution cells taken from the source (markers removed)."""
    source = nbformat.read(root / "source" / ASSIGNMENT / name, as_version=4)
    answers = {c.metadata.nbgrader.grade_id: c.source for c in source.cells if "nbgrader" in c.metadata}
    nb = nbformat.read(root / "release" / ASSIGNMENT / name, as_version=4)
    solved = solution_ids(nb)[: len(solution_ids(nb)) // 2]
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in solved:
            lines = answers[cell.metadata.nbgrader.grade_id].splitlines()
            cell.source = "\n".join(line for line in lines if not line.strip().startswith(("### BEGIN", "### END")))
    return nb


def submit(root: Path, student: str, kind: str, timestamp: str | None = None) -> None:
    """``submitted/<student>/<ASSIGNMENT>`` holding the reference, the blank release or a half-solved notebook."""
    target = root / "submitted" / student / ASSIGNMENT
    target.mkdir(parents=True)
    for source in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb")):
        if kind == "half":
            nbformat.write(half_solved(root, source.name), target / source.name)
        else:
            shutil.copy(root / kind / ASSIGNMENT / source.name, target / source.name)
    if timestamp:
        (target / "timestamp.txt").write_text(timestamp)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The course released into its gradebook, with a due date, late work zeroed, and 6 submissions."""
    root = copy_course(tmp_path_factory.mktemp("template"))
    with (root / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    pipeline.generate_release(root, ASSIGNMENT)
    with Gradebook(gradebook_url(root)) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    submit(root, "ada", "source", timestamp="2019-12-31 23:00:00 UTC")
    submit(root, "bob", "source", timestamp="2020-01-02 08:00:00 UTC")  # late
    submit(root, "cy", "release")
    submit(root, "dee", "release")
    submit(root, "eve", "half")
    submit(root, "fay", "half")
    return root


def course_copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


@pytest.fixture(scope="module")
def serial(template, tmp_path_factory) -> Path:
    """The class graded by plain `nbgrader autograde`, as the README documented it."""
    root = course_copy(template, tmp_path_factory.mktemp("serial") / "course")
    pipeline.run_nbgrader(root, "autograde", ASSIGNMENT, "--force", "--create")
    return root


@pytest.fixture(scope="module")
def parallel(template, tmp_path_factory) -> tuple[Path, parallel_grading.Report]:
    root = course_copy(template, tmp_path_factory.mktemp("parallel") / "course")
    return root, parallel_grading.grade(root, [ASSIGNMENT], workers=2, progress=False)


def grade_cells(entries: dict) -> dict:
    return {key: value for key, value in entries.items() if key[3] == "grade"}


def test_parallel_and_serial_give_identical_gradebooks(serial, parallel):
    root, report = parallel
    expected, got = gradebook_entries(gradebook_url(serial)), gradebook_entries(gradebook_url(root))
    assert report.workers == 2 and not report.failures
    assert report.kernels == {"warm"}, "kernels forked by course.kernel_factory (the default) were not tested"
    assert len(grade_cells(expected)) > 6 * 3, "too few grade cells compared"
    assert got == expected  # every student, notebook and cell: auto score, max, needs-manual-grade, comments


def test_the_class_is_graded_as_expected(parallel):
    """The comparison above is not vacuous: scores differ by kind, lateness is recorded."""
    root, _ = parallel
    notebooks = {(k[0], k[2]): v for k, v in gradebook_entries(gradebook_url(root)).items() if k[3] == "notebook"}
    scores = {student: score for (student, _), (score, _, _) in notebooks.items()}
    full = max(maximum for _, maximum, _ in notebooks.values())
    assert scores["ada"] == scores["bob"] == full and scores["cy"] == scores["dee"] == 0
    assert 0 < scores["eve"] == scores["fay"] < full
    penalties = {student: penalty for (student, _), (_, _, penalty) in notebooks.items()}
    assert penalties["bob"] == full and not penalties["ada"]


def test_autograded_notebooks_match_cell_by_cell(serial, parallel):
    root, _ = parallel
    outline = autograded_outline(root)
    assert len(outline) == 6
    assert outline == autograded_outline(serial)


def test_repeating_the_run_keeps_one_entry_per_cell(serial, parallel):
    root, _ = parallel
    report = parallel_grading.grade(root, [ASSIGNMENT], workers=2, progress=False)
    assert len(report.outcomes) == 6 and not report.failures
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))  # raises if doubled


def start_cli(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course.parallel_grading", ASSIGNMENT, "--root", str(root), "--workers", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_merged_submissions(root: Path, process: subprocess.Popen, at_least: int = 1) -> int:
    """Poll the gradebook until the running command has merged ``at_least`` submissions."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        graded = sum(key[3] == "submission" for key in gradebook_entries(gradebook_url(root)))
        if graded >= at_least:
            return graded
        time.sleep(0.2)
    raise AssertionError(f"no submission merged in time: {process.communicate()}")


def assert_consistent_subset(root: Path, serial: Path) -> set[str]:
    """Every submission in the gradebook is complete and equal to serial grading's; returns the students."""
    expected, got = gradebook_entries(gradebook_url(serial)), gradebook_entries(gradebook_url(root))
    students = {key[0] for key in got}
    assert got == {key: value for key, value in expected.items() if key[0] in students}
    return students


def test_ctrl_c_finishes_the_submissions_in_progress_and_a_rerun_completes(template, serial, tmp_path):
    root = course_copy(template, tmp_path / "course")
    process = start_cli(root)
    wait_for_merged_submissions(root, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "INTERRUPTED" in out and "interrupted: finishing" in err
    graded = assert_consistent_subset(root, serial)
    assert 1 <= len(graded) < 6, "the interrupt came too late to test anything"

    process = start_cli(root)  # the rerun, as the instructor would type it
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))
    header, _, row, totals = out.splitlines()[:4]  # the summary table
    assert header.split()[:4] == ["assignment", "submissions", "graded", "failed"]
    assert row.split()[:4] == [ASSIGNMENT, "6", "6", "0"]
    assert "6 submissions" in totals and "2 workers" in totals and "notebooks/s" in totals
    assert "autograde" in err and "6/6" in err  # the progress bar


def workers_of(root: Path) -> list[int]:
    """Process ids of grading workers working on ``root`` (from /proc)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--worker" in args and str(root).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find worker processes")
def test_a_killed_run_leaves_no_worker_behind_and_a_rerun_completes(template, serial, tmp_path):
    root = course_copy(template, tmp_path / "course")
    process = start_cli(root)
    wait_for_merged_submissions(root, process)
    assert workers_of(root), "no worker process found while grading"
    process.kill()  # SIGKILL: no chance to clean up
    process.communicate()
    deadline = time.monotonic() + 10
    while workers_of(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not workers_of(root), "orphaned workers kept grading after their parent was killed"
    assert_consistent_subset(root, serial)
    parallel_grading.grade(root, [ASSIGNMENT], workers=2, progress=False)
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find worker processes")
def test_a_dying_worker_costs_only_its_submission(template, serial, tmp_path):
    root = course_copy(template, tmp_path / "course")
    process = start_cli(root)
    wait_for_merged_submissions(root, process)
    os.kill(workers_of(root)[0], signal.SIGKILL)
    out, err = process.communicate(timeout=300)
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]  # none if it died while idle
    assert len(failed) <= 1 and all("worker process exited with code -9" in line for line in failed), out
    assert process.returncode == (1 if failed else 0), err
    graded = assert_consistent_subset(root, serial)
    assert len(graded) == 6 - len(failed)  # a fresh worker graded the rest
    assert not workers_of(root)


def test_broken_submissions_do_not_stop_the_others(template, tmp_path):
    root = course_copy(template, tmp_path / "course")
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    name = next((root / "source" / ASSIGNMENT).glob("*.ipynb")).name
    for student, text in [("not_json", '{"cells": ['), ("empty_json", "{}")]:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / name).write_text(text)
    first_solution = solution_ids(nbformat.read(root / "release" / ASSIGNMENT / name, as_version=4))[0]
    for student, code in [("loops", "while True:\n    pass"), ("kills_kernel", "import os\nos._exit(1)")]:
        nb = nbformat.read(root / "source" / ASSIGNMENT / name, as_version=4)
        next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first_solution).source = code
        (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, root / "submitted" / student / ASSIGNMENT / name)

    report = parallel_grading.grade(root, [ASSIGNMENT], workers=2, progress=False)

    failed = {o.task.student: o.error for o in report.failures}
    # nbgrader cannot read these two at all; a dying kernel is a failure too unless the
    # course's Execute preprocessor turns it into a scored cell (course.autograding does).
    assert {"not_json", "empty_json"} <= set(failed) <= {"not_json", "empty_json", "kills_kernel"}, failed
    assert all(failed.values()), "a failure without a reason"
    assert {o.task.student for o in report.outcomes} == {"ada", "bob", "cy", "dee", "eve", "fay", "not_json",
                                                         "empty_json", "loops", "kills_kernel"}  # fmt: skip
    notebooks = {k[0]: v for k, v in gradebook_entries(gradebook_url(root)).items() if k[3] == "notebook"}
    full = notebooks["ada"][1]
    assert notebooks["ada"][0] == notebooks["bob"][0] == full and notebooks["cy"][0] == 0
    assert notebooks["loops"][0] < full and notebooks["kills_kernel"][0] < full
    summary = parallel_grading.format_summary(report, [])
    assert "FAILED not_json/" in summary and "FAILED empty_json/" in summary


def test_unknown_assignment_is_a_clear_error(template, capsys):
    assert parallel_grading.main(["99_nope", "--root", str(template)]) == 1
    assert "not in the gradebook: 99_nope" in capsys.readouterr().err


def test_default_workers_is_the_number_of_usable_cores():
    assert parallel_grading.default_workers() == len(os.sched_getaffinity(0))
