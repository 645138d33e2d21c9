"""Hidden-check records and their comparison with the reference's."""

import numpy as np
import pytest

from course.checks import collecting, compare, encode, record, records_in_outputs


def recorded(*calls):
    with collecting() as records:
        for name, value, kwargs in calls:
            record(name, value, **kwargs)
    return records


def test_encode_keeps_structure_and_shape():
    assert encode([np.arange(6).reshape(2, 3), (1, 2.5), True, None, "x"]) == [
        {"array": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "shape": [2, 3]},
        [1.0, 2.5],
        True,
        None,
        "x",
    ]
    assert encode(np.float64(0.5)) == encode(np.array(0.5)) == 0.5
    assert encode(np.bool_(True)) is True


def test_a_value_that_cannot_be_recorded_fails_the_check_not_the_cell():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    reference = recorded(("v", 1.0, {}))
    student = recorded(("v", AlwaysEqual(), {}))
    assert student[0]["value"].startswith("<unrecordable")
    shown = repr(student[0]["value"])
    assert compare(reference, student) == [f"v: oczekiwano liczby, jest {shown} / expected a number, got {shown}"]


def test_equal_records_match_within_the_reference_tolerance():
    reference = recorded(("dW", np.array([[1.0, 2.0]]), {"rtol": 1e-6}))
    student = recorded(("dW", np.array([[1.0 + 1e-7, 2.0]]), {"rtol": 1.0}))
    assert compare(reference, student) == []
    student = recorded(("dW", np.array([[1.1, 2.0]]), {"rtol": 1.0}))  # the student's rtol is ignored
    assert compare(reference, student) == [
        "dW: inne wartości: 1 z 2 (największa różnica względna 0.091) / "
        "1 of 2 values differ (largest relative difference 0.091)"
    ]


@pytest.mark.parametrize(
    ("student", "problem"),
    [
        ([], "ukryty test 'a' nie został uruchomiony / hidden check 'a' did not run"),
        (
            [("b", 1.0, {})],
            "ukryty test 'a' nie został uruchomiony (w jego miejscu zapisano coś innego) / "
            "hidden check 'a' did not run (something else was recorded in its place)",
        ),
        ([("a", np.ones(3), {})], "a: kształt (3,), oczekiwano (2,) / shape (3,), expected (2,)"),
        (
            [("a", [1.0, "x"], {})],
            "a: oczekiwano tablicy o kształcie (2,), jest ciąg o długości 2 / "
            "expected an array of shape (2,), got a sequence of 2 items",
        ),
        ([("a", np.ones((2, 1)), {})], "a: kształt (2, 1), oczekiwano (2,) / shape (2, 1), expected (2,)"),
        ([("a", np.ones(2), {}), ("extra", 1.0, {})], "nadmiarowe rekordy: 1 / 1 unexpected extra records"),
    ],
)
def test_every_mismatch_is_named(student, problem):
    assert problem in compare(recorded(("a", np.ones(2), {})), recorded(*student))


def test_lists_and_numpy_scalars_are_as_good_as_arrays_and_floats():
    reference = recorded(("dW", np.array([[1.0, 2.0]]), {}), ("loss", 0.25, {}))
    assert compare(reference, recorded(("dW", [[1.0, 2.0]], {}), ("loss", np.float64(0.25), {}))) == []
    flat = recorded(("dW", [1.0, 2.0], {}), ("loss", 0.25, {}))
    assert compare(reference, flat) == ["dW: kształt (2,), oczekiwano (1, 2) / shape (2,), expected (1, 2)"]


def test_nan_is_reported_as_such():
    reference = recorded(("p", np.array([0.5, 0.5]), {}))
    assert compare(reference, recorded(("p", np.array([np.nan, 0.5]), {}))) == [
        "p: inne wartości: 1 z 2 (największa różnica względna nan) / "
        "1 of 2 values differ (largest relative difference nan)"
    ]


def test_booleans_and_strings_compare_exactly():
    reference = recorded(("same", True, {}), ("label", "relu", {}))
    problems = compare(reference, recorded(("same", 1.0, {}), ("label", "relu", {})))
    assert problems == ["same: oczekiwano True, jest 1.0 / expected True, got 1.0"]


def test_forged_malformed_records_fail_cleanly():
    reference = recorded(("a", np.ones(2), {}))
    forged = [{"name": "a", "value": {"array": ["x", "y"], "shape": [2]}}, 42]
    assert compare(reference, forged)[0] == (
        "ukryty test 'a' zapisał wadliwy rekord / hidden check 'a' produced a malformed record"
    )


def test_records_are_read_back_from_kernel_outputs():
    payload = recorded(("a", 1.0, {}))[0]
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "hello"},
        {"output_type": "display_data", "data": {"application/vnd.backprop-course.check+json": payload}},
        {"output_type": "display_data", "data": {"text/plain": "1.0"}},
    ]
    assert records_in_outputs(outputs) == [payload]
