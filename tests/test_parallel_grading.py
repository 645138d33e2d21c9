"""Parallel autograding (course.grading.parallel) against plain serial `nbgrader autograde`.

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
import psutil
import pytest
from nbgrader.api import Gradebook

from course.grading import expectations, pipeline
from course.grading.parallel import grade, main
from course.grading.reporting import Report, format_summary
from course.grading.scores import gradebook_url
from course.grading.tasks import default_workers
from tests.support.course import copy_course, partly_solved, solution_ids, submit
from tests.support.gradebooks import autograded_outline, gradebook_entries
from tests.support.nbrun import REPO

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

ASSIGNMENT = "04_outer_product"
DUE = "2020-01-01 00:00:00"
CELL_TIMEOUT = 8  # seconds, in the copy with the infinite loop (the slowest honest cell takes about 1 s)


def first_half(ids: list[str]) -> list[str]:
    return ids[: len(ids) // 2]


def half_solved(root: Path) -> dict[str, nbformat.NotebookNode]:
    """Every notebook of the release with its first half of solution cells solved from the source."""
    sources = sorted((root / "source" / ASSIGNMENT).glob("*.ipynb"))
    return {s.name: partly_solved(s, root / "release" / ASSIGNMENT / s.name, first_half) for s in sources}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The course released into its gradebook, with a due date, late work zeroed, and 6 submissions."""
    root = copy_course(tmp_path_factory.mktemp("template"), [ASSIGNMENT])
    with (root / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    pipeline.generate_release(root, ASSIGNMENT)
    for notebook in (root / "source" / ASSIGNMENT).glob("*.ipynb"):  # once, not in every copy below
        expectations.load(root, ASSIGNMENT, notebook.stem)
    with Gradebook(gradebook_url(root)) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    submit(root, "ada", ASSIGNMENT, from_folder="source", timestamp="2019-12-31 23:00:00 UTC")
    submit(root, "bob", ASSIGNMENT, from_folder="source", timestamp="2020-01-02 08:00:00 UTC")  # late
    submit(root, "cy", ASSIGNMENT, from_folder="release")
    submit(root, "dee", ASSIGNMENT, from_folder="release")
    submit(root, "eve", ASSIGNMENT, half_solved(root))
    submit(root, "fay", ASSIGNMENT, half_solved(root))
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
def parallel(template, tmp_path_factory) -> tuple[Path, Report]:
    root = course_copy(template, tmp_path_factory.mktemp("parallel") / "course")
    return root, grade(root, [ASSIGNMENT], workers=2, progress=False)


def grade_cells(entries: dict) -> dict:
    return {key: value for key, value in entries.items() if key[3] == "grade"}


def test_parallel_and_serial_give_identical_gradebooks(serial, parallel):
    root, report = parallel
    expected, got = gradebook_entries(gradebook_url(serial)), gradebook_entries(gradebook_url(root))
    assert report.workers == 2 and not report.failures
    assert report.kernels == {"warm"}, "kernels forked by course.grading.kernel_factory (the default) were not tested"
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
    report = grade(root, [ASSIGNMENT], workers=2, progress=False)
    assert len(report.outcomes) == 6 and not report.failures
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))  # raises if doubled


def start_cli(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course.grading.parallel", ASSIGNMENT, "--root", str(root), "--workers", "2"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def workers_of(process: subprocess.Popen) -> list[psutil.Process]:
    """The grading workers of a running command: its multiprocessing children, spawned by the pool."""
    children = psutil.Process(process.pid).children()
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


def wait_gone(processes: list[psutil.Process], timeout: float = 10) -> list[psutil.Process]:
    """Those of ``processes`` still running after ``timeout`` seconds."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


def test_a_killed_run_leaves_no_process_behind_and_a_rerun_completes(template, serial, tmp_path):
    root = course_copy(template, tmp_path / "course")
    process = start_cli(root)
    wait_for_merged_submissions(root, process)
    workers = workers_of(process)
    assert len(workers) == 2, "the two grading workers were not found while grading"
    everything = psutil.Process(process.pid).children(recursive=True)  # workers, factories, kernels
    process.kill()  # SIGKILL: no chance to clean up
    process.communicate()
    alive = [
        f"{p.pid} (parent {p.ppid()}): {' '.join(p.cmdline())[-300:]}" for p in wait_gone(everything) if p.is_running()
    ]
    assert not alive, f"workers or kernels kept running after the grading command was killed: {alive}"
    graded = assert_consistent_subset(root, serial)
    assert len(graded) < 6, "the kill came too late to test anything"
    grade(root, [ASSIGNMENT], workers=2, progress=False)
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))


def test_a_dying_worker_loses_nothing_its_submissions_are_graded_again(template, serial, tmp_path):
    root = course_copy(template, tmp_path / "course")
    process = start_cli(root)
    wait_for_merged_submissions(root, process)
    workers = workers_of(process)
    assert workers, "no grading worker found while grading"
    workers[0].kill()
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert not [line for line in out.splitlines() if line.startswith("FAILED")], out
    assert "a grading worker died 1 time(s); graded again in a fresh one: " in out
    assert gradebook_entries(gradebook_url(root)) == gradebook_entries(gradebook_url(serial))  # all 6, once each
    assert not wait_gone(workers)


def test_broken_submissions_do_not_stop_the_others(template, tmp_path):
    root = course_copy(template, tmp_path / "course")
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    name = next((root / "source" / ASSIGNMENT).glob("*.ipynb")).name
    for student, text in [("not_json", '{"cells": ['), ("empty_json", "{}")]:
        submit(root, student, ASSIGNMENT, {name: text})
    first_solution = solution_ids(nbformat.read(root / "release" / ASSIGNMENT / name, as_version=4))[0]
    for student, code in [("loops", "while True:\n    pass"), ("kills_kernel", "import os\nos._exit(1)")]:
        nb = nbformat.read(root / "source" / ASSIGNMENT / name, as_version=4)
        next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first_solution).source = code
        submit(root, student, ASSIGNMENT, {name: nb})

    report = grade(root, [ASSIGNMENT], workers=2, progress=False)

    failed = {o.task.student: o.error for o in report.failures}
    # nbgrader cannot read these two at all; a dying kernel is a failure too unless the
    # course's Execute preprocessor turns it into a scored cell (course.grading.autograding does).
    assert {"not_json", "empty_json"} <= set(failed) <= {"not_json", "empty_json", "kills_kernel"}, failed
    assert all(failed.values()), "a failure without a reason"
    assert {o.task.student for o in report.outcomes} == {
        "ada",
        "bob",
        "cy",
        "dee",
        "eve",
        "fay",
        "not_json",
        "empty_json",
        "loops",
        "kills_kernel",
    }
    notebooks = {k[0]: v for k, v in gradebook_entries(gradebook_url(root)).items() if k[3] == "notebook"}
    full = notebooks["ada"][1]
    assert notebooks["ada"][0] == notebooks["bob"][0] == full and notebooks["cy"][0] == 0
    assert notebooks["loops"][0] < full and notebooks["kills_kernel"][0] < full
    summary = format_summary(report, [])
    assert "FAILED not_json/" in summary and "FAILED empty_json/" in summary


def test_unknown_assignment_is_a_clear_error(template, capsys):
    assert main(["99_nope", "--root", str(template)]) == 1
    assert "not in the gradebook: 99_nope" in capsys.readouterr().err


def test_default_workers_is_the_number_of_usable_cores():
    assert default_workers() == len(os.sched_getaffinity(0))
