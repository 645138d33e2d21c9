"""Notebook 07 (an autodiff engine): every number the reference solution gives agrees with an
independent route: the rules with sympy's derivatives and central differences, the backward pass
with a linear solve of the chain rule on random graphs, the engine with central differences of
the same expressions written in plain floats, and the 3-4-2-3 network with gradients written by
hand in numpy and with notebook 02's figures. Then the classic slips (``=`` for ``+=``, the node
numbers taken for an order, a softplus derivative without its inner factor) fail the cells meant
to catch them, and the notebook's text says what the engine does.

That pasted numbers earn nothing and that the Polish and English cells pair up is checked for
every notebook by tests/test_pasted_answers.py and tests/test_notebook_hygiene.py."""

import math
import re

import nbformat
import numpy as np
import pytest
import sympy as sym

from course.gradcheck import numerical_gradient, rel_error
from course.graphs import random_graph
from course.networks import example_network, example_single, random_data, random_network
from tests.support.independent import sigmoid, sigmoid_network_output
from tests.support.nbrun import SOURCE, run_notebook

NOTEBOOK = SOURCE / "07_autodiff_engine" / "autodiff_engine.ipynb"
TOL = 1e-7

X, Y = sym.symbols("x y")
# Each rule, the formula it stands for, and its inputs (the exponent of pow_rule is fixed per case).
UNARY = {
    "exp_rule": sym.exp(X),
    "log_rule": sym.log(X),
    "tanh_rule": sym.tanh(X),
    "sigmoid_rule": 1 / (1 + sym.exp(-X)),
    "softplus_rule": sym.log(1 + sym.exp(X)),
}
BINARY = {"add_rule": X + Y, "sub_rule": X - Y, "mul_rule": X * Y, "div_rule": X / Y}


@pytest.fixture(scope="module")
def reference(reference_runs):
    run = reference_runs(NOTEBOOK)
    assert not run.failures(), f"the reference solution fails: {run.failures()}"
    return run.namespace


def central(f, point: float) -> float:
    """d f / dx at ``point`` by central differences (course.gradcheck), f a function of one float."""
    x = np.array([point])
    return float(numerical_gradient(lambda: f(float(x[0])), x)[0])


