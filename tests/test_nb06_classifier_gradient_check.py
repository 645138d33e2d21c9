"""Notebook 06 (digit classifier, gradient check): the reference earns full marks, its cost and
gradient agree with an independent formula and with central differences, the student-written
checker agrees with course.gradcheck, the gradient check shows the slips of the original
material, zero initialization keeps the hidden units identical, and training reaches the held-out
accuracy the notebook states.

That pasted numbers earn nothing and that the Polish and English cells pair up is checked for
every notebook by tests/test_pasted_answers.py and tests/test_notebook_hygiene.py."""

import re

import nbformat
import numpy as np
import pytest

from course.datasets import load_digits_split, one_hot
from course.gradcheck import numerical_gradient, rel_error
from tests.support.nbrun import SOURCE, run_notebook

NOTEBOOK = SOURCE / "06_classifier_gradient_check" / "classifier_gradient_check.ipynb"
TOL = 1e-7
# (sizes, lambda, examples, seed): shapes and strengths the notebook never shows.
PROBLEMS = [((3, 4, 2), 0.0, 5, 21), ((5, 3, 4), 0.8, 9, 22), ((2, 6, 3), 4.0, 1, 23), ((4, 2, 2), 1e3, 6, 24)]


@pytest.fixture(scope="module")
def reference(reference_runs):
    run = reference_runs(NOTEBOOK)
    assert not run.failures(), f"the reference solution fails: {run.failures()}"
    return run.namespace


def problem(sizes, n_examples, seed):
    n0, n1, n2 = sizes
    generator = np.random.default_rng(seed)
    theta = generator.uniform(-1.0, 1.0, n0 * n1 + n1 + n1 * n2 + n2)
    X = generator.standard_normal((n_examples, n0))
    Y = one_hot(generator.integers(0, n2, n_examples), n2)
    return theta, X, Y


def split(theta, sizes):
    """pack's layout, written independently: W1 row by row, b1, W2 row by row, b2."""
    n0, n1, n2 = sizes
    W1 = theta[: n0 * n1].reshape(n0, n1)
    b1 = theta[n0 * n1 : n0 * n1 + n1]
    W2 = theta[n0 * n1 + n1 : n0 * n1 + n1 + n1 * n2].reshape(n1, n2)
    b2 = theta[n0 * n1 + n1 + n1 * n2 :]
    return W1, b1, W2, b2


def independent_cost(theta, X, Y, lam, sizes):
    """The notebook's J, by a different route: log-sigmoids from logaddexp, weights picked by index."""
    W1, b1, W2, b2 = split(theta, sizes)
    A = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
    Z = A @ W2 + b2
    cross_entropy = np.sum(Y * np.logaddexp(0.0, -Z) + (1.0 - Y) * np.logaddexp(0.0, Z)) / X.shape[0]
    return cross_entropy + lam / (2 * X.shape[0]) * (np.sum(W1**2) + np.sum(W2**2))


# --- (b) cost and gradients agree with independent routes ----------------------------------------


@pytest.mark.parametrize(("sizes", "lam", "n_examples", "seed"), PROBLEMS)
def test_cost_matches_an_independent_formula(reference, sizes, lam, n_examples, seed):
    theta, X, Y = problem(sizes, n_examples, seed)
    assert reference["cost"](theta, X, Y, lam, sizes) == pytest.approx(
        independent_cost(theta, X, Y, lam, sizes), rel=1e-12
    )


@pytest.mark.parametrize(("sizes", "lam", "n_examples", "seed"), PROBLEMS)
def test_both_gradients_match_central_differences(reference, sizes, lam, n_examples, seed):
    theta, X, Y = problem(sizes, n_examples, seed)
    numeric = numerical_gradient(lambda: independent_cost(theta, X, Y, lam, sizes), theta)
    for form in ("gradient", "gradient_loop"):
        analytic = reference[form](theta, X, Y, lam, sizes)
        assert analytic.shape == theta.shape and analytic.dtype == np.float64
        assert rel_error(analytic, numeric) < TOL, (form, rel_error(analytic, numeric))


