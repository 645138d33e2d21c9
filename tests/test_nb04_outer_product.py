"""Notebook 04 (outer product): the weight gradients its functions compute agree with central
differences and with notebook 02's figures, and a rank-one step does what the notebook says.

Full marks for the reference, grade ids and pasted answers are checked for every notebook by
tests/test_reference_solutions.py, tests/test_grade_ids.py and tests/test_pasted_answers.py."""

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error
from course.networks import example_batch, example_network, example_single, random_data, random_network
from tests.support.independent import sigmoid, sigmoid_network_output
from tests.support.nbrun import SOURCE

NOTEBOOK = SOURCE / "04_outer_product" / "outer_product.ipynb"


@pytest.fixture(scope="module")
def reference(reference_runs):
    return reference_runs(NOTEBOOK)


# ---------------------------------------------------------------------------------------------
# (b) the weight gradients built from outer products agree with central differences
#     (float64, relative error < 1e-7) on networks other than the visible one
# ---------------------------------------------------------------------------------------------

TOL = 1e-7


def mse(X, Y, network):
    """The course's loss: MSE averaged over the outputs and the examples."""
    return np.mean((sigmoid_network_output(network, X) - Y) ** 2)


def layer1_sensitivities(X, Y, network):
    """Delta^1 by backpropagation (rows: dL_n/dz^1 of each example's own loss), independent of the notebook."""
    activations = [X]
    for W, b in network:
        activations.append(sigmoid(activations[-1] @ W + b))
    out = activations[-1]
    delta = 2.0 / out.shape[1] * (out - Y) * out * (1 - out)
    for layer in range(len(network) - 1, 0, -1):
        a = activations[layer]
        delta = (delta @ network[layer][0].T) * a * (1 - a)
    return delta


@pytest.mark.parametrize("name", ["outer_loops", "outer_broadcast"])
@pytest.mark.parametrize("seed, sizes", [(1, [3, 5, 2]), (2, [4, 3, 3, 2])])
def test_single_example_dW_is_an_outer_product(reference, name, seed, sizes):
    network = random_network(sizes, seed=seed)
    X, Y = random_data(sizes[0], sizes[-1], 1, seed=seed + 10)
    delta = layer1_sensitivities(X, Y, network)[0]
    dW = reference.namespace[name](X[0], delta)
    numeric = numerical_gradient(lambda: mse(X, Y, network), network[0][0])
    assert rel_error(dW, numeric) < TOL
    assert rel_error(delta, numerical_gradient(lambda: mse(X, Y, network), network[0][1])) < TOL


@pytest.mark.parametrize("seed, sizes, m", [(3, [3, 4, 2], 5), (4, [2, 6, 3, 4], 1), (5, [5, 2, 2], 3)])
def test_rank_one_step_change_is_what_a_real_step_does(reference, seed, sizes, m):
    """One example's gradient (from central differences) has rank 1, and a step with it changes the
    layer's output for other inputs by exactly what rank_one_step_change says."""
    network = random_network(sizes, seed=seed)
    x, y = random_data(sizes[0], sizes[-1], 1, seed=seed + 10)
    X_new, _ = random_data(sizes[0], sizes[-1], m, seed=seed + 20)
    W = network[0][0]
    dW = numerical_gradient(lambda: mse(x, y, network), W)
    singular = np.linalg.svd(dW, compute_uv=False)
    assert singular[1:].max(initial=0.0) < 1e-6 * singular[0]
    delta = layer1_sensitivities(x, y, network)[0]
    lr = 0.7
    real = X_new @ (W - lr * dW) - X_new @ W
    got = reference.namespace["rank_one_step_change"](X_new, x[0], delta, lr)
    assert got.shape == (m, sizes[1])
    assert rel_error(got, real) < TOL
    assert rel_error(reference.namespace["rank_one_step_change"](X_new[0], x[0], delta, lr), real[0]) < TOL


@pytest.mark.parametrize("seed, sizes, n", [(3, [3, 4, 2], 5), (4, [2, 6, 3, 4], 3), (5, [5, 2, 2], 8)])
def test_einsum_sum_over_the_examples_is_the_batch_gradient(reference, seed, sizes, n):
    network = random_network(sizes, seed=seed)
    X, Y = random_data(sizes[0], sizes[-1], n, seed=seed + 10)
    Delta = layer1_sensitivities(X, Y, network)
    per_example, summed = reference.namespace["outer_einsum"](X, Delta)
    assert per_example.shape == (n, sizes[0], sizes[1]) and summed.shape == (sizes[0], sizes[1])
    assert rel_error(summed / n, numerical_gradient(lambda: mse(X, Y, network), network[0][0])) < TOL
    assert rel_error(Delta.mean(axis=0), numerical_gradient(lambda: mse(X, Y, network), network[0][1])) < TOL
    for k in range(n):  # each slice is the gradient of that example's own loss
        numeric_k = numerical_gradient(lambda k=k: mse(X[k : k + 1], Y[k : k + 1], network), network[0][0])
        assert rel_error(per_example[k], numeric_k) < TOL


@pytest.mark.parametrize("seed, sizes, n", [(6, [3, 4, 2], 4), (7, [2, 3, 3], 1)])
def test_notebook_deltas_by_central_differences_match_backpropagation(reference, seed, sizes, n):
    network = random_network(sizes, seed=seed)
    X, Y = random_data(sizes[0], sizes[-1], n, seed=seed + 10)
    assert rel_error(reference.namespace["layer1_deltas"](X, Y, network), layer1_sensitivities(X, Y, network)) < TOL


def test_reference_reproduces_notebook_02_figures(reference):
    """The visible tests' full-precision constants are the figures the course specification gives
    for notebook 02's example (the 3-4-2-3 sigmoid network of seed 000): the first layer's weight
    and bias gradients for one example and for the batch of two, to ten decimals."""
    network = example_network()
    x, y = example_single()
    X, Y = example_batch()
    ns = reference.namespace
    single = ns["outer_broadcast"](x, layer1_sensitivities(x[None, :], y[None, :], network)[0])
    Delta = layer1_sensitivities(X, Y, network)
    per_example, summed = ns["outer_einsum"](X, Delta)
    np.testing.assert_allclose(np.round(single[0], 10), [0.0006476155, 0.0006892113, -0.0006380164, 0.0006632387])
    np.testing.assert_allclose(
        np.round(per_example[0, 0], 10), [0.0006476155, 0.0006892113, -0.0006380164, 0.0006632387]
    )
    np.testing.assert_allclose(np.round(summed[0] / 2, 10), [0.000349638, 0.0003812498, -0.0003446616, 0.0003658228])
    np.testing.assert_allclose(
        np.round(Delta.mean(axis=0), 10), [0.0005821099, 0.0007110471, -0.0005755421, 0.0006736543]
    )
    np.testing.assert_allclose(ns["summed"], summed, rtol=1e-7)  # the notebook's own run, with numerical deltas
