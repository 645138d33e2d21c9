"""Notebook 08 (modular capstone): every block's reference gradient agrees with central differences
of an independently written loss, and so does the whole network's (any depth, with the L2 penalty
and a fixed dropout mask); the step rules follow their formulas; the Huber derivative, which the
notebook leaves to the student, is the clipped residual. The debugging habits and the training run
show what the text says: the initial loss is about ln 10, 20 examples are overfitted to almost zero
loss, dropout spoils a gradient check only when the mask changes between calls, the check's error
against h is V-shaped, and the held-out accuracies the text states are reached.

Full marks for the reference, grade ids, pasted answers and the Polish/English pairing are checked
for every notebook by tests/test_reference_solutions.py, tests/test_grade_ids.py,
tests/test_pasted_answers.py and tests/test_notebook_hygiene.py."""

import re

import nbformat
import numpy as np
import pytest
from scipy.special import logsumexp

from course.datasets import load_digits_split, one_hot
from course.gradcheck import numerical_gradient, rel_error
from course.networks import random_network
from tests.support.nbrun import SOURCE, run_notebook
from tests.support.pasting import visible_only

NOTEBOOK = SOURCE / "08_modular_capstone" / "modular_capstone.ipynb"
TOL = 1e-7
N_HELD_OUT = 540


@pytest.fixture(scope="module")
def reference(reference_runs):
    run = reference_runs(NOTEBOOK)
    assert not run.failures(), f"the reference solution fails: {run.failures()}"
    return run


@pytest.fixture(scope="module")
def ns(reference):
    return reference.namespace


def markdown(lang: str) -> str:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return "\n".join(c.source for c in cells if c.cell_type == "markdown" and c.metadata.get("lang") == lang)


# --- every block's gradient against central differences (float64, relative error < 1e-7) -------


@pytest.mark.parametrize(("seed", "n", "n_in", "n_out"), [(1, 4, 5, 3), (2, 1, 3, 6), (3, 7, 2, 2)])
def test_dense_backward_matches_central_differences(ns, seed, n, n_in, n_out):
    r = np.random.default_rng(seed)
    X, W, b, G = (
        r.standard_normal((n, n_in)),
        r.standard_normal((n_in, n_out)),
        r.standard_normal(n_out),
        r.standard_normal((n, n_out)),
    )
    Z, cache = ns["dense_forward"](X, W, b)
    np.testing.assert_allclose(Z, X @ W + b, rtol=1e-13)
    dX, dW, db = ns["dense_backward"](G, cache)
    loss = lambda: np.sum(G * (X @ W + b))  # noqa: E731 -- dL/dZ = G exactly
    for analytic, variable in ((dX, X), (dW, W), (db, b)):
        assert rel_error(analytic, numerical_gradient(loss, variable)) < TOL


def test_relu_dropout_and_l2_match_central_differences(ns):
    r = np.random.default_rng(4)
    Z = r.uniform(0.2, 3.0, (5, 6)) * r.choice([-1.0, 1.0], (5, 6))  # away from ReLU's kink
    G = r.standard_normal((5, 6))
    relu_grad = ns["relu_backward"](G, ns["relu_forward"](Z)[1])
    assert rel_error(relu_grad, numerical_gradient(lambda: np.sum(G * np.maximum(Z, 0.0)), Z)) < TOL

    keep = np.random.default_rng(9).random(Z.shape) >= 0.3  # the mask the notebook's rule draws from seed 9
    out, cache = ns["dropout_forward"](Z, 0.3, 9)
    np.testing.assert_allclose(out, np.where(keep, Z / 0.7, 0.0), rtol=1e-13)
    dropout_grad = ns["dropout_backward"](G, cache)
    assert rel_error(dropout_grad, numerical_gradient(lambda: np.sum(G * np.where(keep, Z / 0.7, 0.0)), Z)) < TOL

    penalty, cache = ns["l2_forward"](Z, 0.05)
    assert penalty == pytest.approx(0.05 * np.sum(Z**2), rel=1e-13)
    assert rel_error(ns["l2_backward"](1.0, cache), numerical_gradient(lambda: 0.05 * np.sum(Z**2), Z)) < TOL


