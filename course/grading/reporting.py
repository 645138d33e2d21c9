"""What a grading run did, told to the instructor: a summary table, the failures and how to retry."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from course.grading.scores import NotebookScore
from course.grading.tables import render
from course.grading.tasks import Task

if TYPE_CHECKING:  # the worker module imports nbgrader's apps; reports need only its Outcome's fields
    from course.grading.worker import Outcome


@dataclass
class Report:
    """Outcomes in completion order, wall time, workers, and what went wrong on the way."""

    outcomes: "list[Outcome]" = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    interrupted: bool = False
    kernels: set[str] = field(default_factory=set)  # "warm", or "cold (why)", per worker
    worker_deaths: int = 0  # pools broken by a worker that died
    regraded: list[Task] = field(default_factory=list)  # submissions handed out again after one did

    @property
    def failures(self) -> "list[Outcome]":
        return [o for o in self.outcomes if not o.ok]

    @property
    def notebooks(self) -> int:
        return sum(o.notebooks for o in self.outcomes)


def summary_rows(report: Report, scores: list[NotebookScore]) -> list[tuple[str, ...]]:
    """Per assignment: submissions graded and failed, notebooks, mean score, mean time per student."""
    rows = []
    graded = {(o.task.student, o.task.assignment) for o in report.outcomes}
    for assignment in sorted({o.task.assignment for o in report.outcomes}):
        mine = [o for o in report.outcomes if o.task.assignment == assignment]
        totals: dict[str, tuple[float, float]] = {}
        for s in scores:
            if s.assignment == assignment and (s.student, assignment) in graded:
                score, maximum = totals.get(s.student, (0.0, 0.0))
                totals[s.student] = (score + s.score, maximum + s.max_score)
        mean = sum(t[0] for t in totals.values()) / len(totals) if totals else 0.0
        maximum = max((t[1] for t in totals.values()), default=0.0)
        rows.append(
            (
                assignment,
                str(len(mine)),
                str(sum(o.ok for o in mine)),
                str(sum(not o.ok for o in mine)),
                str(sum(o.notebooks for o in mine)),
                f"{mean:.1f} / {maximum:g}",
                f"{sum(o.seconds for o in mine) / len(mine):.1f} s",
            )
        )
    return rows


def format_summary(report: Report, scores: list[NotebookScore]) -> str:
    """The end-of-run table, the throughput line, and every failure with nbgrader's reason."""
    header = ("assignment", "submissions", "graded", "failed", "notebooks", "mean score", "time/student")
    lines = [render(header, summary_rows(report, scores))]
    rate = report.notebooks / report.seconds if report.seconds else 0.0
    lines.append(
        f"{len(report.outcomes)} submissions, {report.notebooks} notebooks in {report.seconds:.1f} s "
        f"with {report.workers} workers ({rate:.2f} notebooks/s), {', '.join(sorted(report.kernels))} kernels"
    )
    if report.worker_deaths:
        again = ", ".join(sorted({f"{t.student}/{t.assignment}" for t in report.regraded})) or "none"
        lines.append(f"a grading worker died {report.worker_deaths} time(s); graded again in a fresh one: {again}")
    if report.interrupted:
        lines.append("INTERRUPTED: the submissions above are graded and saved; run again to grade the rest")
    return "\n".join(lines + failure_lines(report))


def failure_lines(report: Report) -> list[str]:
    """One line per submission nbgrader failed to grade (who, which assignment, nbgrader's reason), and how to retry."""
    failures = sorted(report.failures, key=lambda o: o.task)
    lines = [f"FAILED {o.task.student}/{o.task.assignment}: {o.error}" for o in failures]
    for assignment in sorted({o.task.assignment for o in failures}):
        students = " ".join(f"--student {o.task.student}" for o in failures if o.task.assignment == assignment)
        lines.append(f"  to grade them again: python -m course.grading.parallel {assignment} {students}")
    return lines


def failure_logs(report: Report, tail: int = 25) -> str:
    """The last lines of nbgrader's log for every failed submission (the traceback is there)."""
    parts = []
    for outcome in sorted(report.failures, key=lambda o: o.task):
        lines = outcome.log.strip().splitlines()[-tail:]
        parts.append(f"--- {outcome.task.student}/{outcome.task.assignment} ---\n" + "\n".join(lines))
    return "\n".join(parts)