def test_the_penalty_is_added_once_and_spares_the_biases(reference):
    sizes, lam = (4, 3, 2), 2.5
    theta, X, Y = problem(sizes, 6, 25)
    W1, b1, W2, b2 = split(theta, sizes)
    extra = reference["cost"](theta, X, Y, lam, sizes) - reference["cost"](theta, X, Y, 0.0, sizes)
    assert extra == pytest.approx(lam / 12 * (np.sum(W1**2) + np.sum(W2**2)), rel=1e-12)
    difference = split(
        reference["gradient"](theta, X, Y, lam, sizes) - reference["gradient"](theta, X, Y, 0.0, sizes), sizes
    )
    np.testing.assert_allclose(difference[0], lam / 6 * W1, rtol=1e-12)
    np.testing.assert_allclose(difference[2], lam / 6 * W2, rtol=1e-12)
    assert not difference[1].any() and not difference[3].any()


def test_sigmoid_pack_unpack_and_predict(reference):
    ns = reference
    z = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(ns["sigmoid"](z), np.exp(z) / (1 + np.exp(z)), rtol=1e-13)
    sizes = (5, 4, 3)
    theta, X, _ = problem(sizes, 7, 26)
    for got, expected in zip(ns["unpack"](theta, sizes), split(theta, sizes)):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(ns["pack"](*split(theta, sizes)), theta)
    W1, b1, W2, b2 = split(theta, sizes)
    np.testing.assert_array_equal(
        ns["predict"](theta, X, sizes), np.argmax(ns["sigmoid"](ns["sigmoid"](X @ W1 + b1) @ W2 + b2), axis=1)
    )


def test_the_students_checker_agrees_with_course_gradcheck(reference):
    ns = reference
    generator = np.random.default_rng(27)
    M, theta = generator.standard_normal((4, 6)), generator.standard_normal(6)
    before = theta.copy()

    def f(t):
        return float(np.sum(np.tanh(M @ t) ** 2))

    mine = ns["central_differences"](f, theta)
    np.testing.assert_array_equal(theta, before)
    np.testing.assert_allclose(mine, numerical_gradient(lambda: f(theta), theta), rtol=1e-9, atol=1e-12)
    exact = M.T @ (2 * np.tanh(M @ theta) / np.cosh(M @ theta) ** 2)
    assert rel_error(mine, exact) < 1e-9
    assert ns["gradient_check"](f, lambda t: M.T @ (2 * np.tanh(M @ t) / np.cosh(M @ t) ** 2), theta) < 1e-9
    assert ns["gradient_check"](f, lambda t: 3 * exact, theta) == pytest.approx(rel_error(3 * exact, mine), rel=1e-12)


def test_init_breaks_the_symmetry(reference):
    sizes = (6, 9, 4)
    theta = reference["init_params"](sizes, 0.2, 5)
    W1, b1, W2, b2 = split(theta, sizes)
    assert np.all(np.abs(W1) <= 0.2) and np.all(np.abs(W2) <= 0.2)
    assert not b1.any() and not b2.any()
    assert np.unique(W1, axis=1).shape[1] == 9 and np.unique(W2, axis=0).shape[0] == 9
    np.testing.assert_array_equal(reference["init_params"](sizes, 0.2, 5), theta)


# --- (c) the gradient check passes on the reference and fails on the slips -----------------------

# The notebook's reference gradient with one slip each; {penalty} is how the weights' penalty is written.
WRONG_GRADIENT = """
def gradient(theta, X, Y, lam, sizes):
    W1, b1, W2, b2 = unpack(theta, sizes)
    m = X.shape[0]
    A = sigmoid(X @ W1 + b1)
    H = sigmoid(A @ W2 + b2)
    delta3 = H - Y
    delta2 = (delta3 @ W2.T) * A * (1.0 - A)
    return pack(
        X.T @ delta2 / m + {penalty1},
        delta2.sum(axis=0) / m + {bias_penalty1},
        A.T @ delta3 / m + {penalty2},
        delta3.sum(axis=0) / m + {bias_penalty2},
    )
"""
SLIPS = {
    "penalty added twice": dict(
        penalty1="2 * lam / m * W1", penalty2="2 * lam / m * W2", bias_penalty1="0", bias_penalty2="0"
    ),
    "biases regularized": dict(
        penalty1="lam / m * W1", penalty2="lam / m * W2", bias_penalty1="lam / m * b1", bias_penalty2="lam / m * b2"
    ),
    "lambda replaced by 1 (the original's `theta * 1 / m`)": dict(
        penalty1="1 / m * W1", penalty2="1 / m * W2", bias_penalty1="0", bias_penalty2="0"
    ),
}