# --- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNARY))
def test_one_input_rules_agree_with_sympy_and_central_differences(reference, name):
    rule, formula = reference[name], UNARY[name]
    points = np.random.default_rng(71).uniform(0.2, 3.0, 6) * [1, -1, 1, -1, 1, 1]
    for point in points:
        point = abs(point) if name == "log_rule" else float(point)
        value, local = rule(point)
        assert len(local) == 1
        assert value == pytest.approx(float(formula.subs(X, point)), rel=1e-13)
        assert local[0] == pytest.approx(float(sym.diff(formula, X).subs(X, point)), rel=1e-12)
        assert abs(local[0] - central(lambda t: rule(t)[0], point)) <= TOL * abs(local[0])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_two_input_rules_agree_with_sympy(reference, name):
    rule, formula = reference[name], BINARY[name]
    for x, y in np.random.default_rng(72).uniform(0.3, 3.0, (5, 2)) * [[1, -1], [-1, 1], [1, 1], [-1, -1], [2, 1]]:
        at = {X: float(x), Y: float(y)}
        value, local = rule(float(x), float(y))
        assert value == pytest.approx(float(formula.subs(at)), rel=1e-13)
        expected = [float(sym.diff(formula, v).subs(at)) for v in (X, Y)]
        np.testing.assert_allclose(local, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("k", [3, 2.5, -1.5, 0.25, 1])
def test_the_power_rule_differentiates_by_the_base_only(reference, k):
    for point in (0.4, 1.7, 2.9):
        value, local = reference["pow_rule"](point, k)
        assert value == pytest.approx(point**k, rel=1e-14)
        assert local == pytest.approx((float(sym.diff(X**k, X).subs(X, point)),), rel=1e-12)


def test_the_softplus_derivative_is_the_sigmoid_and_stays_finite(reference):
    """What the student derives: d ln(1 + e^x)/dx = e^x / (1 + e^x) = sigma(x), never printed in the notebook."""
    for point in (-30.0, -4.0, 0.0, 2.5, 30.0):
        value, (slope,) = reference["softplus_rule"](point)
        assert slope == pytest.approx(float(sigmoid(point)), rel=1e-13)
        assert value == pytest.approx(math.log1p(math.exp(point)), rel=1e-13)
    exercise = [cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells if "softplus" in cell.source]
    assert exercise and not any(r"\sigma" in text or "}{1 + e^{x}}" in text for text in exercise)


# --- the backward pass on plain graphs --------------------------------------------------------------


def is_topological(children, order):
    position = {node: index for index, node in enumerate(order)}
    return all(position[c] < position[n] for n, node_children in enumerate(children) for c in node_children)


def depth_first_postorder(children):
    """The order the exercise asks for, written here without recursion (an explicit stack)."""
    order, visited, stack = [], {0}, [(0, iter(children[0]))]
    while stack:
        node, pending = stack[-1]
        child = next((c for c in pending if c not in visited), None)
        if child is None:
            order.append(node)
            stack.pop()
        else:
            visited.add(child)
            stack.append((child, iter(children[child])))
    return order


def chain_rule_by_linear_solve(children, local_grads):
    """dL/dv for every node from g = e_0 + A^T g, A[p, c] = sum of the local derivatives on edges p -> c."""
    n = len(children)
    A = np.zeros((n, n))
    for parent, (node_children, locals_) in enumerate(zip(children, local_grads)):
        for child, local in zip(node_children, locals_):
            A[parent, child] += local
    return np.linalg.solve(np.eye(n) - A.T, np.eye(n)[0])


@pytest.mark.parametrize(("n_nodes", "seed"), [(5, 1), (12, 2), (25, 3), (40, 4), (9, 705), (16, 706), (30, 707)])
def test_the_topological_order_is_the_depth_first_one(reference, n_nodes, seed):
    children, _ = random_graph(n_nodes, seed)
    order = reference["topological_order"](children)
    assert sorted(order) == list(range(n_nodes)) and order[-1] == 0
    assert is_topological(children, order)
    assert order == depth_first_postorder(children)


@pytest.mark.parametrize(("n_nodes", "seed"), [(4, 11), (8, 709), (15, 710), (25, 711), (35, 12)])
def test_backpropagate_solves_the_chain_rule_in_any_valid_order(reference, n_nodes, seed):
    children, built_order = random_graph(n_nodes, seed)
    rng = np.random.default_rng(seed)
    local_grads = [rng.uniform(-1.5, 1.5, len(c)).tolist() for c in children]
    expected = chain_rule_by_linear_solve(children, local_grads)
    for order in (built_order, reference["topological_order"](children)):
        got = reference["backpropagate"](children, local_grads, order)
        assert rel_error(got, expected) < 1e-12


def test_the_documented_graphs(reference):
    """The graphs the text describes are the ones graph_of writes down."""
    Value, graph_of = reference["Value"], reference["graph_of"]
    a = Value(0.3)
    b = a.exp()
    assert graph_of(b * b.tanh())[1] == [[1, 2], [3], [1], []]  # L = e^a tanh(e^a)
    a, b = Value(2.0), Value(3.0)
    f = (a + b) * b
    f.backward()
    assert (f.data, a.grad, b.grad) == (15.0, 3.0, 8.0)  # df/db = a + 2b
    for make, grad in [(lambda v: v * v, 6.0), (lambda v: v + v, 2.0)]:
        a = Value(3.0)
        out = make(a)
        out.backward()
        assert graph_of(out)[1][0] == [1, 1] and a.grad == grad


# --- the engine against plain floats ----------------------------------------------------------------


def four_input_expression(p, q, r, s, ops):
    """The hidden tests' kind of expression, for Values (ops = methods) or floats (ops = math)."""
    exp, log, tanh, sig, softplus = ops
    out = ((p * q - r / p) ** 2 + tanh(s * r) - sig(q + s) * log(p) + exp(s - p) / q) * (p + s)
    return out - 2.0 / (1.0 + s * s) + softplus(-q) * r**0.5


VALUE_OPS = tuple(lambda v, name=name: getattr(v, name)() for name in ("exp", "log", "tanh", "sigmoid", "softplus"))
FLOAT_OPS = (math.exp, math.log, math.tanh, lambda t: 1 / (1 + math.exp(-t)), lambda t: math.log1p(math.exp(t)))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_engine_gradients_match_central_differences_of_plain_floats(reference, seed):
    rng = np.random.default_rng(seed)
    inputs = np.concatenate([rng.uniform(0.5, 2.0, 3), rng.uniform(-1.0, 1.0, 1)])
    values = [reference["Value"](v) for v in inputs]
    out = four_input_expression(*values, VALUE_OPS)
    out.backward()
    assert out.data == pytest.approx(four_input_expression(*inputs, FLOAT_OPS), rel=1e-13)
    numeric = numerical_gradient(lambda: four_input_expression(*inputs, FLOAT_OPS), inputs)
    assert rel_error([v.grad for v in values], numeric) < TOL


def test_notebook_01_network_in_the_engine(reference):
    """dL/dw3 = 6.41630 and the step w = (0.999792, 1.77054, 2.35837) of notebook 01 (COURSE.md),
    and the gradient written by hand with the chain rule."""
    Value = reference["Value"]
    w = [Value(1.0), Value(2.0), Value(3.0)]
    loss = (w[2] * (w[1] * (w[0] * 10.0).sigmoid()).sigmoid() - (-1.0)) ** 2
    loss.backward()
    grads = np.array([v.grad for v in w])
    assert grads[2] == pytest.approx(6.41630, abs=5e-6)
    np.testing.assert_allclose(np.array([1.0, 2.0, 3.0]) - 0.1 * grads, [0.999792, 1.77054, 2.35837], atol=5e-6)
    u = sigmoid(10.0)
    z = sigmoid(2.0 * u)
    d_out = 2 * (3.0 * z + 1.0)
    d_a2 = d_out * 3.0 * z * (1 - z)
    by_hand = [d_a2 * 2.0 * u * (1 - u) * 10.0, d_a2 * u, d_out * z]
    assert rel_error(grads, by_hand) < 1e-12
    assert reference["w3"].grad == pytest.approx(6.41630, abs=5e-6)  # the figure's network (a demonstration)


# --- notebook 02's network ----------------------------------------------------------------------------


def hand_written_gradients(layers, x, y):
    """Notebook 02's backpropagation written once more, independently: deltas from the last layer back."""
    activations = [x]
    for W, b in layers:
        activations.append(sigmoid(activations[-1] @ W + b))
    out = activations[-1]
    delta = 2.0 / y.size * (out - y) * out * (1.0 - out)
    grads = []
    for layer in range(len(layers), 0, -1):
        grads.append((np.outer(activations[layer - 1], delta), delta))
        if layer > 1:
            a = activations[layer - 1]
            delta = (layers[layer - 1][0] @ delta) * a * (1.0 - a)
    return grads[::-1]


NETWORKS = [("example", None), ([3, 4, 2, 3], 21), ([2, 5, 1], 22), ([4, 3, 3, 2, 2], 23), ([3, 2], 24)]


@pytest.mark.parametrize(("sizes", "seed"), NETWORKS)
def test_network_gradients_match_hand_written_backprop_and_central_differences(reference, sizes, seed):
    if sizes == "example":
        layers, (x, y) = example_network(), example_single()
    else:
        layers = random_network(sizes, seed)
        X_data, Y_data = random_data(sizes[0], sizes[-1], 1, seed + 100)
        x, y = X_data[0], Y_data[0]
    loss, grads = reference["network_gradients"](x, y, layers)
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.mean((sigmoid_network_output(layers, x) - y) ** 2), rel=1e-13)
    mse = lambda: np.mean((sigmoid_network_output(layers, x) - y) ** 2)  # noqa: E731
    for (dW, db), (hW, hb), (W, b) in zip(grads, hand_written_gradients(layers, x, y), layers):
        assert dW.dtype == np.float64 and dW.shape == W.shape and db.shape == b.shape
        assert rel_error(dW, hW) < 1e-12 and rel_error(db, hb) < 1e-12
        assert rel_error(dW, numerical_gradient(mse, W)) < TOL
        assert rel_error(db, numerical_gradient(mse, b)) < TOL


