"""Which typical mistake a wrong hidden-check value shows, said in Polish and English.

A failed hidden check knows two values outside the kernel: the reference solution's and the
student's, on the same unseen input. Comparing the student's value with simple wrong variants of
the reference names the mistake instead of "3 of 12 values differ": the array transposed, the
right values in another shape, the sign flipped, every value off by the same factor (a sum where
a mean over N was meant gives exactly N). The messages name the kind of mistake and the factor,
never a value, so feedback gives no reference answer away.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

RTOL = 1e-6  # a variant matches when it explains the student's value to this precision


@dataclass(frozen=True)
class Diagnosis:
    """A named mistake: a stable ``kind`` (for the class report) and what to tell the student."""

    kind: str
    pl: str
    en: str


def as_array(value: Any) -> np.ndarray | None:
    """A recorded value as a float array (numbers, arrays, nested lists of numbers), else None."""
    if isinstance(value, dict) and "array" in value:
        return np.array(value["array"], dtype=float).reshape(value["shape"])
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array if array.dtype == float else None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=1e-12))


def _factor(expected: np.ndarray, actual: np.ndarray) -> float | None:
    """The c with actual == c * expected (least squares, then checked), if there is one."""
    scale = float(np.dot(expected.ravel(), expected.ravel()))
    if scale == 0 or not np.isfinite(actual).all():
        return None
    c = float(np.dot(expected.ravel(), actual.ravel())) / scale
    return c if c != 0 and _close(actual, c * expected) else None


def _whole(x: float) -> int | None:
    """``x`` as a whole number of at least 2, if it is one (to the diagnosis' precision)."""
    rounded = round(x)
    return rounded if rounded >= 2 and abs(x - rounded) <= RTOL * rounded else None


def _scaled(c: float) -> Diagnosis | None:
    for k, big in ((_whole(abs(c)), True), (_whole(1 / abs(c)), False)):
        if k is None:
            continue
        sign_pl, sign_en = (" i ze złym znakiem", " and of the wrong sign") if c < 0 else ("", "")
        if big:
            return Diagnosis(
                "too large by a factor",
                f"wartości są {k} razy za duże{sign_pl}: jeśli {k} to liczba przykładów, podziel przez nią"
                " (średnia, nie suma)",
                f"the values are {k} times too large{sign_en}: if {k} is the number of examples, divide by it"
                " (a mean, not a sum)",
            )
        return Diagnosis(
            "too small by a factor",
            f"wartości są {k} razy za małe{sign_pl}: czy nie dzielisz dwa razy (albo o {k} za dużo)?",
            f"the values are {k} times too small{sign_en}: are you dividing twice (or by {k} too much)?",
        )
    return Diagnosis(
        "off by a constant factor",
        f"wszystkie wartości różnią się o ten sam czynnik ({abs(c):.3g}{', ze złym znakiem' if c < 0 else ''}):"
        " sprawdź stałe (np. 2 z pochodnej kwadratu, 1/N, współczynnik λ)",
        f"every value is off by the same factor ({abs(c):.3g}{', with the wrong sign' if c < 0 else ''}):"
        " check the constants (the 2 of a square's derivative, 1/N, λ)",
    )


def diagnose(expected: Any, actual: Any) -> Diagnosis | None:
    """The first typical mistake that explains ``actual`` (recorded values), or None.

    Tried in order: the right values in another shape (transposed first), the wrong sign, a
    constant factor. A single number is only checked for its sign: any wrong number is some
    multiple of the right one, so a factor would explain nothing. In a sequence of arrays of
    different shapes (``[(dW, db), ...]``) the first item with a mistake is named, with its place.
    """
    found, place = _find(expected, actual, "")
    if found is None or not place:
        return found
    return Diagnosis(found.kind, f"element {place}: {found.pl}", f"item {place}: {found.en}")


def _find(expected: Any, actual: Any, place: str) -> tuple[Diagnosis | None, str]:
    """The mistake in ``actual`` and where it is (``[1][0]``: item 0 of item 1), searching nested sequences."""
    e, a = as_array(expected), as_array(actual)
    if e is None and isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (item, got) in enumerate(zip(expected, actual, strict=True)):
            found, where = _find(item, got, f"{place}[{index}]")
            if found is not None:
                return found, where
        return None, place
    if e is None or a is None or not np.isfinite(e).all():
        return None, place
    return _in_array(e, a), place


def _in_array(e: np.ndarray, a: np.ndarray) -> Diagnosis | None:
    """The mistake that turns the reference array ``e`` into the student's ``a``, if a typical one does."""
    if a.shape != e.shape:
        if e.ndim == 2 and _close(a, e.T):
            return Diagnosis(
                "transposed",
                f"wynik jest transponowany: kształt {a.shape} zamiast {e.shape}",
                f"the result is transposed: shape {a.shape} instead of {e.shape}",
            )
        if a.size == e.size and _close(a.reshape(e.shape), e):
            return Diagnosis(
                "wrong shape",
                f"dobre wartości w złym kształcie: {a.shape} zamiast {e.shape}",
                f"the right values in the wrong shape: {a.shape} instead of {e.shape}",
            )
        return None
    if _close(a, -e):
        return Diagnosis(
            "wrong sign", "zły znak: każda wartość ma przeciwny znak", "wrong sign: every value is negated"
        )
    if e.size < 2:
        return None
    c = _factor(e, a)
    return _scaled(c) if c is not None and not np.isclose(c, 1, rtol=RTOL) else None
