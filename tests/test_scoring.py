"""A grade cell's score from its hidden checks (course.grading.scoring), read back by nbgrader."""

import numpy as np
from nbformat.v4 import new_code_cell
from nbgrader.utils import determine_grade

from course.checks import MIME_TYPE, encode
from course.grading.scoring import VERDICT_MIME, judge, judged_outputs, share

EXPECTED = [
    {"name": "one example", "value": 3.0, "rtol": 1e-7, "atol": 1e-12},
    {"name": "a batch", "value": encode(np.arange(1.0, 7.0).reshape(2, 3)), "rtol": 1e-7, "atol": 1e-12},
    {"name": "another batch", "value": encode(np.arange(2.0, 8.0)), "rtol": 1e-7, "atol": 1e-12},
]


def records(*values) -> list[dict]:
    return [
        {"output_type": "display_data", "data": {MIME_TYPE: {"name": r["name"], "value": encode(v)}}, "metadata": {}}
        for r, v in zip(EXPECTED, values, strict=False)
    ]


def graded(outputs, points=3) -> tuple[float, float]:
    meta = {"grade": True, "solution": False, "points": points, "grade_id": "t", "schema_version": 3}
    cell = new_code_cell("", metadata={"nbgrader": meta})
    cell.outputs = outputs
    return determine_grade(cell)


BATCH = np.arange(1.0, 7.0).reshape(2, 3)


def test_all_checks_passed_is_full_marks_and_says_so():
    outputs = judged_outputs(records(3.0, BATCH, np.arange(2.0, 8.0)), EXPECTED, 3)
    assert graded(outputs) == (3, 3)
    text = "".join(o.get("text", "") for o in outputs)
    assert "Hidden tests: 3 of 3 passed, 3 of 3 points." in text and "Testy ukryte: 3 z 3 zaliczone" in text
    assert not any(MIME_TYPE in o.get("data", {}) for o in outputs)  # the raw records are gone


def test_the_points_are_shared_among_the_checks_passed():
    outputs = judged_outputs(records(3.0, 4 * BATCH, np.arange(2.0, 8.0)), EXPECTED, 2)
    assert graded(outputs, points=2) == (1.33, 2)  # 2 of 3 checks: 1.333..., down to the hundredth
    text = "".join(o.get("text", "") for o in outputs)
    assert "✗ a batch" in text and "4 times too large" in text and "4 razy za duże" in text
    (verdict,) = [o.data[VERDICT_MIME] for o in outputs if VERDICT_MIME in o.get("data", {})]
    assert verdict == {
        "checks": [
            {"name": "one example", "passed": True, "mistake": None},
            {"name": "a batch", "passed": False, "mistake": "too large by a factor"},
            {"name": "another batch", "passed": True, "mistake": None},
        ],
        "score": 1.33,
        "points": 2,
    }


def test_no_check_passed_is_zero_with_an_error_naming_them():
    outputs = judged_outputs(records(-3.0, BATCH.T), EXPECTED, 3)
    assert graded(outputs) == (0, 3)
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert error.ename == "HiddenTestFailed" and "another batch' did not run" in error.evalue
    text = "".join(o.get("text", "") for o in outputs)
    assert "wrong sign" in text and "transposed" in text


def test_a_cell_that_failed_in_the_kernel_keeps_its_error_and_zero():
    error = {"output_type": "error", "ename": "AssertionError", "evalue": "visible", "traceback": []}
    assert judged_outputs([error, *records(3.0)], EXPECTED, 3) is None
    warning = {"output_type": "stream", "name": "stderr", "text": "RuntimeWarning"}
    assert judged_outputs([*records(3.0, BATCH, np.arange(2.0, 8.0)), warning], EXPECTED, 3) is None


def test_a_result_the_student_displays_does_not_set_the_score():
    forged = {"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "3"}, "metadata": {}}
    outputs = judged_outputs([forged, *records(3.0, 4 * BATCH, 0 * np.arange(2.0, 8.0))], EXPECTED, 3)
    assert graded(outputs) == (1, 3)


def test_a_cell_without_hidden_checks_is_left_as_it_ran():
    assert judged_outputs([], [], 2) is None
    assert share(2, judge([], [])) == 2


def test_property_checks_earn_nothing_until_an_answer_is_right():
    guard = {"name": "input unchanged", "value": 1.0, "rtol": 0.0, "atol": 0.0, "earns": False}
    unchanged = {"output_type": "display_data", "data": {MIME_TYPE: {"name": guard["name"], "value": 1.0}}}
    expected = [guard, *EXPECTED[:2]]
    pasted = [unchanged, *records(0.0, 0 * BATCH)]
    assert graded(judged_outputs(pasted, expected, 3)) == (0, 3)  # only the property check passed
    right_once = [unchanged, *records(3.0, 0 * BATCH)]
    assert graded(judged_outputs(right_once, expected, 3)) == (2, 3)  # 2 of 3, the property counts now
