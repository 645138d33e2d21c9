"""Central-difference gradients: the independent route every analytic gradient is checked by.

Backpropagation is easy to get almost right. Comparing it with
``(f(x + h) - f(x - h)) / 2h``, whose error is O(h^2), catches a missing factor or a wrong
transpose at once; in float64 with ``h = 1e-5`` a correct gradient agrees to about 1e-8 or better.
"""

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of the scalar ``f()`` with respect to the array ``x``, by central differences.

    ``f`` takes no argument: it reads ``x`` (usually through a closure over the network), which
    is perturbed in place one entry at a time and always restored, even if ``f`` raises.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}: h=1e-5 would drown in rounding")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = float(f())
            x[index] = original - h
            f_minus = float(f())
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-300) -> float:
    """Relative error of two arrays as a whole: ``||a - b|| / (||a|| + ||b||)``.

    Measured on the whole array (as in Andrew Ng's ex4), not entry by entry: an entry that is
    almost zero is dominated by the rounding noise of the central difference, about
    ``eps * |f| / h``, and would report a large "relative" error for a correct gradient. The
    floor keeps two exact zeros from dividing by zero.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), floor))
