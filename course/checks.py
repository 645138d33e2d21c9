"""Hidden checks whose verdict is reached outside the student's kernel.

Anything a grade cell computes in the kernel, student code can reach: it can rebind
``np.testing.assert_allclose``, patch ``numpy``, install an IPython hook that edits the cell, or
read the expected value from the caller's frame. So hidden tests do not assert anything in the
kernel. They call the student's functions on inputs the student never saw and ``record`` what
came back; the grader compares those records, outside the kernel, with the records the
reference solution produced on the same inputs (``course.grading.autograding``). Forging a record means
knowing the reference's answer on an unseen input, which is solving the exercise.

A record is plain JSON: ``{"name", "value", "rtol", "atol"}`` (and ``"earns": false`` for a
property check). Values are numbers, booleans,
strings, ``None``, lists and numpy arrays (encoded with their shape). The tolerances used are
those of the reference's record, never the student's.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

MIME_TYPE = "application/vnd.backprop-course.check+json"
MISTAKE_MIME = "application/vnd.backprop-course.mistake+json"
# Set in the kernel only while the grader records the reference solution's answers.
REFERENCE_RUN = "BACKPROP_REFERENCE_RUN"

# Where records go when no kernel is displaying them (in-process test runners set this).
_sink: list[dict] | None = None


def encode(value: Any) -> Any:
    """JSON-ready form of a checked value; raises TypeError for anything that cannot be compared."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return encode(value.item())  # numpy scalars are numbers, like the floats they stand for
    if isinstance(value, np.ndarray):
        array = value
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot record an array of dtype {array.dtype}")
        return {"array": array.astype(float).ravel().tolist(), "shape": list(array.shape)}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    raise TypeError(f"cannot record a value of type {type(value).__name__}: record numbers or arrays")


def record(name: str, value: Any, *, rtol: float = 1e-7, atol: float = 1e-12, earns: bool = True) -> None:
    """Record ``value`` under ``name`` for the grader to compare with the reference solution.

    A value that cannot even be encoded (an object pretending to be a number, say) is recorded
    as an error string, so the check fails instead of the whole cell.

    ``earns=False`` marks a check of a property that code which computes nothing also has (its
    input left unchanged, a result's type, reproducibility): a grade cell earns points only when
    one of its other checks, an answer on an unseen input, passes; failing it still costs a share
    (``course.grading.scoring``). The reference's mark counts, never the student's.
    """
    try:
        encoded = encode(value)
    except TypeError as error:
        encoded = f"<unrecordable: {error}>"
    payload = {"name": str(name), "value": encoded, "rtol": float(rtol), "atol": float(atol)}
    if not earns:
        payload["earns"] = False
    if _sink is not None:
        _sink.append(payload)
        return
    _show(MIME_TYPE, payload)


def _show(mime: str, payload: dict) -> None:
    """Display ``payload`` as a cell output of type ``mime``, which the grader reads back."""
    from IPython.display import display

    display({mime: payload}, raw=True)


def making_reference() -> bool:
    """Whether this run records the reference solution's answers (never true when a student is graded).

    Hidden tests declare their typical mistakes under ``if making_reference():``, so the wrong
    variants are computed once, from the reference solution, and never in a student's kernel.
    """
    return os.environ.get(REFERENCE_RUN) == "1"


def mistake(check: str, kind: str, value: Any, *, pl: str, en: str) -> None:
    """Declare a typical mistake of hidden check ``check``: the ``value`` it gives on the check's input.

    Computed from the reference solution while its records are made (``making_reference``) and
    kept with them, outside the sandbox; a student's answer equal to ``value`` (within the check's
    tolerances) is told ``pl`` / ``en``, which must not quote a value. ``kind`` names the mistake in
    the class report. Nothing is displayed when no kernel is (in-process test runs).
    """
    if _sink is not None:
        return
    payload = {"check": str(check), "kind": str(kind), "pl": str(pl), "en": str(en), "value": encode(value)}
    _show(MISTAKE_MIME, payload)


def mistakes_in_outputs(outputs: list[dict]) -> list[dict]:
    """The mistakes a cell declared, in order, read from its nbformat outputs."""
    return _shown(outputs, MISTAKE_MIME)


@contextmanager
def collecting() -> Iterator[list[dict]]:
    """Collect records in a list instead of displaying them (for running cells without a kernel)."""
    global _sink
    previous, _sink = _sink, []
    try:
        yield _sink
    finally:
        _sink = previous


def records_in_outputs(outputs: list[dict]) -> list[dict]:
    """The records a cell displayed, in order, read from its nbformat outputs."""
    return _shown(outputs, MIME_TYPE)


def _shown(outputs: list[dict], mime: str) -> list[dict]:
    """The payloads of type ``mime`` a cell displayed (``_show``), in order."""
    return [
        output["data"][mime]
        for output in outputs
        if output.get("output_type") == "display_data" and mime in output.get("data", {})
    ]


