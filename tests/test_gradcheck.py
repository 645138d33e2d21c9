"""The central-difference checker that every analytic gradient in the course is judged by."""

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error


def test_matches_a_known_gradient_and_restores_the_input():
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(np.sin(x) * x**2)), x)
    np.testing.assert_allclose(grad, np.cos(before) * before**2 + 2 * before * np.sin(before), rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_restores_the_input_when_the_function_raises():
    x = np.array([1.0, 2.0])

    def explode():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(explode, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_refuses_float32_with_a_reason():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))


def test_rel_error_is_a_norm_ratio_and_safe_at_zero():
    assert rel_error(np.array([1e-6]), np.array([1.1e-6])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.array([3.0, 0.0]), np.array([0.0, 4.0])) == pytest.approx(5 / 7)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_a_wrong_gradient_is_caught():
    """A gradient off by a factor of two must show a relative error far above 1e-7."""
    w = np.array([0.3, -0.7, 1.1])
    numeric = numerical_gradient(lambda: float(np.sum(w**2)), w)
    assert rel_error(2 * w, numeric) < 1e-9
    assert rel_error(w, numeric) > 0.1
