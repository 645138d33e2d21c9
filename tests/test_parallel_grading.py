"""Parallel autograding (course.grading.parallel) against plain serial `nbgrader autograde`.

A small class (6 students, one assignment, 2 workers) in copies of the course: reference,
blank and half-solved notebooks, one submission late (the course copy zeroes late work), one on
time. Serial and parallel grading of the same submissions must leave the same gradebook,
entry by entry, and the same autograded notebooks; a run that is killed, interrupted or loses a
worker, and the run that repeats it, must neither lose nor double an entry. (Submissions that
are broken or hostile are graded beside honest ones in tests/test_adversarial.py.)
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook

from course.grading import expectations, pipeline
from course.grading.parallel import grade, main
from course.grading.reporting import Report
from course.grading.scores import gradebook_url
from course.grading.tasks import default_workers
from tests.support.course import copy_course, partly_solved, submit
from tests.support.gradebooks import autograded_outline, gradebook_entries
from tests.support.nbrun import REPO

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

ASSIGNMENT = "04_outer_product"
DUE = "2020-01-01 00:00:00"


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


class GradingCommand:
    """``python -m course.grading.parallel`` as the instructor types it, its progress bar read as it is drawn.

    The bar advances when a graded submission has been merged into the gradebook, so it tells a
    test when this run (not an earlier one) has saved something.
    """

    def __init__(self, root: Path) -> None:
        command = [sys.executable, "-m", "course.grading.parallel", ASSIGNMENT, "--root", str(root), "--workers", "2"]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.streams: dict[str, list[bytes]] = {"out": [], "err": []}
        self.readers = [
            threading.Thread(target=self._read, args=(pipe, self.streams[name]), daemon=True)
            for name, pipe in (("out", self.process.stdout), ("err", self.process.stderr))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(pipe, chunks: list[bytes]) -> None:
        while chunk := os.read(pipe.fileno(), 65536):
            chunks.append(chunk)

    def text(self, name: str) -> str:
        return b"".join(self.streams[name]).decode(errors="replace")

    def merged(self) -> int:
        """Submissions this run has merged so far, as its progress bar shows them."""
        return max((int(done) for done in re.findall(r"(\d+)/\d+ \[", self.text("err"))), default=0)

    def wait_until_merged(self, at_least: int = 1, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.merged() < at_least:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nothing merged in time: {self.text('out')}{self.text('err')}")
            time.sleep(0.1)

    def workers(self) -> list[psutil.Process]:
        """The grading workers: the command's children, all forked by its pool (kernel factories and
        kernels are the workers' children)."""
        return psutil.Process(self.process.pid).children()

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        """Wait for the command to end: (exit code, stdout, stderr)."""
        code = self.process.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        return code, self.text("out"), self.text("err")


def wait_gone(processes: list[psutil.Process], timeout: float = 10) -> list[psutil.Process]:
    """Those of ``processes`` still running after ``timeout`` seconds."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


@dataclass
class Stage:
    """One run of the grading command and what it left: exit code, output, the gradebook after it."""

    code: int
    out: str
    err: str
    entries: dict
    workers: int = 0  # grading workers found while it ran
    left_running: list[str] = field(default_factory=list)  # processes alive after it ended


@pytest.fixture(scope="module")
def interrupted(template, serial, tmp_path_factory) -> dict[str, Stage]:
    """One copy of the class through three runs, as an instructor may live them: the command is
    killed outright (SIGKILL, no chance to clean up), then run again and stopped with Ctrl-C, then
    run again to the end while one of its workers dies. Each run starts on what the one before
    left in the gradebook and in autograded/."""
    root = course_copy(template, tmp_path_factory.mktemp("interrupted") / "course")
    url, stages = gradebook_url(root), {}

    command = GradingCommand(root)
    command.wait_until_merged()
    workers = command.workers()
    everything = psutil.Process(command.process.pid).children(recursive=True)  # workers, factories, kernels
    command.process.kill()
    code, out, err = command.finish()
    left = [f"{p.pid} (parent {p.ppid()}): {' '.join(p.cmdline())[-300:]}" for p in wait_gone(everything)]
    stages["killed"] = Stage(code, out, err, gradebook_entries(url), len(workers), left)

    command = GradingCommand(root)
    command.wait_until_merged()
    command.process.send_signal(signal.SIGINT)
    stages["ctrl-c"] = Stage(*command.finish(timeout=120), gradebook_entries(url))

    command = GradingCommand(root)
    command.wait_until_merged()
    workers = command.workers()
    assert workers, "no grading worker found while grading"
    workers[0].kill()
    code, out, err = command.finish()
    left = [str(p.pid) for p in wait_gone(workers)]
    stages["completed"] = Stage(code, out, err, gradebook_entries(url), len(workers), left)
    return stages


def consistent_subset(stage: Stage, serial: Path) -> set[str]:
    """The students in the gradebook after ``stage``, each complete and equal to serial grading's."""
    expected = gradebook_entries(gradebook_url(serial))
    students = {key[0] for key in stage.entries}
    assert stage.entries == {key: value for key, value in expected.items() if key[0] in students}
    return students


def test_a_killed_run_leaves_no_process_behind_and_what_it_saved_is_complete(interrupted, serial):
    killed = interrupted["killed"]
    assert killed.code == -signal.SIGKILL and killed.workers == 2, "the two grading workers were not found"
    assert not killed.left_running, f"workers or kernels outlived the killed command: {killed.left_running}"
    assert 1 <= len(consistent_subset(killed, serial)) < 6, "the kill came too late to test anything"


def test_ctrl_c_finishes_the_submissions_in_progress(interrupted, serial):
    stopped = interrupted["ctrl-c"]
    assert stopped.code == 130, stopped.err
    assert "INTERRUPTED" in stopped.out and "interrupted: finishing" in stopped.err
    row = stopped.out.splitlines()[2].split()
    assert row[0] == ASSIGNMENT and 1 <= int(row[2]) < 6, f"the interrupt came too late to test anything: {row}"
    consistent_subset(stopped, serial)


def test_a_rerun_after_a_dying_worker_completes_with_one_entry_per_cell(interrupted, serial):
    """The last run regrades the whole class over what the two interrupted runs saved: it loses
    nothing to the worker it lost, and overwrites rather than doubles (gradebook_entries raises
    on a doubled entry)."""
    completed = interrupted["completed"]
    assert completed.code == 0, completed.err
    assert not [line for line in completed.out.splitlines() if line.startswith("FAILED")], completed.out
    assert "a grading worker died 1 time(s); graded again in a fresh one: " in completed.out
    assert completed.entries == gradebook_entries(gradebook_url(serial))  # all 6, once each
    assert not completed.left_running, "the killed worker is still running"
    header, _, row, totals = completed.out.splitlines()[:4]  # the summary table
    assert header.split()[:4] == ["assignment", "submissions", "graded", "failed"]
    assert row.split()[:4] == [ASSIGNMENT, "6", "6", "0"]
    assert "6 submissions" in totals and "2 workers" in totals and "notebooks/s" in totals
    assert "autograde" in completed.err and "6/6" in completed.err  # the progress bar


def test_unknown_assignment_is_a_clear_error(template, capsys):
    assert main(["99_nope", "--root", str(template)]) == 1
    assert "not in the gradebook: 99_nope" in capsys.readouterr().err


def test_default_workers_is_the_number_of_usable_cores():
    assert default_workers() == len(os.sched_getaffinity(0))
