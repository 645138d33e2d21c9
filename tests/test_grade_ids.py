"""The grading contract of every notebook: which grade cells exist, in which order, worth what.

grade_ids and points must stay stable once students have submitted: the gradebook keys every
score by them. This manifest changes only on purpose, in the same commit as the notebook.
"""

import nbformat
import pytest

from tests.support.nbrun import nbgrader_meta, source_notebooks

GRADE_CELLS = {
    "01_chain_rule": {
        "test_chain_cos_exp": 1,
        "test_chain_sympy_diff": 2,
        "test_chain_sigmoid_grad": 2,
        "test_chain_sigmoid_step": 1,
        "test_chain_tanh_step": 2,
        "test_chain_matrix_grads": 3,
        "test_chain_matrix_step": 1,
        "test_chain_gradient": 1,
        "test_chain_jacobian": 2,
        "test_chain_relu_neuron": 2,
    },
    "02_backprop_network": {
        "test_backprop_forward": 2,
        "test_backprop_mse_loss": 1,
        "test_backprop_output_delta": 1,
        "test_backprop_hidden_delta": 2,
        "test_backprop_layer_gradients": 1,
        "test_backprop_gradients": 3,
        "test_backprop_batch_broadcast": 2,
        "test_backprop_batch_matmul": 2,
    },
    "03_layers_softmax_dropout": {
        "test_layers_dense_backward": 3,
        "test_layers_relu_backward": 2,
        "test_layers_cce": 2,
        "test_layers_softmax": 2,
        "test_layers_softmax_jacobian": 3,
        "test_layers_softmax_cce": 2,
        "test_layers_penalties": 2,
        "test_layers_dropout": 3,
    },
    "04_outer_product": {
        "test_outer_loops": 2,
        "test_outer_broadcast": 2,
        "test_outer_rank_one": 2,
        "test_outer_einsum": 3,
    },
    "05_training_loop": {
        "test_training_forward": 2,
        "test_training_cost": 1,
        "test_training_backward": 4,
        "test_training_step": 1,
        "test_training_epoch": 3,
    },
    "06_classifier_gradient_check": {
        "test_classifier_sigmoid": 1,
        "test_classifier_pack_unpack": 2,
        "test_classifier_cost": 3,
        "test_classifier_gradient": 4,
        "test_classifier_gradient_checker": 2,
        "test_classifier_gradient_loop": 2,
        "test_classifier_init": 1,
        "test_classifier_predict": 1,
    },
    "07_autodiff_engine": {
        "test_autodiff_arithmetic": 2,
        "test_autodiff_pow_exp_log": 2,
        "test_autodiff_tanh_sigmoid": 1,
        "test_autodiff_softplus": 2,
        "test_autodiff_topological_order": 2,
        "test_autodiff_backpropagate": 2,
        "test_autodiff_engine": 1,
        "test_autodiff_network": 3,
    },
    "08_modular_capstone": {
        "test_capstone_dense": 2,
        "test_capstone_relu": 1,
        "test_capstone_dropout": 2,
        "test_capstone_softmax_ce": 2,
        "test_capstone_l2": 1,
        "test_capstone_network": 3,
        "test_capstone_sgd_momentum": 2,
        "test_capstone_adam": 2,
        "test_capstone_huber": 3,
    },
}


def test_every_notebook_has_a_manifest():
    assert {p.parent.name for p in source_notebooks()} == set(GRADE_CELLS)


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name)
def test_grade_cells_points_and_order_are_stable(path):
    notebook = nbformat.read(path, as_version=4)
    points = {m["grade_id"]: m["points"] for m in map(nbgrader_meta, notebook.cells) if m.get("grade")}
    expected = GRADE_CELLS[path.parent.name]
    assert list(points) == list(expected), "grade cells were added, removed, renamed or reordered"
    assert points == expected, "points changed"
    solutions = [m["grade_id"] for m in map(nbgrader_meta, notebook.cells) if m.get("solution")]
    ungraded = [s for s in solutions if f"test_{s}" not in expected]
    assert not ungraded, f"each exercise `X` is graded by a cell `test_X`: {ungraded} are not"
