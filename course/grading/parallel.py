"""Autograde a whole class in parallel, with nbgrader's own grader and one gradebook writer.

Run as ``python -m course.grading.parallel [assignment ...] [--workers N] [--root DIR]``.

Why: ``nbgrader autograde`` grades one notebook after another (nbgrader issue #174), and a
notebook's time is almost all kernel start and cell execution, i.e. one busy core. This grades
students on N worker processes (default: one per core) and keeps everything else nbgrader's.
The stages are modules of their own:

* ``course.grading.tasks`` -- plan: check the course can be graded, list the submissions;
* ``course.grading.pool`` and ``course.grading.worker`` -- grade each submission with nbgrader's
  ``Autograde`` converter in a worker process, on a private copy of the gradebook;
* ``course.grading.merge`` -- the single writer: each submission's results go into the course
  gradebook in one transaction, as soon as they arrive;
* ``course.grading.reporting`` -- the summary, the failures and how to retry them.

An interrupted or killed run keeps every submission merged so far, a repeated run overwrites
instead of adding; a submission nbgrader fails to grade is left in the gradebook exactly as serial
nbgrader leaves it and reported with nbgrader's reason, and never stops the other students.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from course.grading import merge, mistakes, pool
from course.grading.preload import for_assignments
from course.grading.reporting import Report, failure_logs, format_summary
from course.grading.scores import read_scores
from course.grading.tasks import GradingError, default_workers, plan
from course.grading.worker import Settings

COURSE_ROOT = Path(__file__).resolve().parents[2]


def grade(
    root: Path,
    assignments: list[str] | None = None,
    workers: int | None = None,
    students: list[str] | None = None,
    progress: bool = True,
    warm: bool = True,
) -> Report:
    """Autograde every submission of ``assignments`` (default: all released) into the course gradebook."""
    root = root.resolve()
    db_url, tasks = plan(root, assignments, students)
    workers = max(1, min(workers or default_workers(), len(tasks)))
    report = Report(workers=workers)
    started = time.perf_counter()
    single = len({t.assignment for t in tasks}) == 1
    with tempfile.TemporaryDirectory(prefix="parallel-grading-") as scratch_dir:
        scratch = Path(scratch_dir)
        preload = for_assignments(root, [task.assignment for task in tasks])
        settings = Settings(root, scratch / "snapshot.db", scratch, parent=os.getpid(), warm=warm, preload=preload)
        merge.snapshot(db_url, settings.snapshot)
        bar = tqdm(
            total=len(tasks),
            unit="student" if single else "submission",
            desc="autograde",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        with bar, Gradebook(db_url) as gradebook:
            for outcome in pool.run(tasks, workers, settings, report):
                task = outcome.task
                if outcome.recorded is not None:
                    try:
                        merge.merge(gradebook, task.assignment, task.student, outcome.recorded)
                    except SQLAlchemyError as error:
                        raise GradingError(
                            f"could not write {task.student}/{task.assignment} to the gradebook "
                            f"({error}); the {len(report.outcomes)} submissions before it are saved: run again"
                        ) from error
                report.outcomes.append(outcome)
                if outcome.kernels:
                    report.kernels.add(outcome.kernels)
                bar.update(1)
                if not outcome.ok:
                    bar.set_postfix(failed=len(report.failures))
                    bar.write(f"FAILED {task.student}/{task.assignment}: {outcome.error}", file=sys.stderr)
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to grade (default: every one in the gradebook)")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: the number of cores)")
    parser.add_argument("--root", type=Path, default=COURSE_ROOT, help="course directory (default: %(default)s)")
    parser.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--cold-kernels",
        action="store_true",
        help="start every kernel in a fresh sandbox, as serial nbgrader does (slower)",
    )
    args = parser.parse_args(argv)
    try:
        report = grade(
            args.root,
            args.assignments or None,
            args.workers,
            args.students,
            not args.no_progress,
            warm=not args.cold_kernels,
        )
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aborted: workers stopped; submissions merged so far are kept, run again to finish", file=sys.stderr)
        return 130
    scores = read_scores(args.root.resolve(), sorted({o.task.assignment for o in report.outcomes}))
    if report.failures:
        print(failure_logs(report), file=sys.stderr)
    print(format_summary(report, scores))
    print(mistakes.report(args.root.resolve(), sorted({o.task.assignment for o in report.outcomes})))
    return 130 if report.interrupted else (1 if report.failures else 0)


if __name__ == "__main__":
    sys.exit(main())
