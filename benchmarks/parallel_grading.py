"""Benchmark: plain serial ``nbgrader autograde`` against ``python -m course.grading.parallel``.

Run from the repository root: ``.venv/bin/python benchmarks/parallel_grading.py [--students N]``.

In a temporary copy of the course it releases every assignment, builds a synthetic class of N
students -- a third submit the reference (source notebooks), a third the blank release, a third
a partly solved notebook (a seeded random half of the solution cells from the source, the rest
from the release) -- and then, for each round, grades three fresh copies of exactly the same
submissions: with ``nbgrader autograde <assignment> --force --create`` for each assignment in
turn; with the parallel command as shipped (kernels forked by ``course.grading.kernel_factory``); and
with the parallel command and ``--cold-kernels`` (every kernel a fresh sandbox, as under
nbgrader), which shows the extra cores' share of the gain. All are timed as whole commands,
start-up included. The order rotates between rounds because the machine is shared: a
neighbour's load hits whichever runs at that moment.

After every round each parallel gradebook must agree with the serial one entry by entry (every
student, notebook, grade cell: auto score, max score, needs-manual-grade, comments, timestamps)
and so must the autograded notebooks' outlines (each cell's outputs and error names); otherwise
the benchmark fails. It prints the throughput of each (notebooks/s) and the ratios of the
median times, then per notebook the parallel grader's time per submission next to what the
reference solution's graded cells (solutions and grade cells) take in a kernel, the limit once
the demonstration cells are skipped, and what the skipped cells would have cost.

Last, the whole class (``--class-size``, default 200 students): graded once in parallel, timed,
and checked: every notebook of every student is in the gradebook with every grade cell, the
reference submissions have full marks and the blank ones zero, and the first students, whose
submissions are those of the timed rounds, have exactly the serial gradebook's entries.
"""

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make the course package and the tests' support importable

from course.grading import expectations, pipeline  # noqa: E402
from course.grading.demos import is_demo  # noqa: E402
from course.grading.parallel import default_workers  # noqa: E402
from course.grading.scores import gradebook_url  # noqa: E402
from tests.support.course import copy_course, partly_solved, submit  # noqa: E402
from tests.support.gradebooks import autograded_outline, gradebook_entries  # noqa: E402

KINDS = ("reference", "blank", "partial")
FOLDERS = {"reference": "source", "blank": "release"}  # what the whole kinds hand in


def random_half(rng: random.Random) -> Callable[[list[str]], list[str]]:
    """Solve each solution cell with probability 1/2, drawn from ``rng`` in notebook order."""
    return lambda ids: [grade_id for grade_id in ids if rng.random() < 0.5]


def build_class(root: Path, assignments: list[str], students: int, seed: int = 7) -> dict[str, str]:
    """Submissions ``submitted/sNNN/<assignment>`` for ``students`` students; returns student -> kind."""
    kinds = {}
    for i in range(students):
        student, kind = f"s{i:03d}", KINDS[i % len(KINDS)]
        kinds[student] = kind
        choose = random_half(random.Random(f"{seed}-{student}"))
        for assignment in assignments:
            if kind in FOLDERS:
                submit(root, student, assignment, from_folder=FOLDERS[kind])
                continue
            sources = sorted((root / "source" / assignment).glob("*.ipynb"))
            release = root / "release" / assignment
            submit(root, student, assignment, {s.name: partly_solved(s, release / s.name, choose) for s in sources})
    return kinds


def prepare(workdir: Path, assignments: list[str] | None, students: int) -> tuple[Path, list[str], dict[str, str]]:
    """The template every round copies: course released into its gradebook, its reference records
    made (as ``make release`` leaves them: grading a class never waits for them), class submitted."""
    template = copy_course(workdir / "template")
    chosen = assignments or pipeline.list_assignments(template)
    for assignment in chosen:
        pipeline.generate_release(template, assignment)
        for source in sorted((template / "source" / assignment).glob("*.ipynb")):
            expectations.load(template, assignment, source.stem)
    kinds = build_class(template, chosen, students)
    return template, chosen, kinds


def venv_env() -> dict[str, str]:
    """This interpreter's scripts first on PATH, as course.grading.pipeline runs nbgrader."""
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


@dataclass
class Timing:
    """One command's wall time, the CPU time it and every process under it used, and what it printed."""

    wall: float
    cpu: float
    output: str = ""


def timed(command: list[str], cwd: Path) -> Timing:
    """Run a command to completion, timing it. Fails loudly if the command fails.

    CPU time is that of all descendants (workers, kernels, sandboxes): each is reaped by its
    parent, so their times add up in this process's RUSAGE_CHILDREN.
    """
    before, started = children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=venv_env(), capture_output=True, text=True)
    timing = Timing(time.perf_counter() - started, children_cpu() - before, result.stdout)
    if result.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return timing


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_serial(root: Path, assignments: list[str]) -> Timing:
    """Plain nbgrader, one assignment after another, as the README documented it."""
    command = [sys.executable, "-m", "nbgrader", "autograde"]
    timings = [timed([*command, assignment, "--force", "--create"], root) for assignment in assignments]
    return Timing(sum(t.wall for t in timings), sum(t.cpu for t in timings))


