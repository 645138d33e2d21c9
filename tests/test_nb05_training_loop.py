"""Notebook 05 (the training loop): the reference earns full marks, its gradient agrees with central
differences of an independently written cost for networks of several depths, one epoch equals
an independent mini-batch descent, the gradient check shows the classic slips, and training
reaches the accuracy the notebook states.

That pasted numbers earn nothing and that the Polish and English cells pair up is checked for
every notebook by tests/test_pasted_answers.py and tests/test_notebook_hygiene.py."""

import re

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error
from course.networks import example_batch, example_network, random_data, random_network
from tests.support.independent import sigmoid, sigmoid_network_output
from tests.support.nbrun import SOURCE, run_notebook

NOTEBOOK = SOURCE / "05_training_loop" / "training_loop.ipynb"
TOL = 1e-7
# Networks the notebook never shows: depths 1 to 4, batches of 1 to 9 examples.
NETWORKS = [([2, 7, 1], 11, 9), ([3, 4, 4, 2], 12, 5), ([2, 3], 13, 1), ([4, 5, 3, 3, 2], 14, 6)]


@pytest.fixture(scope="module")
def reference(reference_runs):
    run = reference_runs(NOTEBOOK)
    assert not run.failures(), f"the reference solution fails: {run.failures()}"
    return run.namespace


def half_mean_cost(layers, X, T):
    """C = 1/(2N) sum_n ||y_n - t_n||^2, written here independently of the notebook."""
    return 0.5 * np.sum((sigmoid_network_output(layers, X) - T) ** 2) / X.shape[0]


# --- (b) every derivative agrees with an independent route --------------------------------------


@pytest.mark.parametrize(("sizes", "seed", "n_examples"), NETWORKS)
def test_backward_matches_central_differences_of_the_half_mean_cost(reference, sizes, seed, n_examples):
    layers = random_network(sizes, seed)
    X, T = random_data(sizes[0], sizes[-1], n_examples, seed + 100)
    grads = reference["backward"](*reference["forward"](X, layers), T, layers)
    assert len(grads) == len(layers)
    for (dW, db), (W, b) in zip(grads, layers):
        assert dW.dtype == np.float64 and dW.shape == W.shape and db.shape == b.shape
        assert rel_error(dW, numerical_gradient(lambda: half_mean_cost(layers, X, T), W)) < TOL
        assert rel_error(db, numerical_gradient(lambda: half_mean_cost(layers, X, T), b)) < TOL


@pytest.mark.parametrize(("sizes", "seed", "n_examples"), NETWORKS)
def test_stored_derivatives_are_the_sigmoid_slopes(reference, sizes, seed, n_examples):
    layers = random_network(sizes, seed)
    X, _ = random_data(sizes[0], sizes[-1], n_examples, seed + 100)
    ys, dfs = reference["forward"](X, layers)
    for (W, b), y_in, df in zip(layers, ys[:-1], dfs):
        z = y_in @ W + b
        assert rel_error(df, (sigmoid(z + 1e-5) - sigmoid(z - 1e-5)) / 2e-5) < TOL


def test_cost_is_the_half_batch_mean_and_three_halves_of_notebook_02(reference):
    """Notebook 02's loss averages over the 3 outputs too and has no 1/2: C = (3/2) L there."""
    X, T = example_batch()
    ys, _ = reference["forward"](X, example_network())
    assert reference["cost"](ys[-1], T) == pytest.approx(1.5 * 0.185801434, abs=1e-9)
    P, Q = random_data(5, 5, 4, seed=15)
    assert reference["cost"](P, Q) == pytest.approx(np.sum((P - Q) ** 2) / 8, rel=1e-13)
    db3 = reference["backward"](ys, reference["forward"](X, example_network())[1], T, example_network())[2][1]
    np.testing.assert_allclose(db3, 1.5 * np.array([0.0646670202, 0.0488709372, 0.0769323677]), atol=2e-10)