def test_the_course_figures_of_notebook_02(reference):
    """COURSE.md's numbers for notebook 02's single example, reproduced by the engine."""
    loss, ((dW1, db1), (_, db2), (_, db3)) = reference["network_gradients"](*example_single(), example_network())
    assert loss == pytest.approx(0.2075457335, abs=5e-11)
    np.testing.assert_allclose(dW1[0], [0.0006476155, 0.0006892113, -0.0006380164, 0.0006632387], atol=5e-11)
    np.testing.assert_allclose(db1, dW1[0], rtol=1e-14)
    np.testing.assert_allclose(db2, [0.0002803902, 0.0135069366], atol=5e-11)
    np.testing.assert_allclose(db3, [0.0729445018, 0.0406651884, 0.0838465614], atol=5e-11)


# --- the classic slips fail the cells meant to catch them ----------------------------------------------

OVERWRITING_BACKPROPAGATE = """
def backpropagate(children, local_grads, order):
    grads = [0.0] * len(children)
    grads[0] = 1.0
    for node in reversed(order):
        for child, local in zip(children[node], local_grads[node]):
            grads[child] = grads[node] * local
    return grads
"""

NUMBERS_AS_ORDER = """
def backpropagate(children, local_grads, order):
    grads = [0.0] * len(children)
    grads[0] = 1.0
    for node in range(len(children)):
        for child, local in zip(children[node], local_grads[node]):
            grads[child] += grads[node] * local
    return grads
"""

