"""The digits split every notebook, test and benchmark shares: bundled, scaled, seeded, stratified."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course.datasets import N_CLASSES, N_PIXELS, load_digits_split, one_hot


def test_split_sizes_scaling_and_types():
    split = load_digits_split(test_size=0.3, seed=0)
    assert split.X_train.shape == (1257, N_PIXELS) and split.X_test.shape == (540, N_PIXELS)
    assert split.y_train.shape == (1257,) and split.y_test.shape == (540,)
    assert split.X_train.dtype == np.float64 and np.issubdtype(split.y_train.dtype, np.integer)
    both = np.concatenate([split.X_train, split.X_test])
    assert both.min() == 0.0 and both.max() == 1.0


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    a, b = load_digits_split(seed=0), load_digits_split(seed=0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.y_test, load_digits_split(seed=1).y_test)


def test_the_split_is_stratified_and_disjoint():
    split = load_digits_split(test_size=0.3, seed=0)
    train_share = np.bincount(split.y_train, minlength=N_CLASSES) / split.y_train.size
    test_share = np.bincount(split.y_test, minlength=N_CLASSES) / split.y_test.size
    np.testing.assert_allclose(train_share, test_share, atol=0.01)
    train_rows = {row.tobytes() for row in split.X_train}
    overlap = sum(row.tobytes() in train_rows for row in split.X_test)
    assert overlap <= 5, "the digits data has a few duplicate images, not more"


def test_test_size_must_be_a_fraction():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_digits_split(test_size=1.0)


def test_one_hot_is_a_plain_array_that_slices_like_one():
    Y = one_hot(np.array([2, 0, 9]))
    assert isinstance(Y, np.ndarray) and Y.shape == (3, 10) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y.argmax(axis=1), [2, 0, 9])
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    assert Y[:, 1:].shape == (3, 9)
    np.testing.assert_array_equal(one_hot(np.array([1, 0]), 3), [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("labels", [np.array([0, 10]), np.array([-1]), np.array([0.0, 1.0]), np.array([[0, 1]])])
def test_one_hot_rejects_what_it_cannot_encode(labels):
    with pytest.raises(ValueError):
        one_hot(labels)


def test_importing_the_module_leaves_scikit_learn_for_when_the_digits_are_loaded():
    """Graded cells import the module for one_hot; only the skipped demonstrations load the digits."""
    code = "import sys, course.datasets; print('sklearn' in sys.modules)"
    course_root = Path(__file__).parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=course_root, check=True)
    assert result.stdout.strip() == "False"
