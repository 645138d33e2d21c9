"""Notebook 01 (the chain rule): the reference passes and its derivatives agree with central differences.

That pasted numbers earn nothing and that the Polish and English cells pair up is checked for
every notebook by tests/test_pasted_answers.py and tests/test_notebook_hygiene.py."""

import nbformat
import numpy as np
import pytest
import sympy as sym

from course.gradcheck import numerical_gradient, rel_error
from tests.support.nbrun import SOURCE

NOTEBOOK = SOURCE / "01_chain_rule" / "chain_rule.ipynb"


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def reference(reference_runs):
    return reference_runs(NOTEBOOK)


# --- (b) every reference derivative agrees with central differences --------------------------------


def numeric_derivative(f, x0):
    """d f / dx at the float x0, by central differences."""
    x = np.array([float(x0)])
    return numerical_gradient(lambda: f(x[0]), x)[0]


def test_cos_exp_derivative_matches_central_differences(reference):
    prime = reference.namespace["cos_exp_cubed_prime"]
    for x0 in (-1.4, -0.6, 0.35, 0.9):
        expected = numeric_derivative(lambda t: np.cos(np.exp(t)) ** 3, x0)
        assert rel_error(prime(x0), expected) < 1e-7


def test_sympy_derivatives_match_central_differences(reference):
    derivative_at = reference.namespace["derivative_at"]
    derivative_function = reference.namespace["derivative_function"]
    t = sym.Symbol("t")
    for expr in (sym.atan(t**2 + 1) * t, sym.exp(sym.sin(3 * t)), sym.cos(sym.exp(t)) ** 3):
        f = sym.lambdify(t, expr, "numpy")
        for x0 in (-0.8, 0.3, 1.1):
            expected = numeric_derivative(f, x0)
            assert rel_error(derivative_at(expr, t, x0), expected) < 1e-7
            assert rel_error(derivative_function(expr, t)(x0), expected) < 1e-7


def scalar_net_loss(activation):
    return lambda w, x, y: (w[2] * activation(w[1] * activation(w[0] * x)) - y) ** 2


SCALAR_CASES = [
    ((0.7, -1.2, 1.4), 1.3, 0.2, 0.1),
    ((-0.4, 0.9, -2.1), 0.8, 1.1, 0.05),
    ((1.1, 0.6, 0.9), -1.7, -0.6, 0.2),
]


def test_sigmoid_gradient_and_step_match_central_differences(reference):
    grad, step = reference.namespace["sigmoid_net_grad"], reference.namespace["sigmoid_net_step"]
    loss = scalar_net_loss(lambda a: 1 / (1 + np.exp(-a)))
    for w, x, y, lr in SCALAR_CASES:
        w = np.array(w)
        expected = numerical_gradient(lambda w=w, x=x, y=y: loss(w, x, y), w)
        assert rel_error(grad(w, x, y), expected) < 1e-7
        assert rel_error((w - step(w, x, y, lr)) / lr, expected) < 1e-7


def test_tanh_step_matches_central_differences(reference):
    step = reference.namespace["tanh_net_step"]
    loss = scalar_net_loss(np.tanh)
    for w, x, y, lr in SCALAR_CASES:
        w = np.array(w)
        expected = numerical_gradient(lambda w=w, x=x, y=y: loss(w, x, y), w)
        assert rel_error((w - step(w, x, y, lr)) / lr, expected) < 1e-7


@pytest.mark.parametrize("sizes, seed", [((2, 2, 2), 1), ((3, 4, 2), 2), ((5, 3, 4), 3)])
def test_matrix_gradients_and_step_match_central_differences(reference, sizes, seed):
    grads, step = reference.namespace["matrix_net_grads"], reference.namespace["matrix_net_step"]
    rng = np.random.default_rng(seed)
    n, h1, h2 = sizes
    W, U = 0.6 * rng.standard_normal((n, h1)), 0.6 * rng.standard_normal((h1, h2))
    V, x, y, lr = rng.standard_normal(h2), rng.standard_normal(n), 0.9, 0.1

    def loss():
        return (V @ np.tanh(U.T @ np.tanh(W.T @ x)) - y) ** 2

    expected = [numerical_gradient(loss, p) for p in (W, U, V)]
    for got, exp in zip(grads(W, U, V, x, y), expected):
        assert got.shape == exp.shape
        assert rel_error(got, exp) < 1e-7
    for new, old, exp in zip(step(W, U, V, x, y, lr), (W, U, V), expected):
        assert rel_error((old - new) / lr, exp) < 1e-7


def test_gradient_and_jacobian_match_central_differences(reference):
    gradient_at, jacobian_at = reference.namespace["gradient_at"], reference.namespace["jacobian_at"]
    a, b, c = variables = sym.symbols("a b c")
    funcs = [a * sym.exp(b) - c**2, sym.sin(a * c) + b**3, 1 / (1 + a**2 + b**2)]
    point = np.array([0.6, -0.4, 1.3])
    numeric = []
    for expr in funcs:
        f = sym.lambdify(variables, expr, "numpy")
        p = point.copy()
        numeric.append(numerical_gradient(lambda f=f, p=p: f(*p), p))
        assert rel_error(gradient_at(expr, variables, point), numeric[-1]) < 1e-7
    assert rel_error(jacobian_at(funcs, variables, point), np.array(numeric)) < 1e-7


def test_relu_neuron_backward_matches_central_differences(reference):
    forward, backward = reference.namespace["relu_neuron_forward"], reference.namespace["relu_neuron_backward"]
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 6:
        x, w, b = rng.standard_normal(5), rng.standard_normal(5), np.array([rng.standard_normal()])
        upstream = rng.uniform(0.5, 2.0)
        if abs(w @ x + b[0]) < 0.1:
            continue
        checked += 1

        def out(x=x, w=w, b=b, upstream=upstream):
            return upstream * forward(x, w, b[0])

        dx, dw, db = backward(x, w, b[0], upstream)
        assert rel_error(dx, numerical_gradient(out, x)) < 1e-7
        assert rel_error(dw, numerical_gradient(out, w)) < 1e-7
        assert rel_error(db, numerical_gradient(out, b)[0]) < 1e-7
