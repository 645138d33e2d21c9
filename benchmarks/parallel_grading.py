"""Benchmark: plain serial ``nbgrader autograde`` against ``python -m course.parallel_grading``.

Run from the repository root: ``.venv/bin/python benchmarks/parallel_grading.py [--students N]``.

In a temporary copy of the course it releases every assignment, builds a synthetic class of N
students -- a third submit the reference (source notebooks), a third the blank release, a third
a partly solved notebook (a seeded random half of the solution cells from the source, the rest
from the release) -- and then, for each round, grades two fresh copies of exactly the same
submissions: one with ``nbgrader autograde <assignment> --force --create`` for each assignment
in turn (what ``course.pipeline`` used to run), one with the parallel command. Both are timed as
whole commands, start-up included. The order alternates between rounds because the machine is
shared: a neighbour's load hits whichever runs at that moment.

After every round the two gradebooks must agree entry by entry (every student, notebook, grade
cell: auto score, max score, needs-manual-grade, comments, timestamps) and so must the
autograded notebooks' outlines (each cell's outputs and error names); otherwise the benchmark
fails. It prints the throughput of each (notebooks/s) and the ratio of the median times.
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make the course package importable

from course import pipeline  # noqa: E402
from course.parallel_grading import autograded_outline, default_workers, gradebook_entries  # noqa: E402
from course.scores import gradebook_url  # noqa: E402

KINDS = ("reference", "blank", "partial")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def copy_course(target: Path) -> Path:
    """A grading-ready copy of the course: sources, release and nbgrader config."""
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


def student_code(source: str) -> str:
    """A solution cell as a student would hand it in: the instructor's solution without its markers."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS)


def partial_notebook(source: Path, release: Path, rng: random.Random) -> nbformat.NotebookNode:
    """The released notebook with a random half of its solution cells solved (from the source)."""
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(source, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions and cell.metadata["nbgrader"].get("solution") and rng.random() < 0.5:
            cell.source = student_code(solutions[grade_id])
    return nb


def build_class(root: Path, assignments: list[str], students: int, seed: int = 7) -> dict[str, str]:
    """Submissions ``submitted/sNNN/<assignment>`` for ``students`` students; returns student -> kind."""
    kinds = {}
    for i in range(students):
        student, kind = f"s{i:03d}", KINDS[i % len(KINDS)]
        kinds[student] = kind
        rng = random.Random(f"{seed}-{student}")
        for assignment in assignments:
            target = root / "submitted" / student / assignment
            target.mkdir(parents=True)
            for source in sorted((root / "source" / assignment).glob("*.ipynb")):
                release = root / "release" / assignment / source.name
                if kind == "reference":
                    shutil.copy(source, target / source.name)
                elif kind == "blank":
                    shutil.copy(release, target / source.name)
                else:
                    nbformat.write(partial_notebook(source, release, rng), target / source.name)
    return kinds


def prepare(workdir: Path, assignments: list[str] | None, students: int) -> tuple[Path, list[str], dict[str, str]]:
    """The template every round copies: course released into its gradebook, class submitted."""
    template = copy_course(workdir / "template")
    chosen = assignments or pipeline.list_assignments(template)
    for assignment in chosen:
        pipeline.generate_release(template, assignment)
    kinds = build_class(template, chosen, students)
    return template, chosen, kinds


def venv_env() -> dict[str, str]:
    """This interpreter's scripts first on PATH, as course.pipeline runs nbgrader."""
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


@dataclass
class Timing:
    """One command's wall time and the CPU time it and every process under it used."""

    wall: float
    cpu: float


def timed(command: list[str], cwd: Path) -> Timing:
    """Run a command to completion, timing it. Fails loudly if the command fails.

    CPU time is that of all descendants (workers, kernels, sandboxes): each is reaped by its
    parent, so their times add up in this process's RUSAGE_CHILDREN.
    """
    before, started = children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=venv_env(), capture_output=True, text=True)
    timing = Timing(time.perf_counter() - started, children_cpu() - before)
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


def run_parallel(root: Path, assignments: list[str], workers: int) -> Timing:
    """The parallel command, as the instructor types it."""
    command = [sys.executable, "-m", "course.parallel_grading", *assignments,
               "--root", str(root), "--workers", str(workers), "--no-progress"]
    return timed(command, REPO)


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


def report(results: dict[str, list[Timing]], notebooks: int, workers: int) -> None:
    """Medians, throughput, ratio, and what the CPU time says about the best possible ratio here."""
    s = statistics.median(t.wall for t in results["serial"])
    p = statistics.median(t.wall for t in results["parallel"])
    s_cpu = statistics.median(t.cpu for t in results["serial"])
    p_cpu = statistics.median(t.cpu for t in results["parallel"])
    print(f"median serial nbgrader autograde: {s:.1f} s = {notebooks / s:.2f} notebooks/s "
          f"({s_cpu / notebooks:.2f} CPU-s per notebook)")
    print(f"median parallel ({workers} workers):     {p:.1f} s = {notebooks / p:.2f} notebooks/s "
          f"({p_cpu / notebooks:.2f} CPU-s per notebook)")
    rounds = len(results["serial"])
    print(f"speed-up (ratio of median times): {s / p:.2f}x; identical gradebooks in all {rounds} rounds")
    # Both commands are CPU-bound: on an otherwise idle machine serial takes about its CPU time
    # and parallel about its CPU time spread over the workers' cores.
    print(f"expected on an idle machine (serial CPU-s / (parallel CPU-s / {workers})): "
          f"{s_cpu / (p_cpu / workers):.2f}x")


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
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"preparing {args.students} students in {workdir} ...", flush=True)
    template, assignments, kinds = prepare(workdir, args.assignments, args.students)
    notebooks = sum(len(list((template / "source" / a).glob("*.ipynb"))) for a in assignments) * args.students
    mix = ", ".join(f"{sum(k == kind for k in kinds.values())} {kind}" for kind in KINDS)
    print(f"class: {args.students} students ({mix}) x {len(assignments)} assignments = {notebooks} notebooks;"
          f" {args.workers} workers on {os.cpu_count()} cores", flush=True)
    results: dict[str, list[Timing]] = {"serial": [], "parallel": []}
    for round_ in range(1, args.rounds + 1):
        serial, parallel = workdir / f"serial-{round_}", workdir / f"parallel-{round_}"
        shutil.copytree(template, serial)
        shutil.copytree(template, parallel)
        order = ["serial", "parallel"] if round_ % 2 else ["parallel", "serial"]
        loads = []
        for which in order:
            loads.append(load())
            if which == "serial":
                results[which].append(run_serial(serial, assignments))
            else:
                results[which].append(run_parallel(parallel, assignments, args.workers))
        try:
            cells = compare(serial, parallel)
        except SystemExit:
            print(f"both graded copies are kept in {workdir}", file=sys.stderr)
            raise
        s, p = results["serial"][-1], results["parallel"][-1]
        print(f"round {round_} ({' then '.join(order)}, load {'/'.join(loads)}): "
              f"serial {s.wall:.1f} s ({notebooks / s.wall:.2f} nb/s, {s.cpu:.0f} CPU-s), "
              f"parallel {p.wall:.1f} s ({notebooks / p.wall:.2f} nb/s, {p.cpu:.0f} CPU-s), "
              f"ratio {s.wall / p.wall:.2f}; gradebooks agree on {cells} grade cells", flush=True)
        shutil.rmtree(serial)
        shutil.rmtree(parallel)
    report(results, notebooks, args.workers)
    shutil.rmtree(workdir)  # kept when a round fails, to look at both copies
    return 0


if __name__ == "__main__":
    sys.exit(main())