@pytest.mark.parametrize(("seed", "n", "k"), [(5, 6, 4), (6, 1, 10), (7, 9, 2)])
def test_softmax_cross_entropy_matches_an_independent_formula(ns, seed, n, k):
    r = np.random.default_rng(seed)
    Z = 3.0 * r.standard_normal((n, k))
    Y = one_hot(r.integers(0, k, n), k)
    independent = lambda: -np.sum(Y * (Z - logsumexp(Z, axis=1, keepdims=True))) / n  # noqa: E731
    loss, cache = ns["softmax_ce_forward"](Z, Y)
    assert loss == pytest.approx(independent(), rel=1e-12)
    assert rel_error(ns["softmax_ce_backward"](1.0, cache), numerical_gradient(independent, Z)) < TOL
    far_logits = Z - 1e4 * Y  # the correct class e^-10000 times less likely: log(softmax) would be log(0)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        far, _ = ns["softmax_ce_forward"](far_logits, Y)
    assert far == pytest.approx(-np.sum(Y * (far_logits - logsumexp(far_logits, axis=1, keepdims=True))) / n, rel=1e-12)


# --- the whole network ---------------------------------------------------------------------------


def independent_loss(layers, X, Y, lam, p_drop, seed):
    """The notebook's loss without its blocks: masks drawn in the same order from the same seed."""
    generator = np.random.default_rng(seed)
    A = X
    for W, b in layers[:-1]:
        A = np.maximum(A @ W + b, 0.0)
        if p_drop > 0:
            A = np.where(generator.random(A.shape) >= p_drop, A / (1.0 - p_drop), 0.0)
    Z = A @ layers[-1][0] + layers[-1][1]
    cross_entropy = -np.sum(Y * (Z - logsumexp(Z, axis=1, keepdims=True))) / X.shape[0]
    return cross_entropy + lam * sum(np.sum(W**2) for W, _ in layers)


NETWORKS = [
    ([5, 4, 3], 0.0, 0.0, 21),
    ([6, 5, 4, 3], 0.05, 0.0, 22),
    ([4, 3], 0.2, 0.0, 23),
    ([5, 7, 6, 4], 0.01, 0.4, 24),
]


@pytest.mark.parametrize(("sizes", "lam", "p_drop", "seed"), NETWORKS)
def test_network_gradients_match_central_differences(ns, sizes, lam, p_drop, seed):
    layers = random_network(sizes, seed, scale=0.7)
    r = np.random.default_rng(seed + 100)
    X, Y = r.standard_normal((8, sizes[0])), one_hot(r.integers(0, sizes[-1], 8), sizes[-1])
    loss, grads = ns["network_loss"](layers, X, Y, lam, p_drop, seed)
    assert loss == pytest.approx(independent_loss(layers, X, Y, lam, p_drop, seed), rel=1e-12)
    assert len(grads) == len(layers)
    for (W, b), (dW, db) in zip(layers, grads):
        assert dW.shape == W.shape and db.shape == b.shape
        f = lambda: independent_loss(layers, X, Y, lam, p_drop, seed)  # noqa: E731
        assert rel_error(dW, numerical_gradient(f, W)) < TOL
        assert rel_error(db, numerical_gradient(f, b)) < TOL


# --- step rules and the derivative the student derives ------------------------------------------