def _differences(expected: Any, actual: Any, rtol: float, atol: float, where: str) -> Iterator[str]:
    if isinstance(expected, dict) and "array" in expected:
        if isinstance(actual, list):  # a nested list of numbers is as good as an array of them
            try:
                as_array = np.array(actual, dtype=float)
                actual = {"array": as_array.ravel().tolist(), "shape": list(as_array.shape)}
            except (TypeError, ValueError):
                pass
        shape = tuple(expected["shape"])
        if not (isinstance(actual, dict) and "array" in actual):
            yield _said(
                where,
                f"oczekiwano tablicy o kształcie {shape}, jest {_kind(actual, 'pl')}",
                f"expected an array of shape {shape}, got {_kind(actual, 'en')}",
            )
        elif actual["shape"] != expected["shape"]:
            got_shape = tuple(actual["shape"])
            yield _said(where, f"kształt {got_shape}, oczekiwano {shape}", f"shape {got_shape}, expected {shape}")
        else:
            got = np.array(actual["array"], dtype=float)
            yield from _numbers_differ(np.array(expected["array"]), got, rtol, atol, where)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            yield _said(
                where,
                f"oczekiwano ciągu o długości {len(expected)}, jest {_kind(actual, 'pl')}",
                f"expected a sequence of {len(expected)} items, got {_kind(actual, 'en')}",
            )
        else:
            for index, (e, a) in enumerate(zip(expected, actual)):
                yield from _differences(e, a, rtol, atol, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        if isinstance(actual, bool) or not isinstance(actual, float):
            yield _said(
                where, f"oczekiwano liczby, jest {_kind(actual, 'pl')}", f"expected a number, got {_kind(actual, 'en')}"
            )
        else:
            yield from _numbers_differ(np.array([expected]), np.array([actual]), rtol, atol, where)
    elif actual != expected or type(actual) is not type(expected):
        yield _said(where, f"oczekiwano {expected!r}, jest {actual!r}", f"expected {expected!r}, got {actual!r}")


def _said(where: str, pl: str, en: str) -> str:
    """One problem with a check's value, in Polish and English: feedback reaches students of either."""
    return f"{where}: {pl} / {en}"


def _numbers_differ(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float, where: str) -> Iterator[str]:
    """Name how many values differ and by how much, relative to the larger of the two, so the
    message never reveals a reference value (feedback reaches the student)."""
    close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.abs(actual - expected) / np.maximum(np.abs(actual), np.abs(expected))
    wrong = relative[~close]
    worst = "nan" if np.isnan(wrong).any() else f"{float(wrong.max()):.2g}"
    wrong_count = int((~close).sum())
    pl = "wartość jest inna" if close.size == 1 else f"inne wartości: {wrong_count} z {close.size}"
    en = "the value differs" if close.size == 1 else f"{wrong_count} of {close.size} values differ"
    yield _said(where, f"{pl} (największa różnica względna {worst})", f"{en} (largest relative difference {worst})")


def _kind(value: Any, language: str) -> str:
    """What a recorded value is, in ``language`` ('pl' or 'en'), without its numbers."""
    if isinstance(value, dict) and "array" in value:
        shape = tuple(value["shape"])
        return f"tablica o kształcie {shape}" if language == "pl" else f"an array of shape {shape}"
    if isinstance(value, list):
        return f"ciąg o długości {len(value)}" if language == "pl" else f"a sequence of {len(value)} items"
    return repr(value)


@dataclass(frozen=True)
class Verdict:
    """One hidden check's outcome: its name, and why it failed (nothing when it passed)."""

    name: str
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems


def matches(expected: Any, actual: Any, rtol: float, atol: float) -> bool:
    """Whether recorded value ``actual`` equals ``expected`` within the tolerances."""
    try:
        return not any(_differences(expected, actual, rtol, atol, ""))
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


def verdicts(expected: list[dict], actual: list[dict]) -> list[Verdict]:
    """Each of the reference's ``expected`` records judged against the ``actual`` ones, in order.

    Records are matched in order and by name, so a check that did not run, ran twice or was
    renamed fails, not skipped. Records beyond the reference's are one more failed verdict.
    """
    results = []
    for index, reference in enumerate(expected):
        name = reference["name"]
        got = actual[index] if index < len(actual) else None
        if got is None:
            problems = [f"ukryty test {name!r} nie został uruchomiony / hidden check {name!r} did not run"]
        elif not isinstance(got, dict) or got.get("name") != name:
            problems = [
                f"ukryty test {name!r} nie został uruchomiony (w jego miejscu zapisano coś innego) / "
                f"hidden check {name!r} did not run (something else was recorded in its place)"
            ]
        else:
            try:
                rtol, atol = reference["rtol"], reference["atol"]
                problems = list(_differences(reference["value"], got.get("value"), rtol, atol, name))
            except (TypeError, ValueError, KeyError, AttributeError):
                problems = [
                    f"ukryty test {name!r} zapisał wadliwy rekord / hidden check {name!r} produced a malformed record"
                ]
        results.append(Verdict(name, tuple(problems)))
    if len(actual) > len(expected):
        extra = len(actual) - len(expected)
        results.append(Verdict("extra records", (f"nadmiarowe rekordy: {extra} / {extra} unexpected extra records",)))
    return results


def compare(expected: list[dict], actual: list[dict]) -> list[str]:
    """Why ``actual`` records do not match the reference's ``expected`` ones (empty: they match)."""
    return [problem for verdict in verdicts(expected, actual) for problem in verdict.problems]