def run_parallel(root: Path, assignments: list[str], workers: int, cold: bool = False) -> Timing:
    """The parallel command, as the instructor types it (``cold``: with ``--cold-kernels``)."""
    command = [
        sys.executable,
        "-m",
        "course.grading.parallel",
        *assignments,
        "--root",
        str(root),
        "--workers",
        str(workers),
        "--no-progress",
        *(["--cold-kernels"] if cold else []),
    ]
    return timed(command, REPO)


# The contenders: plain nbgrader, the parallel command as shipped (warm kernels), and the parallel
# command with every kernel started cold, which shows how much of the gain is the extra cores alone.
RUNNERS = {
    "serial": lambda root, assignments, workers: run_serial(root, assignments),
    "parallel": lambda root, assignments, workers: run_parallel(root, assignments, workers),
    "parallel-cold": lambda root, assignments, workers: run_parallel(root, assignments, workers, cold=True),
}


def compare(serial: Path, parallel: Path) -> int:
    """Both gradebooks and autograded outlines must match; returns the number of grade cells compared."""
    expected, got = gradebook_entries(gradebook_url(serial)), gradebook_entries(gradebook_url(parallel))
    lost, extra = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
    differ = sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k])
    if lost or extra or differ:
        details = [f"lost {k}" for k in lost[:5]] + [f"extra {k}" for k in extra[:5]]
        details += [f"{k}: serial {expected[k]} parallel {got[k]}" for k in differ[:5]]
        raise SystemExit("gradebooks differ:\n  " + "\n  ".join(details))
    serial_outline, parallel_outline = autograded_outline(serial), autograded_outline(parallel)
    if serial_outline != parallel_outline:
        details = [
            f"{name} cell {a[0]}: serial {a[1:]} parallel {b[1:]}"
            for name in sorted(serial_outline.keys() | parallel_outline.keys())
            for a, b in zip(serial_outline.get(name, []), parallel_outline.get(name, []))
            if a != b
        ]
        missing = sorted(serial_outline.keys() ^ parallel_outline.keys())
        raise SystemExit("autograded notebooks differ:\n  " + "\n  ".join(details[:10] + missing[:10]))
    return sum(key[3] == "grade" for key in expected)


def seconds_per_submission(summary: str) -> dict[str, float]:
    """assignment -> the mean time per submission in a worker, from the parallel command's table."""
    row = re.compile(r"^(\S+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\S+ / \S+\s+([\d.]+) s$")
    return {m[1]: float(m[2]) for m in map(row.match, summary.splitlines()) if m}


def cell_seconds(source: Path) -> dict[str, float]:
    """Seconds the reference notebook spends in its graded, demonstration and other code cells.

    One ordinary kernel, cell after cell, as the figures of the grading-speed issue were taken:
    "graded" (solution and grade cells) is what grading a notebook cannot go below.
    """
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}})
    spent = {"graded": 0.0, "demo": 0.0, "other": 0.0}
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            kind = "graded" if meta.get("grade") or meta.get("solution") else "demo" if is_demo(cell) else "other"
            started = time.perf_counter()
            client.execute_cell(cell, index)
            spent[kind] += time.perf_counter() - started
    return spent


def report_notebooks(template: Path, assignments: list[str], parallel: list[Timing], workers: int) -> None:
    """Per notebook: the parallel grader's time per submission against the reference's cell times."""
    runs = [seconds_per_submission(t.output) for t in parallel]
    print(f"per notebook: seconds per submission on one of {workers} workers (median of rounds) against the")
    print("reference's code cells in one kernel: graded (solution + grade cells: the limit), setup, skipped demos")
    for assignment in assignments:
        (source,) = sorted((template / "source" / assignment).glob("*.ipynb"))
        spent = cell_seconds(source)
        graded = statistics.median(run[assignment] for run in runs if assignment in run)
        print(
            f"  {assignment:<30} graded in {graded:4.1f} s; cells: graded {spent['graded']:.2f} s, "
            f"setup {spent['other']:.2f} s, demo {spent['demo']:.2f} s (skipped)"
        )