# The original material's cost: `J += J / -m + reg_term` adds a stray -J/m next to the penalty.
SEED_COST = """
def cost(theta, X, Y, lam, sizes):
    W1, b1, W2, b2 = unpack(theta, sizes)
    m = X.shape[0]
    H = sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2)
    J = -np.sum(Y * np.log(H) + (1.0 - Y) * np.log(1.0 - H)) / m
    J += J / -m + lam / (2.0 * m) * (np.sum(W1**2) + np.sum(W2**2))
    return float(J)
"""

SEED_SIGMOID = """
def sigmoid(z):
    return 1.0 / 1.0 + np.exp(-z)
"""


def students_gradient_check(namespace, lam: float = 1.5) -> float:
    """What the notebook's gradient-check cell prints for ``lam``: the namespace's own checker on its
    own cost and gradient, on the small problem."""
    ns = namespace
    return ns["gradient_check"](
        lambda t: ns["cost"](t, ns["X_small"], ns["Y_small"], lam, ns["sizes_small"]),
        lambda t: ns["gradient"](t, ns["X_small"], ns["Y_small"], lam, ns["sizes_small"]),
        ns["theta_small"],
    )


def test_the_gradient_check_passes_on_the_reference(reference, reference_runs):
    """The check is read, not graded: gradient and gradient_check are graded once, by their own exercises."""
    run = reference_runs(NOTEBOOK)
    assert "test_classifier_gradient_check" not in run.grades
    printed = re.findall(r"lam = (\S+): relative error (\S+) \(should be below 1e-7\)", run.stdout)
    assert [lam for lam, _ in printed] == ["0.0", "1.5"]
    assert all(float(error) < 1e-7 for _, error in printed)


@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_a_wrong_gradient_shows_in_the_gradient_check(slip):
    run = run_notebook(NOTEBOOK, replace={"classifier_gradient": WRONG_GRADIENT.format(**SLIPS[slip])}, demos=False)
    assert not run.passed("test_classifier_gradient")
    assert run.passed("test_classifier_cost") and run.passed("test_classifier_gradient_checker")
    assert students_gradient_check(run.namespace) > 1e-3


def test_the_original_cost_fails_the_cost_test_and_shows_in_the_gradient_check():
    run = run_notebook(NOTEBOOK, replace={"classifier_cost": SEED_COST}, demos=False)
    assert not run.passed("test_classifier_cost")
    assert run.passed("test_classifier_gradient")
    assert students_gradient_check(run.namespace) > 1e-3


def test_the_original_sigmoid_fails():
    with np.errstate(all="ignore"):
        run = run_notebook(NOTEBOOK, replace={"classifier_sigmoid": SEED_SIGMOID}, demos=False)
    assert not run.passed("test_classifier_sigmoid")
    assert "add parentheses" in str(run.grades["test_classifier_sigmoid"])


def test_no_pandas_in_the_code():
    """Labels are one-hot numpy arrays; the original indexed a DataFrame like an array."""
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert "pandas" not in code and "get_dummies" not in code


# --- (d) what the notebook demonstrates and states ----------------------------------------------


def test_zero_initialization_keeps_the_hidden_units_identical(reference):
    spread = {
        name: reference["unit_spread"](theta, reference["sizes"]) for name, theta in reference["after_descent"].items()
    }
    assert spread["zeros"] < 1e-9, "hidden units started equal must stay equal up to rounding"
    assert spread["init_params"] > 0.1


def test_training_reaches_the_stated_held_out_accuracy(reference):
    """The notebook states about 98% on the 540 held-out digits."""
    assert reference["X_test"].shape == (540, 64)
    assert reference["test_accuracy"] >= 0.97
    assert reference["train_accuracy"] >= reference["test_accuracy"]
    assert reference["training_costs"][-1] < reference["training_costs"][0] / 5


def test_the_split_is_the_one_the_notebook_uses(reference):
    digits = load_digits_split(test_size=0.3, seed=0)
    np.testing.assert_array_equal(reference["X_test"], digits.X_test)
    np.testing.assert_array_equal(reference["y_train"], digits.y_train)