@pytest.mark.parametrize(
    ("sizes", "seed", "n_examples", "batch_size"), [([2, 4, 1], 16, 10, 3), ([3, 3, 3, 2], 17, 7, 7)]
)
def test_one_epoch_is_mini_batch_descent_on_central_differences(reference, sizes, seed, n_examples, batch_size):
    layers = random_network(sizes, seed)
    X, T = random_data(sizes[0], sizes[-1], n_examples, seed + 100)
    order = np.random.default_rng(seed).permutation(n_examples)
    got, costs = reference["train_epoch"](layers, X, T, 0.7, batch_size, order)
    expected, expected_costs = [(W.copy(), b.copy()) for W, b in layers], []
    for start in range(0, n_examples, batch_size):
        rows = order[start : start + batch_size]
        expected_costs.append(half_mean_cost(expected, X[rows], T[rows]))
        batch_cost = lambda: half_mean_cost(expected, X[rows], T[rows])  # noqa: B023, E731 -- called at once
        steps = [(numerical_gradient(batch_cost, W), numerical_gradient(batch_cost, b)) for W, b in expected]
        expected = [(W - 0.7 * dW, b - 0.7 * db) for (W, b), (dW, db) in zip(expected, steps)]
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-9)
    for (W, b), (W_e, b_e) in zip(got, expected):
        np.testing.assert_allclose(W, W_e, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(b, b_e, rtol=1e-7, atol=1e-10)
    for (W, b), (W_0, b_0) in zip(layers, random_network(sizes, seed)):
        np.testing.assert_array_equal(W, W_0)  # the epoch builds a new network
        np.testing.assert_array_equal(b, b_0)


# --- (c) the gradient check passes on the reference and fails on the classic slips ---------------

SEED_BUG_BACKWARD = '''
def backward(ys, dfs, targets, layers):
    """The slip of the original material: only the last layer's gradient is divided by N."""
    n_examples = targets.shape[0]
    delta = (ys[-1] - targets) * dfs[-1]
    grads = [(ys[-2].T @ delta / n_examples, delta.sum(axis=0) / n_examples)]
    for layer in range(len(layers) - 1, 0, -1):
        delta = (delta @ layers[layer][0].T) * dfs[layer - 1]
        grads.append((ys[layer - 1].T @ delta, delta.sum(axis=0) / n_examples))
    return grads[::-1]
'''

COST_WITHOUT_HALF = '''
def cost(y_out, targets):
    """The other slip of the original material: the 1/2 is missing, the gradient still has it."""
    return float(np.sum((y_out - targets) ** 2) / y_out.shape[0])
'''

BUGGY_SIGMOID_FORWARD = """
def forward(X, layers):
    ys, dfs = [X], []
    for W, b in layers:
        y = 1.0 / 1.0 + np.exp(-(ys[-1] @ W + b))
        ys.append(y)
        dfs.append(y * (1.0 - y))
    return ys, dfs
"""


def gradient_check_errors(namespace) -> list[tuple[float, float]]:
    """What the notebook's gradient-check cell prints, per layer: the relative errors of dW and db
    from the namespace's backward against central differences of its own cost, on the example batch."""
    X, T = example_batch()
    net = example_network()
    forward, backward, cost = namespace["forward"], namespace["backward"], namespace["cost"]
    errors = []
    for (dW, db), (W, b) in zip(backward(*forward(X, net), T, net), net):
        loss = lambda: cost(forward(X, net)[0][-1], T)  # noqa: E731
        errors.append((rel_error(dW, numerical_gradient(loss, W)), rel_error(db, numerical_gradient(loss, b))))
    return errors


def test_the_gradient_check_passes_on_the_reference(reference_runs):
    """The check is read, not graded: cost and backward are graded once, by their own exercises."""
    run = reference_runs(NOTEBOOK)
    assert "test_training_gradient_check" not in run.grades
    printed = re.findall(r"layer (\d): relative error dW (\S+), db (\S+) \(should be below 1e-7\)", run.stdout)
    assert [int(layer) for layer, _, _ in printed] == [1, 2, 3]
    assert all(float(dW) < 1e-7 and float(db) < 1e-7 for _, dW, db in printed)


def test_hidden_layers_not_divided_by_the_batch_size_show_in_the_gradient_check():
    run = run_notebook(NOTEBOOK, replace={"training_backward": SEED_BUG_BACKWARD}, demos=False)
    assert not run.passed("test_training_backward")
    assert run.passed("test_training_forward") and run.passed("test_training_cost")
    errors = gradient_check_errors(run.namespace)
    assert errors[-1][0] < 1e-7, "the last layer is right"
    assert all(dW > 0.1 for dW, _ in errors[:-1]), "the hidden layers' dW are N times too large"


def test_a_cost_without_the_half_shows_a_third_in_the_gradient_check():
    run = run_notebook(NOTEBOOK, replace={"training_cost": COST_WITHOUT_HALF}, demos=False)
    assert not run.passed("test_training_cost")
    assert run.passed("test_training_backward")
    errors = gradient_check_errors(run.namespace)
    np.testing.assert_allclose([error for layer in errors for error in layer], 1 / 3, rtol=1e-6)


def test_the_sigmoid_written_without_parentheses_fails_forward():
    with np.errstate(all="ignore"):
        run = run_notebook(NOTEBOOK, replace={"training_forward": BUGGY_SIGMOID_FORWARD}, demos=False)
    assert not run.passed("test_training_forward")


def test_the_slips_are_caught_with_the_documented_relative_errors(reference):
    """A factor 2 gives 1/3; hidden layers N times too large give (N - 1) / (N + 1)."""
    layers = random_network([2, 5, 5, 1], seed=18)
    X, T = random_data(2, 1, 6, seed=19)
    grads = reference["backward"](*reference["forward"](X, layers), T, layers)
    numeric = [numerical_gradient(lambda: half_mean_cost(layers, X, T), W) for W, _ in layers]
    doubled = [rel_error(dW, 2 * n) for (dW, _), n in zip(grads, numeric)]
    np.testing.assert_allclose(doubled, 1 / 3, rtol=1e-6)
    undivided = [rel_error(dW * 6, n) for (dW, _), n in zip(grads[:-1], numeric[:-1])]
    np.testing.assert_allclose(undivided, 5 / 7, rtol=1e-6)


# --- (d) training does what the notebook says -----------------------------------------------------


def test_training_reaches_the_stated_accuracy(reference):
    """The notebook states about 98% on the test set; the cost falls by more than ten times."""
    history = reference["history"]
    assert len(history) == 200
    assert history[-1] < history[0] / 10
    assert reference["accuracy"](reference["trained"], reference["X_test"], reference["Y_test"]) >= 0.96


def test_the_training_loop_is_quiet_without_progress_and_trains_any_depth(reference, capsys):
    generator = np.random.default_rng(3)
    layers = reference["init_network"]([2, 6, 6, 6, 1], generator)
    X, T = reference["X_train"][:200], reference["Y_train"][:200]
    before = half_mean_cost(layers, X, T)
    trained, history = reference["train"](layers, X, T, 2.0, 20, 30, generator, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert len(history) == 30 and len(trained) == 4
    assert half_mean_cost(trained, X, T) < before