def grade_whole_class(workdir: Path, assignments: list[str], students: int, workers: int, serial_entries) -> None:
    """Grade ``students`` students in parallel once; fail unless every entry is there and right."""
    print(f"whole class: preparing {students} students ...", flush=True)
    template, _, kinds = prepare(workdir / "class", assignments, students)
    notebooks = sum(len(list((template / "source" / a).glob("*.ipynb"))) for a in assignments) * students
    timing = run_parallel(template, assignments, workers)
    entries = gradebook_entries(gradebook_url(template))
    cells = {key[1:] for key in serial_entries if key[3] == "grade"}  # (assignment, notebook, kind, cell)
    missing = [(s, *c) for s in kinds for c in cells if (s, *c) not in entries]
    wrong = [
        key
        for key, value in entries.items()
        if key[3] == "notebook"
        and kinds[key[0]] in FOLDERS
        and value[0] != (value[1] if kinds[key[0]] == "reference" else 0)
    ]
    differ = [key for key, value in serial_entries.items() if key[3] != "submission" and entries.get(key) != value]
    if missing or wrong or differ:
        raise SystemExit(f"whole class: missing {missing[:5]}, wrong scores {wrong[:5]}, unlike serial {differ[:5]}")
    print(
        f"whole class: {students} students x {len(assignments)} assignments = {notebooks} notebooks in "
        f"{timing.wall:.0f} s ({timing.wall / 60:.1f} min, {notebooks / timing.wall:.2f} notebooks/s) on {workers} "
        f"workers; all {sum(k[3] == 'grade' for k in entries)} grade cells in the gradebook, nothing lost or doubled, "
        f"the {len({k[0] for k in serial_entries})} students of the timed rounds exactly as serial nbgrader graded them"
    )


def report(results: dict[str, list[Timing]], notebooks: int, workers: int) -> None:
    """Medians, throughput and the speed-up of each parallel variant over serial nbgrader.

    CPU seconds count only processes their parent reaped: sandboxed kernels run under bwrap's
    own init, so theirs are missing and the figure is a floor, comparable between runs only.
    """
    s = statistics.median(t.wall for t in results["serial"])
    rounds = len(results["serial"])
    for name, timings in results.items():
        wall = statistics.median(t.wall for t in timings)
        cpu = statistics.median(t.cpu for t in timings)
        label = "serial nbgrader autograde" if name == "serial" else f"{name} ({workers} workers)"
        print(
            f"median {label:<32} {wall:6.1f} s = {notebooks / wall:.2f} notebooks/s, "
            f"speed-up {s / wall:.2f}x (reaped CPU {cpu / notebooks:.2f} s per notebook)"
        )
    print(f"identical gradebooks and autograded notebooks in all {rounds} rounds")


def load() -> str:
    """The 1-minute load average, to show how busy the shared machine was."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12, help="synthetic class size (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of both commands (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="parallel workers (default: cores)")
    parser.add_argument("--assignments", nargs="*", help="assignments (default: every one in source/)")
    parser.add_argument(
        "--class-size", type=int, default=200, help="whole class graded once at the end, 0: none (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"preparing {args.students} students in {workdir} ...", flush=True)
    template, assignments, kinds = prepare(workdir, args.assignments, args.students)
    notebooks = sum(len(list((template / "source" / a).glob("*.ipynb"))) for a in assignments) * args.students
    mix = ", ".join(f"{sum(k == kind for k in kinds.values())} {kind}" for kind in KINDS)
    print(
        f"class: {args.students} students ({mix}) x {len(assignments)} assignments = {notebooks} notebooks;"
        f" {args.workers} workers on {os.cpu_count()} cores",
        flush=True,
    )
    names = list(RUNNERS)
    results: dict[str, list[Timing]] = {name: [] for name in names}
    for round_ in range(1, args.rounds + 1):
        copies = {name: workdir / f"{name}-{round_}" for name in names}
        for copy in copies.values():
            shutil.copytree(template, copy)
        order = names[round_ - 1 :] + names[: round_ - 1]  # each goes first in turn
        loads = []
        for name in order:
            loads.append(load())
            results[name].append(RUNNERS[name](copies[name], assignments, args.workers))
        try:
            cells = [compare(copies["serial"], copies[name]) for name in names[1:]]
        except SystemExit:
            print(f"the graded copies are kept in {workdir}", file=sys.stderr)
            raise
        serial_entries = gradebook_entries(gradebook_url(copies["serial"]))
        figures = ", ".join(
            f"{name} {results[name][-1].wall:.1f} s ({notebooks / results[name][-1].wall:.2f} nb/s)" for name in names
        )
        ratios = ", ".join(f"{name} {results['serial'][-1].wall / results[name][-1].wall:.2f}x" for name in names[1:])
        print(
            f"round {round_} ({' then '.join(order)}, load {'/'.join(loads)}): {figures}; speed-up {ratios}; "
            f"gradebooks agree on {min(cells)} grade cells",
            flush=True,
        )
        for copy in copies.values():
            shutil.rmtree(copy)
    report(results, notebooks, args.workers)
    report_notebooks(template, assignments, results["parallel"], args.workers)
    if args.class_size:
        grade_whole_class(workdir, assignments, args.class_size, args.workers, serial_entries)
    shutil.rmtree(workdir)  # kept when a round fails, to look at both copies
    return 0


if __name__ == "__main__":
    sys.exit(main())
