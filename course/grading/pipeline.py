"""The instructor's main job: release every assignment, grade the example submissions, report.

Run as ``python -m course.grading.pipeline`` from the course's virtual environment (``make release``).
For each assignment in ``source/`` it

1. regenerates ``release/<assignment>`` with ``nbgrader generate_assignment`` (which also
   records the assignment's cells and checksums in the gradebook);
2. stages two example submissions under ``submitted/``: ``reference`` (the source notebooks,
   solutions included) and ``blank`` (the release, untouched);

then autogrades every submission of those assignments (the examples and any real ones in
``submitted/``) into ``autograded/`` with ``course.grading.parallel`` -- nbgrader's own autograder,
one worker per core, a progress bar -- and finally prints the per-student, per-notebook scores
read back from the gradebook, the class's mistakes exercise by exercise (``course.grading.mistakes``,
also written to ``reports/``), and any submission nbgrader failed to grade. The examples
make the contract visible at a glance: reference must have full marks, blank zero.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from course.grading import mistakes, parallel, submissions
from course.grading.reporting import Report, failure_lines, failure_logs
from course.grading.scores import format_table, read_scores
from course.grading.tasks import GradingError

COURSE_ROOT = Path(__file__).resolve().parents[2]

# Example students and the folder their submission is copied from.
EXAMPLE_SUBMISSIONS = {"reference": "source", "blank": "release"}


class PipelineError(RuntimeError):
    """An nbgrader step failed; the message carries nbgrader's own output."""


def list_assignments(root: Path) -> list[str]:
    """Assignments are the folders of ``source/`` that hold at least one notebook."""
    source = root / "source"
    if not source.is_dir():
        raise PipelineError(f"{root} has no source/ folder: is it a course directory?")
    return sorted(d.name for d in source.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))


def run_nbgrader(root: Path, *args: str) -> None:
    """Run one nbgrader command in the course root; raise with its output if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args]
    # nbgrader runs `alembic` (and kernels) by name: put this environment's scripts first.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise PipelineError(
            f"`nbgrader {' '.join(args)}` failed with exit code {result.returncode}:\n{result.stdout}{result.stderr}"
        )


def generate_release(root: Path, assignment: str) -> None:
    """Regenerate ``release/<assignment>`` from ``source/<assignment>`` (``*``: every assignment).

    nbgrader takes the assignment as a glob, so ``*`` releases the whole course in one process:
    the start-up and the gradebook's schema check, most of a release's time, are paid once.
    """
    run_nbgrader(root, "generate_assignment", assignment, "--force", "--create")


def stage_example_submissions(root: Path, assignment: str) -> None:
    """Copy the reference and blank examples to ``submitted/<student>/<assignment>``."""
    for student, origin in EXAMPLE_SUBMISSIONS.items():
        target = root / "submitted" / student / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(
            root / origin / assignment,
            target,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )


def autograde(root: Path, assignments: list[str]) -> Report:
    """Autograde every submission of ``assignments`` into ``autograded/``, all cores at once.

    Same grades and gradebook entries as ``nbgrader autograde <assignment> --force --create``
    for each assignment in turn (see ``course.grading.parallel``). A submission nbgrader cannot
    grade does not stop the others: it is in the returned report's failures.
    """
    try:
        return parallel.grade(root, assignments)
    except GradingError as error:
        raise PipelineError(f"autograde failed: {error}") from error


def run(root: Path, assignments: list[str] | None = None) -> str:
    """Release, stage and grade ``assignments`` (all by default); return the score table, then
    one line per problem found in a submission and per submission nbgrader could not grade."""
    known = list_assignments(root)
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise PipelineError(f"no such assignment in source/: {', '.join(unknown)} (known: {', '.join(known)})")
    print(f"[{', '.join(chosen)}] generate_assignment", flush=True)
    for pattern in ["*"] if sorted(chosen) == known else chosen:
        generate_release(root, pattern)
    for assignment in chosen:
        stage_example_submissions(root, assignment)
    findings = [f for assignment in chosen for f in submissions.inspect_all(root, assignment)]
    print(f"[{', '.join(chosen)}] autograde", flush=True)
    report = autograde(root, chosen)
    if report.failures:
        print(failure_logs(report), file=sys.stderr)
    return "\n".join(
        [
            format_table(read_scores(root, chosen)),
            "",
            mistakes.report(root, chosen),
            *[f"{f.student}/{f.assignment}: {f.message}" for f in findings],
            *failure_lines(report),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to process (default: all in source/)")
    parser.add_argument("--root", type=Path, default=COURSE_ROOT, help="course directory (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        print(run(args.root.resolve(), args.assignments))
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