def test_step_rules_follow_their_formulas(ns):
    r = np.random.default_rng(31)
    w, dw, v, m = (r.standard_normal((3, 4)) for _ in range(4))
    s = r.uniform(0.1, 1.0, (3, 4))
    np.testing.assert_allclose(ns["sgd_update"](w, dw, 0.3), w - 0.3 * dw, rtol=1e-14)
    w_new, v_new = ns["momentum_update"](w, dw, v, 0.3, 0.9)
    np.testing.assert_allclose(v_new, 0.9 * v - 0.3 * dw, rtol=1e-14)
    np.testing.assert_allclose(w_new, w + v_new, rtol=1e-14)
    np.testing.assert_allclose(ns["momentum_update"](w, dw, v, 0.3, 0.0)[0], ns["sgd_update"](w, dw, 0.3), rtol=1e-14)
    w_adam, m_adam, s_adam = ns["adam_update"](w, dw, m, s, 4, 0.01, 0.8, 0.95, 1e-6)
    np.testing.assert_allclose(m_adam, 0.8 * m + 0.2 * dw, rtol=1e-14)
    np.testing.assert_allclose(s_adam, 0.95 * s + 0.05 * dw**2, rtol=1e-14)
    step = 0.01 * (m_adam / (1 - 0.8**4)) / (np.sqrt(s_adam / (1 - 0.95**4)) + 1e-6)
    np.testing.assert_allclose(w_adam, w - step, rtol=1e-13)
    # Adam's first step from zero averages is -lr * sign(g), whatever the gradient's size.
    first = ns["adam_update"](np.zeros(4), np.array([1e-3, -5.0, 200.0, -0.1]), np.zeros(4), np.zeros(4), 1, 0.1)[0]
    np.testing.assert_allclose(first, [-0.1, 0.1, -0.1, 0.1], rtol=1e-4)


@pytest.mark.parametrize(("seed", "shape", "delta"), [(41, (6, 3), 1.0), (42, (2, 5), 0.3), (43, (9, 1), 2.5)])
def test_huber_gradient_is_the_clipped_residual(ns, seed, shape, delta):
    r = np.random.default_rng(seed)
    target = r.standard_normal(shape)
    pred = target + 2.0 * r.standard_normal(shape)
    n = shape[0]

    def independent():  # h(r) = min(|r|, delta)^2 / 2 + delta * (|r| - min(|r|, delta))
        a = np.abs(pred - target)
        inner = np.minimum(a, delta)
        return np.sum(0.5 * inner**2 + delta * (a - inner)) / n

    loss, cache = ns["huber_forward"](pred, target, delta)
    assert loss == pytest.approx(independent(), rel=1e-12)
    gradient = ns["huber_backward"](1.0, cache)
    np.testing.assert_allclose(gradient, np.clip(pred - target, -delta, delta) / n, rtol=1e-13)
    assert rel_error(gradient, numerical_gradient(independent, pred)) < TOL


# --- the students' slips fail --------------------------------------------------------------------

SQUARED_LOSS_GRADIENT = """
def huber_forward(pred, target, delta):
    r = pred - target
    losses = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    return float(np.sum(losses) / pred.shape[0]), (r, delta)


def huber_backward(dloss, cache):
    r, delta = cache
    return dloss * r / r.shape[0]
"""

# The reference's network_loss with the dropout mask forgotten on the way back.
NO_MASK_ON_THE_WAY_BACK = """
def network_loss(layers, X, Y, lam=0.0, p_drop=0.0, rng=None):
    rng = np.random.default_rng(rng)
    A, loss, caches = X, 0.0, []
    for i, (W, b) in enumerate(layers):
        Z, dense_cache = dense_forward(A, W, b)
        penalty, l2_cache = l2_forward(W, lam)
        loss += penalty
        relu_cache = None
        if i < len(layers) - 1:
            A, relu_cache = relu_forward(Z)
            if p_drop > 0:
                A, _ = dropout_forward(A, p_drop, rng)
        caches.append((dense_cache, l2_cache, relu_cache))
    data_loss, ce_cache = softmax_ce_forward(Z, Y)
    grads, dZ = [None] * len(layers), softmax_ce_backward(1.0, ce_cache)
    for i in reversed(range(len(layers))):
        dA, dW, db = dense_backward(dZ, caches[i][0])
        grads[i] = (dW + l2_backward(1.0, caches[i][1]), db)
        if i > 0:
            dZ = relu_backward(dA, caches[i - 1][2])
    return float(loss + data_loss), grads
"""

