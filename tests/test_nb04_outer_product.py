"""Notebook 04 (outer product): the weight gradients its functions
compute agree with central differences and with notebook 02's figures.

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


@pytest.mark.parametrize("seed, sizes, n", [(3, [3, 4, 2], 5), (4, [2, 6, 3, 4], 3), (5, [5, 2, 2], 8)])
def test_batch_weight_gradient_matches_central_differences(reference, seed, sizes, n):
    ns = reference.namespace
    network = random_network(sizes, seed=seed)
    X, Y = random_data(sizes[0], sizes[-1], n, seed=seed + 10)
    Delta = layer1_sensitivities(X, Y, network)
    numeric_W = numerical_gradient(lambda: mse(X, Y, network), network[0][0])
    numeric_b = numerical_gradient(lambda: mse(X, Y, network), network[0][1])
    dW, db = ns["batch_weight_grad"](X, Delta)
    assert rel_error(dW, numeric_W) < TOL
    assert rel_error(db, numeric_b) < TOL
    per_example = ns["per_example_weight_grads"](X, Delta)
    assert per_example.shape == (n, sizes[0], sizes[1])
    assert rel_error(per_example.mean(axis=0), numeric_W) < TOL
    for m in range(n):  # each slice is the gradient of that example's own loss
        numeric_m = numerical_gradient(lambda m=m: mse(X[m : m + 1], Y[m : m + 1], network), network[0][0])
        assert rel_error(per_example[m], numeric_m) < TOL


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
    dW, db = ns["batch_weight_grad"](X, layer1_sensitivities(X, Y, network))
    np.testing.assert_allclose(np.round(single[0], 10), [0.0006476155, 0.0006892113, -0.0006380164, 0.0006632387])
    np.testing.assert_allclose(np.round(dW[0], 10), [0.000349638, 0.0003812498, -0.0003446616, 0.0003658228])
    np.testing.assert_allclose(np.round(db, 10), [0.0005821099, 0.0007110471, -0.0005755421, 0.0006736543])
    np.testing.assert_allclose(ns["dW1_batch"], dW, rtol=1e-7)  # the notebook's own run, with numerical deltas
    np.testing.assert_allclose(ns["db1_batch"], db, rtol=1e-7)
