"""Notebook 03 (layers, softmax, dropout): every gradient its
functions compute agrees with central differences.

Full marks for the reference, grade ids and pasted answers are checked for every notebook by
tests/test_reference_solutions.py, tests/test_grade_ids.py and tests/test_pasted_answers.py."""

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error
from tests.support.nbrun import SOURCE

NOTEBOOK = SOURCE / "03_layers_softmax_dropout" / "layers_softmax_dropout.ipynb"


@pytest.fixture(scope="module")
def reference(reference_runs):
    return reference_runs(NOTEBOOK)


# ---------------------------------------------------------------------------------------------
# (b) every derivative of the reference functions agrees with central differences
#     (float64, relative error < 1e-7) on inputs other than the visible ones
# ---------------------------------------------------------------------------------------------

TOL = 1e-7


def naive_softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("seed, n, n_in, n_out", [(1, 4, 5, 3), (2, 1, 3, 6), (3, 7, 2, 2)])
def test_dense_backward_matches_central_differences(reference, seed, n, n_in, n_out):
    r = np.random.default_rng(seed)
    G, X = r.standard_normal((n, n_out)), r.standard_normal((n, n_in))
    W, b = r.standard_normal((n_in, n_out)), r.standard_normal(n_out)
    loss = lambda: np.sum(G * (X @ W + b))  # noqa: E731 -- dL/dZ = G exactly
    dX, dW, db = reference.namespace["dense_backward"](G, X, W)
    assert rel_error(dX, numerical_gradient(loss, X)) < TOL
    assert rel_error(dW, numerical_gradient(loss, W)) < TOL
    assert rel_error(db, numerical_gradient(loss, b)) < TOL


def test_relu_backward_matches_central_differences(reference):
    r = np.random.default_rng(4)
    z = r.uniform(0.2, 3.0, (5, 6)) * r.choice([-1.0, 1.0], (5, 6))
    G = r.standard_normal((5, 6))
    numeric = numerical_gradient(lambda: np.sum(G * np.maximum(z, 0.0)), z)
    assert rel_error(reference.namespace["relu_backward"](G, z), numeric) < TOL
    assert np.array_equal(reference.namespace["relu_backward"](np.ones(3), np.array([0.0, 1.0, -1.0])), [0.0, 1.0, 0.0])


@pytest.mark.parametrize("seed, n, k", [(5, 6, 4), (6, 2, 5)])
def test_cross_entropy_and_its_derivative(reference, seed, n, k):
    r = np.random.default_rng(seed)
    p = r.uniform(0.1, 1.0, (n, k))
    p /= p.sum(axis=1, keepdims=True)
    labels = r.integers(0, k, n)
    y = np.eye(k)[labels]
    ns = reference.namespace
    assert abs(ns["cce_loss"](p, y) + np.mean(np.log(p[np.arange(n), labels]))) < 1e-12
    numeric = numerical_gradient(lambda: -np.sum(y * np.log(p)) / n, p)
    assert rel_error(ns["cce_backward"](p, y), numeric) < TOL


def test_softmax_is_stable_and_correct(reference):
    softmax = reference.namespace["softmax"]
    r = np.random.default_rng(7)
    Z = 3.0 * r.standard_normal((5, 4))
    np.testing.assert_allclose(softmax(Z), naive_softmax(Z), rtol=1e-12)
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(softmax(Z + 1000.0), naive_softmax(Z), rtol=1e-10)
        np.testing.assert_allclose(softmax(Z - 1000.0), naive_softmax(Z), rtol=1e-10)


@pytest.mark.parametrize("seed, n, k", [(8, 3, 4), (9, 2, 6)])
def test_softmax_jacobians_match_central_differences(reference, seed, n, k):
    ns = reference.namespace
    Z = 1.5 * np.random.default_rng(seed).standard_normal((n, k))
    S = naive_softmax(Z)
    J_batch = ns["softmax_jacobian_batch"](S)
    assert J_batch.shape == (n, k, k)
    for m in range(n):
        z = Z[m].copy()
        numeric = np.array([numerical_gradient(lambda j=j: naive_softmax(z)[j], z) for j in range(k)])  # noqa: B023
        assert rel_error(ns["softmax_jacobian"](S[m]), numeric) < TOL
        assert rel_error(J_batch[m], numeric) < TOL


@pytest.mark.parametrize("seed, n, k", [(10, 5, 3), (11, 1, 4), (12, 8, 6)])
def test_softmax_cross_entropy_gradient_matches_central_differences_and_the_chain(reference, seed, n, k):
    ns = reference.namespace
    r = np.random.default_rng(seed)
    Z = 2.0 * r.standard_normal((n, k))
    labels = r.integers(0, k, n)
    y = np.eye(k)[labels]
    S = naive_softmax(Z)
    combined = ns["softmax_cce_backward"](S, y)
    numeric = numerical_gradient(lambda: -np.mean(np.log(naive_softmax(Z)[np.arange(n), labels])), Z)
    assert rel_error(combined, numeric) < TOL
    chain = np.einsum("njk,nj->nk", ns["softmax_jacobian_batch"](S), ns["cce_backward"](S, y))
    np.testing.assert_allclose(chain, combined, rtol=1e-10, atol=1e-15)


def test_penalty_derivatives_match_central_differences(reference):
    ns = reference.namespace
    r = np.random.default_rng(13)
    W = r.uniform(0.1, 2.0, (4, 5)) * r.choice([-1.0, 1.0], (4, 5))
    lam = 0.37
    assert rel_error(ns["l1_penalty_backward"](W, lam), numerical_gradient(lambda: lam * np.sum(np.abs(W)), W)) < TOL
    # The course's L2 form (CONVENTIONS.md): lam / 2 * sum(W^2), whose gradient is lam * W.
    assert rel_error(ns["l2_penalty_backward"](W, lam), numerical_gradient(lambda: lam / 2 * np.sum(W**2), W)) < TOL
    assert np.array_equal(ns["l1_penalty_backward"](np.array([0.0, -2.0]), 1.0), [0.0, -1.0]), "sign(0) must be 0"


@pytest.mark.parametrize("seed, shape, p", [(14, (6, 5), 0.3), (15, (3, 2, 4), 0.6), (16, (7,), 0.0)])
def test_dropout_backward_matches_central_differences(reference, seed, shape, p):
    ns = reference.namespace
    r = np.random.default_rng(seed + 50)
    x, G = r.standard_normal(shape), r.standard_normal(shape)
    out, mask = ns["dropout_forward"](x, p, np.random.default_rng(seed))
    keep = np.random.default_rng(seed).random(shape) >= p
    assert np.array_equal(mask, keep.astype(float))
    assert np.array_equal(ns["dropout_forward"](x, p, seed)[1], mask), "a seed and its generator give the same mask"
    np.testing.assert_allclose(out, np.where(keep, x / (1 - p), 0.0), rtol=1e-15)
    numeric = numerical_gradient(lambda: np.sum(G * x * keep / (1 - p)), x)
    assert rel_error(ns["dropout_backward"](G, mask, p), numeric) < TOL