# Right for the one-hidden-layer network of the visible tests, and for no other depth.
TWO_LAYERS_ONLY = """
def network_loss(layers, X, Y, lam=0.0, p_drop=0.0, rng=None):
    (W1, b1), (W2, b2) = layers
    Z1, c1 = dense_forward(X, W1, b1)
    A1, r1 = relu_forward(Z1)
    d1 = None
    if p_drop > 0:
        A1, d1 = dropout_forward(A1, p_drop, np.random.default_rng(rng))
    Z2, c2 = dense_forward(A1, W2, b2)
    loss, ce = softmax_ce_forward(Z2, Y)
    loss += lam * (np.sum(W1**2) + np.sum(W2**2))
    dA1, dW2, db2 = dense_backward(softmax_ce_backward(1.0, ce), c2)
    if d1 is not None:
        dA1 = dropout_backward(dA1, d1)
    _, dW1, db1 = dense_backward(relu_backward(dA1, r1), c1)
    return float(loss), [(dW1 + 2 * lam * W1, db1), (dW2 + 2 * lam * W2, db2)]
"""


def test_the_squared_loss_gradient_fails_the_huber_exercise(reference):
    run = run_notebook(NOTEBOOK, replace={"capstone_huber": SQUARED_LOSS_GRADIENT}, demos=False)
    assert not run.passed("test_capstone_huber")
    assert "central differences of your loss" in str(run.grades["test_capstone_huber"])
    assert run.passed("test_capstone_network")


def test_a_mask_forgotten_on_the_way_back_fails_the_gradient_check(reference):
    run = run_notebook(NOTEBOOK, replace={"capstone_network": NO_MASK_ON_THE_WAY_BACK}, demos=False)
    assert not run.passed("test_capstone_network")
    assert "relative error" in str(run.grades["test_capstone_network"])


def test_a_network_of_one_depth_only_passes_the_visible_tests_and_fails_the_hidden_ones(reference):
    visible = visible_only(NOTEBOOK)["test_capstone_network"]
    replace = {"capstone_network": TWO_LAYERS_ONLY}
    assert run_notebook(NOTEBOOK, replace={**replace, "test_capstone_network": visible}, demos=False).passed(
        "test_capstone_network"
    )
    run = run_notebook(NOTEBOOK, replace=replace, expected=reference.records, demos=False)
    assert not run.passed("test_capstone_network")


# --- what the notebook demonstrates and states -----------------------------------------------------


def test_the_initial_loss_is_about_ln_10(ns):
    assert ns["initial_loss"] == pytest.approx(np.log(10), abs=0.01)
    digits = load_digits_split(test_size=0.3, seed=0)
    layers = ns["init_network"]((64, 100, 10), seed=0)
    Y = one_hot(digits.y_train)
    assert ns["initial_loss"] == pytest.approx(independent_loss(layers, digits.X_train, Y, 0.0, 0.0, 0), rel=1e-12)
    stated = f"{ns['initial_loss']:.3f}"
    assert f"strata na starcie wynosi {stated}" in markdown("pl") and f"initial loss is {stated}" in markdown("en")


def test_twenty_examples_are_overfitted(ns):
    assert ns["overfit_history"][-1] < 1e-3
    assert ns["twenty_accuracy"] == 1.0


def test_dropout_spoils_the_gradient_check_only_with_a_changing_mask(ns):
    layers = [(W.copy(), b.copy()) for W, b in ns["net_check"]]  # perturbed below: the run stays untouched
    X, Y = ns["X_check"], ns["Y_check"]
    network_loss, W = ns["network_loss"], layers[0][0]
    shared = np.random.default_rng(3)
    changing = rel_error(
        network_loss(layers, X, Y, 0.0, 0.5, shared)[1][0][0],
        numerical_gradient(lambda: network_loss(layers, X, Y, 0.0, 0.5, shared)[0], W),
    )
    fixed = rel_error(
        network_loss(layers, X, Y, 0.0, 0.5, 8)[1][0][0],
        numerical_gradient(lambda: network_loss(layers, X, Y, 0.0, 0.5, 8)[0], W),
    )
    assert changing > 0.1 and fixed < TOL