KAHN_ORDER = """
def topological_order(children):
    parents = [0] * len(children)
    for node_children in children:
        for child in dict.fromkeys(node_children):
            parents[child] += 1
    ready, order = [0], []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in dict.fromkeys(children[node]):
            parents[child] -= 1
            if parents[child] == 0:
                ready.append(child)
    return order[::-1]
"""

SOFTPLUS_WITHOUT_INNER_FACTOR = """
def softplus_rule(x):
    return math.log1p(math.exp(x)), (1.0 / (1.0 + math.exp(x)),)
"""


def test_overwriting_instead_of_summing_fails_backpropagate_and_the_engine():
    run = run_notebook(NOTEBOOK, replace={"autodiff_backpropagate": OVERWRITING_BACKPROPAGATE}, demos=False)
    assert not run.passed("test_autodiff_backpropagate")
    assert "= instead of +=" in str(run.grades["test_autodiff_backpropagate"])
    assert not run.passed("test_autodiff_engine") and not run.passed("test_autodiff_network")
    assert "= instead of +=" in str(run.grades["test_autodiff_engine"])
    assert run.passed("test_autodiff_arithmetic") and run.passed("test_autodiff_topological_order")


def test_walking_the_node_numbers_instead_of_the_order_fails_backpropagate():
    run = run_notebook(NOTEBOOK, replace={"autodiff_backpropagate": NUMBERS_AS_ORDER}, demos=False)
    assert not run.passed("test_autodiff_backpropagate")
    assert "reversed(order), not the node numbers" in str(run.grades["test_autodiff_backpropagate"])


def test_another_valid_order_fails_only_the_exercise_that_asks_for_depth_first(reference):
    """Any topological order gives the same gradients; only exercise 5 asks for the depth-first one."""
    run = run_notebook(NOTEBOOK, replace={"autodiff_topological_order": KAHN_ORDER}, demos=False)
    assert not run.passed("test_autodiff_topological_order")
    assert run.passed("test_autodiff_engine") and run.passed("test_autodiff_network")


def test_a_softplus_derivative_without_the_inner_factor_fails_its_gradient_check():
    run = run_notebook(NOTEBOOK, replace={"autodiff_softplus": SOFTPLUS_WITHOUT_INNER_FACTOR}, demos=False)
    assert not run.passed("test_autodiff_softplus")
    assert "central difference of your softplus" in str(run.grades["test_autodiff_softplus"])


# --- what the demonstrations show ------------------------------------------------------------------------


def test_the_demonstrations_print_what_the_text_promises(reference_runs):
    printed = reference_runs(NOTEBOOK).stdout
    assert "relative error of your derivative on [-6, 6]: " in printed
    assert "with +=: a.grad = 6.0" in printed and "with = it would be 3.0" in printed
    assert "with +=: a.grad = 2.0" in printed and "with = it would be 1.0" in printed
    timings = [line.split() for line in printed.splitlines() if line.strip().startswith(("10 ", "30 ", "100 "))]
    assert len(timings) == 3 and max(float(row[-1]) for row in timings) < TOL  # both routes give one gradient
    checks = [line for line in printed.splitlines() if line.startswith("layer ")]
    assert len(checks) == 3
    for line in checks:
        errors = [float(error) for error in re.findall(r"(?:dW|db) ([0-9.]+e-[0-9]+)", line)]
        assert len(errors) == 2 and max(errors) < TOL
