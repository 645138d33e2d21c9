"""The example network and the seeded random networks the hidden tests use."""

import numpy as np
import pytest

from course.networks import example_batch, example_network, example_single, random_data, random_network


def test_example_network_is_3_4_2_3_and_fresh_each_time():
    layers = example_network()
    assert [W.shape for W, _ in layers] == [(3, 4), (4, 2), (2, 3)]
    assert [b.shape for _, b in layers] == [(4,), (2,), (3,)]
    layers[0][0][0, 0] = 99.0
    assert example_network()[0][0][0, 0] == 0.1


def test_example_data_shapes():
    x, y = example_single()
    X, Y = example_batch()
    assert x.shape == y.shape == (3,)
    assert X.shape == Y.shape == (2, 3)
    np.testing.assert_array_equal(X[0], x)


def test_random_network_is_reproducible_and_seed_dependent():
    a, b, c = random_network([4, 3, 2], 1), random_network([4, 3, 2], 1), random_network([4, 3, 2], 2)
    assert [W.shape for W, _ in a] == [(4, 3), (3, 2)]
    for (Wa, ba), (Wb, bb) in zip(a, b):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    assert not np.allclose(a[0][0], c[0][0])


def test_random_data_targets_are_valid_sigmoid_outputs():
    X, Y = random_data(5, 3, 10, seed=0)
    assert X.shape == (10, 5) and Y.shape == (10, 3)
    assert ((Y > 0) & (Y < 1)).all()


@pytest.mark.parametrize("sizes", [[3], [], [3, 0, 2]])
def test_bad_sizes_are_rejected(sizes):
    with pytest.raises(ValueError, match="at least two positive widths"):
        random_network(sizes, 0)