def test_the_gradient_check_error_against_h_is_v_shaped(ns):
    steps, errors = ns["steps_h"], ns["errors_h"]
    good = (steps <= 1e-4) & (steps >= 1e-7)
    assert np.all(errors[good] < TOL), "a step between 1e-4 and 1e-7 passes the check"
    assert errors[0] > 1e-3, "h = 0.1 jumps across ReLU's kinks"
    assert errors[-1] > TOL, "h = 1e-10 drowns in rounding"
    bottom = int(np.argmin(errors))
    assert 1e-6 <= steps[bottom] <= 1e-4
    assert np.all(np.diff(np.log(errors[3 : bottom + 1])) < 0) and np.all(np.diff(np.log(errors[bottom:])) > 0)


def stated_accuracies(text: str, pattern: str) -> list[tuple[float, int]]:
    found = re.search(pattern, text)
    assert found, f"the text no longer states the accuracies as {pattern!r}"
    numbers = found.groups()
    return [(float(numbers[i]), int(numbers[i + 1])) for i in range(0, len(numbers), 2)]


def test_training_reaches_the_held_out_accuracies_the_text_states(ns):
    """Seeded, on one BLAS thread: the run gives the same numbers every time on this kind of machine."""
    assert ns["X_test"].shape == (N_HELD_OUT, 64)
    digits = load_digits_split(test_size=0.3, seed=0)
    np.testing.assert_array_equal(ns["y_test"], digits.y_test)
    en = stated_accuracies(
        markdown("en"),
        r"Adam recognises \*\*(\d+\.\d)%\*\* of the held-out digits \((\d+) of 540.*?"
        r"momentum (\d+\.\d)% \((\d+)\), SGD (\d+\.\d)% \((\d+)\)",
    )
    pl = stated_accuracies(
        markdown("pl"),
        r"Adamem rozpoznaje na odłożonym zbiorze \*\*(\d+\.\d)%\*\* cyfr \((\d+) z 540.*?"
        r"momentum (\d+\.\d)% \((\d+)\), SGD (\d+\.\d)% \((\d+)\)",
    )
    assert pl == en
    reached = [ns["test_accuracy"]] + [ns["runs"][rule][1]["accuracy"][-1] for rule in ("momentum", "sgd")]
    assert ns["test_accuracy"] == ns["runs"]["adam"][1]["accuracy"][-1]
    for (percent, correct), accuracy in zip(en, reached):
        assert percent == pytest.approx(100 * correct / N_HELD_OUT, abs=0.05), "the stated percent and count disagree"
        assert round(accuracy * N_HELD_OUT) >= correct, f"stated {correct} of {N_HELD_OUT}, reached {accuracy:.4f}"
    assert ns["test_accuracy"] >= 0.97


def test_momentum_and_adam_catch_up_with_sgd_when_the_text_says(ns):
    found = re.search(r"SGD has after 30 epochs, momentum reaches after (\d+) and Adam after (\d+)\.", markdown("en"))
    assert found and f"momentum osiąga po {found[1]}, a Adam po {found[2]}." in markdown("pl")
    sgd = ns["runs"]["sgd"][1]
    for rule, stated in (("momentum", int(found[1])), ("adam", int(found[2]))):
        history = ns["runs"][rule][1]
        as_good = [
            loss <= sgd["loss"][-1] and accuracy >= sgd["accuracy"][-1]
            for loss, accuracy in zip(
                np.minimum.accumulate(history["loss"]), np.maximum.accumulate(history["accuracy"])
            )
        ]
        assert as_good.index(True) + 1 == stated, (
            f"{rule} first matches SGD's last epoch after {as_good.index(True) + 1}"
        )
