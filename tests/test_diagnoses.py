"""Typical mistakes named from a wrong value and the reference's (course.grading.diagnoses)."""

import numpy as np
import pytest

from course.checks import encode
from course.grading.diagnoses import diagnose

RNG = np.random.default_rng(7)
REFERENCE = RNG.normal(size=(4, 3))


def kind(expected, actual) -> str | None:
    found = diagnose(encode(expected), encode(actual))
    return found.kind if found else None


@pytest.mark.parametrize(
    ("actual", "expected_kind"),
    [
        (REFERENCE.T, "transposed"),
        (REFERENCE.reshape(3, 4), "wrong shape"),
        (REFERENCE.ravel(), "wrong shape"),
        (-REFERENCE, "wrong sign"),
        (64 * REFERENCE, "too large by a factor"),
        (REFERENCE / 2, "too small by a factor"),
        (-3 * REFERENCE, "too large by a factor"),
        (0.37 * REFERENCE, "off by a constant factor"),
        (REFERENCE + RNG.normal(size=REFERENCE.shape), None),
        (REFERENCE[:, :2], None),
        (np.full(REFERENCE.shape, np.nan), None),
    ],
    ids=["transposed", "reshaped", "flattened", "sign", "times64", "half", "minus3", "factor", "noise", "cut", "nan"],
)
def test_each_mistake_is_named(actual, expected_kind):
    assert kind(REFERENCE, actual) == expected_kind


def test_the_factor_is_said_in_both_languages_and_no_value_is():
    found = diagnose(encode(REFERENCE), encode(64 * REFERENCE))
    assert "64 times too large" in found.en and "mean, not a sum" in found.en
    assert "64 razy za duże" in found.pl and "średnia, nie suma" in found.pl
    numbers = {f"{x:.3g}" for x in np.concatenate([REFERENCE.ravel(), 64 * REFERENCE.ravel()])} - {"64"}
    assert not [n for n in numbers if n in found.en or n in found.pl]


def test_a_single_number_is_only_checked_for_its_sign():
    assert kind(2.5, -2.5) == "wrong sign"
    assert kind(2.5, 5.0) is None  # any wrong number is some multiple of the right one
    assert kind([1.0, 2.0], [2.0, 4.0]) == "too large by a factor"  # a list of numbers is an array


def test_values_that_are_not_numbers_get_no_diagnosis():
    assert kind("relu", "sigmoid") is None
    assert diagnose(encode(REFERENCE), "<unrecordable: cannot record a value of type Fake>") is None
    assert kind(np.zeros(3), np.ones(3)) is None  # no factor turns zeros into ones


def test_a_sequence_of_arrays_names_the_first_item_with_a_mistake():
    grads = [(REFERENCE, REFERENCE[0]), (REFERENCE.T, REFERENCE[1])]
    wrong = [(REFERENCE, REFERENCE[0]), (1.4 * REFERENCE.T, REFERENCE[1])]
    found = diagnose(encode(grads), encode(wrong))
    assert found.kind == "off by a constant factor" and found.en.startswith("item [1][0]: ")
    assert "(1.4)" in found.en and found.pl.startswith("element [1][0]: ")
