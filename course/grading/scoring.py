"""A grade cell's score from its hidden checks, and what its feedback says about each.

The rule (stated in every notebook's first cell): the visible tests are the entry ticket, since
a student can paste the numbers they check; a grade cell whose visible tests fail scores 0, as
the student saw before handing in. The cell's points are then shared equally among its hidden
checks, judged outside the kernel: a function right for one example but wrong for a batch earns
the share of the checks it passes. Checks of properties that code computing nothing also has
(an input left unchanged, reproducibility) are marked ``earns=False`` by the notebook's author:
they count in the share only once one answer on an unseen input is right, so pasted numbers earn 0.
nbgrader's own partial-credit mechanism carries the score (a numeric ``execute_result`` in the
cell), so the gradebook, the formgrader and ``nbgrader export`` all show it. A failed check names
the mistake: one the notebook's author declared next to the hidden test (``course.checks.mistake``,
computed from the reference), else a typical one ``course.grading.diagnoses`` recognises.
"""

from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

from course.checks import MIME_TYPE, MISTAKE_MIME, Verdict, matches, records_in_outputs, verdicts
from course.grading.diagnoses import Diagnosis, diagnose

# A machine-readable summary of the checks, kept in the autograded notebook for the class report.
VERDICT_MIME = "application/vnd.backprop-course.verdict+json"


@dataclass(frozen=True)
class Judged:
    """One hidden check judged: its verdict, whether it can earn points (the reference's
    ``earns``), and, when it failed, the mistake it shows (or None)."""

    verdict: Verdict
    diagnosis: Diagnosis | None = None
    earns: bool = True


def judge(expected: list[dict], outputs: list[dict]) -> list[Judged]:
    """Each hidden check of a grade cell, judged against the reference's ``expected`` records."""
    actual = records_in_outputs(outputs)
    judged = []
    for index, verdict in enumerate(verdicts(expected, actual)):
        diagnosis = None
        if not verdict.passed and index < min(len(expected), len(actual)):
            got = actual[index]
            if isinstance(got, dict) and got.get("name") == verdict.name:
                diagnosis = named(expected[index], got.get("value")) or diagnose(
                    expected[index]["value"], got.get("value")
                )
        earns = index >= len(expected) or expected[index].get("earns", True)
        judged.append(Judged(verdict, diagnosis, earns))
    return judged


def named(reference: dict, actual: object) -> Diagnosis | None:
    """The mistake the notebook's author declared for this check that gives ``actual``, if any."""
    for declared in reference.get("mistakes", []):
        if matches(declared["value"], actual, reference["rtol"], reference["atol"]):
            return Diagnosis(declared["kind"], declared["pl"], declared["en"])
    return None


def share(points: float, judged: list[Judged]) -> float:
    """The cell's score: its points times the share of hidden checks passed, to the hundredth, down;
    0 unless a check that earns (an answer, not a property such as "input unchanged") passed."""
    if not judged:
        return points
    if not any(j.verdict.passed and j.earns for j in judged):
        return 0.0
    passed = sum(j.verdict.passed for j in judged)
    return int(points * passed / len(judged) * 100 + 1e-9) / 100


def summary(judged: list[Judged], score: float, points: float) -> str:
    """What the student reads: checks passed, the score, each check with the mistake it shows."""
    passed = sum(j.verdict.passed for j in judged)
    lines = [
        f"Testy ukryte: {passed} z {len(judged)} zaliczone, {score:g} z {points:g} pkt. / "
        f"Hidden tests: {passed} of {len(judged)} passed, {score:g} of {points:g} points."
    ]
    for j in judged:
        lines.append(f"  {'✓' if j.verdict.passed else '✗'} {j.verdict.name}")
        lines += [f"      {problem}" for problem in j.verdict.problems]
        if j.diagnosis is not None:
            lines += [f"      PL: {j.diagnosis.pl}", f"      EN: {j.diagnosis.en}"]
    return "\n".join(lines) + "\n"


def verdict_output(judged: list[Judged], score: float, points: float) -> NotebookNode:
    checks = [
        {"name": j.verdict.name, "passed": j.verdict.passed, "mistake": j.diagnosis.kind if j.diagnosis else None}
        for j in judged
    ]
    data = {VERDICT_MIME: {"checks": checks, "score": score, "points": points}}
    return NotebookNode(output_type="display_data", data=data, metadata={})


def failed_in_kernel(outputs: list[dict]) -> bool:
    """Whether nbgrader already scores the cell 0: an error, or anything on stderr."""
    return any(o.get("output_type") == "error" or o.get("name") == "stderr" for o in outputs)


def judged_outputs(outputs: list[dict], expected: list[dict], points: float) -> list[NotebookNode] | None:
    """The grade cell's outputs after judging its hidden checks; None to leave the cell as it ran.

    A cell that failed in the kernel keeps the kernel's error (it scores 0 with its own message);
    a cell without hidden checks keeps what the kernel gave. Otherwise the kernel's printed output
    stays, its records and any value it displayed as a result go (a score is for the grader to
    write), and the verdict, the summary and, below full marks, the score are added; with no
    check passed, an error naming the failed checks, which nbgrader scores as 0.
    """
    if failed_in_kernel(outputs):
        return None
    judged = judge(expected, outputs)
    if not judged:
        return None
    score = share(points, judged)
    text = summary(judged, score, points)
    kept = [
        NotebookNode(o)
        for o in outputs
        if o.get("output_type") != "execute_result" and not {MIME_TYPE, MISTAKE_MIME} & set(o.get("data", {}))
    ]
    new = [*kept, verdict_output(judged, score, points), NotebookNode(output_type="stream", name="stdout", text=text)]
    if score == 0:
        problems = [p for j in judged for p in j.verdict.problems]
        more = f"; i jeszcze {len(problems) - 3} / and {len(problems) - 3} more" if len(problems) > 3 else ""
        return [*new, error_output("HiddenTestFailed", "; ".join(problems[:3]) + more)]
    if score < points:
        new.append(
            NotebookNode(
                output_type="execute_result", execution_count=None, data={"text/plain": f"{score:g}"}, metadata={}
            )
        )
    return new


def error_output(ename: str, message: str) -> NotebookNode:
    """An nbformat error output: nbgrader scores a grade cell holding one as zero."""
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])
