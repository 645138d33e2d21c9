"""Notebook 02: the reference solution is right, checked by an independent route."""

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error
from course.networks import example_batch, example_network, example_single, random_data, random_network
from tests.support.nbrun import SOURCE, run_notebook

NOTEBOOK = SOURCE / "02_backprop_network" / "backprop_network.ipynb"
NETWORKS = [("example", None), ([2, 5, 3], 1), ([4, 3, 3, 2, 2], 2), ([3, 1], 3)]


@pytest.fixture(scope="module")
def reference(reference_runs):
    return reference_runs(NOTEBOOK).namespace


def network_and_data(sizes, seed, n_examples):
    if sizes == "example":
        X, Y = example_batch()
        return example_network(), X[:n_examples], Y[:n_examples]
    return random_network(sizes, seed), *random_data(sizes[0], sizes[-1], n_examples, seed + 100)


def numerical_gradients(ns, layers, X, Y):
    loss = lambda: ns["mse_loss"](ns["forward"](X, layers)[-1], Y)  # noqa: E731
    return [(numerical_gradient(loss, W), numerical_gradient(loss, b)) for W, b in layers]


def assert_agree(analytic, numeric):
    assert len(analytic) == len(numeric)
    for (dW, db), (nW, nb) in zip(analytic, numeric):
        assert dW.dtype == np.float64
        assert rel_error(dW, nW) < 1e-7, rel_error(dW, nW)
        assert rel_error(db, nb) < 1e-7, rel_error(db, nb)


@pytest.mark.parametrize(("sizes", "seed"), NETWORKS)
def test_single_example_gradients_match_central_differences(reference, sizes, seed):
    layers, X, Y = network_and_data(sizes, seed, 1)
    analytic = reference["gradients"](X[0], Y[0], layers)
    assert_agree(analytic, numerical_gradients(reference, layers, X[0], Y[0]))


@pytest.mark.parametrize("form", ["batch_gradients_broadcast", "batch_gradients_matmul"])
@pytest.mark.parametrize(("sizes", "seed"), NETWORKS)
def test_batch_gradients_match_central_differences(reference, form, sizes, seed):
    layers, X, Y = network_and_data(sizes, seed, 2 if sizes == "example" else 6)
    assert_agree(reference[form](X, Y, layers), numerical_gradients(reference, layers, X, Y))


def test_the_course_figures(reference):
    """The figures the course specification gives for notebook 02's example: the 3-4-2-3 sigmoid
    network of seed 000 (course.networks.example_network), the MSE averaged over the outputs (and
    the batch), one example and a batch of two; output, losses and gradients to ten decimals,
    checked here independently of the notebook's own visible tests."""
    x, y = example_single()
    X, Y = example_batch()
    ns, layers = reference, example_network()
    np.testing.assert_allclose(ns["forward"](x, layers)[-1], [0.5405671679, 0.4467864166, 0.7063284882], atol=5e-11)
    assert ns["mse_loss"](ns["forward"](x, layers)[-1], y) == pytest.approx(0.2075457335, abs=5e-11)
    assert ns["mse_loss"](ns["forward"](X, layers)[-1], Y) == pytest.approx(0.185801434, abs=5e-10)
    (dW1, db1), (_, db2), (_, db3) = ns["gradients"](x, y, layers)
    np.testing.assert_allclose(dW1[0], [0.0006476155, 0.0006892113, -0.0006380164, 0.0006632387], atol=5e-11)
    np.testing.assert_allclose(db1, dW1[0])
    np.testing.assert_allclose(db2, [0.0002803902, 0.0135069366], atol=5e-11)
    np.testing.assert_allclose(db3, [0.0729445018, 0.0406651884, 0.0838465614], atol=5e-11)
    (dW1, db1), _, (_, db3) = ns["batch_gradients_matmul"](X, Y, layers)
    np.testing.assert_allclose(dW1[0], [0.000349638, 0.0003812498, -0.0003446616, 0.0003658228], atol=5e-11)
    np.testing.assert_allclose(db1, [0.0005821099, 0.0007110471, -0.0005755421, 0.0006736543], atol=5e-11)
    np.testing.assert_allclose(db3, [0.0646670202, 0.0488709372, 0.0769323677], atol=5e-11)


def test_a_wrong_gradient_loses_the_points():
    """A classic slip, forgetting the sigmoid's derivative at the output, fails the grade cells."""
    wrong = """
def output_delta(y_out, y_true):
    return 2.0 / y_out.shape[-1] * (y_out - y_true)
"""
    run = run_notebook(NOTEBOOK, replace={"backprop_output_delta": wrong}, demos=False)
    assert not run.passed("test_backprop_output_delta")
    assert not run.passed("test_backprop_gradients")
    assert run.passed("test_backprop_forward")
    assert "check the factor 2/n3 and the sigmoid derivative" in str(run.grades["test_backprop_output_delta"])
