"""Parameters of the small sigmoid networks the notebooks differentiate.

A network is a list of ``(W, b)`` layers, ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape
``(n_out,)``, applied to row vectors as ``a @ W + b``. The example network is the one whose
figures the course prints; ``random_network`` builds others, so that hidden tests can grade a
student's functions on networks the student has never seen.
"""

import numpy as np

Layers = list[tuple[np.ndarray, np.ndarray]]


def example_network() -> Layers:
    """The 3-4-2-3 network of notebook 02 (fresh arrays, safe to modify)."""
    W1 = np.array([[0.1, 0.1, 0.1, 0.1], [-0.1, 0.1, 0.2, 0.1], [0.1, 0.2, 0.1, 0.1]])
    b1 = np.array([0.2, -0.2, 0.2, 0.2])
    W2 = np.array([[-0.2, 0.2], [0.2, 0.2], [0.2, -0.2], [0.12, 0.2]])
    b2 = np.array([0.4, 0.4])
    W3 = np.array([[-0.3, 0.3, 0.13], [0.3, 0.3, 0.3]])
    b3 = np.array([0.16, -0.6, 0.6])
    return [(W1, b1), (W2, b2), (W3, b3)]


def example_single() -> tuple[np.ndarray, np.ndarray]:
    """The single training example ``(x, y)`` of notebook 02."""
    return np.array([1.0, 0.3, 0.2]), np.array([0.1, 0.2, 0.1])


def example_batch() -> tuple[np.ndarray, np.ndarray]:
    """The two-example batch ``(X, Y)`` of notebook 02, one example per row."""
    X = np.array([[1.0, 0.3, 0.2], [0.1, 0.2, 0.1]])
    Y = np.array([[0.1, 0.2, 0.1], [0.2, 0.1, 0.2]])
    return X, Y


def random_network(sizes: list[int], seed: int, scale: float = 1.0) -> Layers:
    """A reproducible network with layer widths ``sizes`` (input first).

    Weights and biases are seeded normal draws of standard deviation ``scale``. The default
    keeps the first layer's gradients of a four-layer sigmoid network near 1e-5 rather than
    1e-6, far enough above the central difference's rounding noise for a sharp check.
    """
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"sizes must list at least two positive widths, got {sizes!r}")
    rng = np.random.default_rng(seed)
    return [
        (scale * rng.standard_normal((n_in, n_out)), scale * rng.standard_normal(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]


def random_data(n_in: int, n_out: int, n_examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded inputs ``X`` (standard normal) and targets ``Y`` (in (0, 1), like sigmoid outputs)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_examples, n_in)), rng.uniform(0.05, 0.95, (n_examples, n_out))
