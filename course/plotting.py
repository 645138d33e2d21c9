"""Pictures of a training run: the cost curve and what a model of two inputs has learned.

Both training notebooks draw these figures; keeping them here keeps the notebooks about the
gradients, and gives every cost curve the same look (a log scale, where the slow tail of
gradient descent is still visible) and every 2-D map the same extent and colours.
"""

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_costs(
    costs: Sequence[float],
    ax: Axes | None = None,
    label: str | None = None,
    xlabel: str = "epoka / epoch",
    log: bool = True,
) -> Axes:
    """Plot one loss (or cost) per epoch (or per iteration) against its index, starting at 1.

    The axis labels are in Polish and English, as the course's figures are.

    A log scale is the default because a cost that falls from 0.1 to 0.001 looks flat after
    the first tenth of a linear plot. Call again on the same ``ax`` to compare runs; a
    ``label`` adds a legend entry.
    """
    values = np.asarray(costs, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"costs must be a non-empty sequence of numbers, got shape {values.shape}")
    if log and np.any(values <= 0):
        raise ValueError("a log-scale cost curve needs positive costs; pass log=False")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, values.size + 1), values, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("strata / loss")
    if label is not None:
        ax.legend()
    return ax


def plot_decision_map(
    predict: Callable[[np.ndarray], np.ndarray],
    ax: Axes | None = None,
    extent: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0),
    resolution: int = 150,
    threshold: float = 0.5,
) -> Axes:
    """Colour the plane by a model's output in [0, 1] and draw the line where it crosses ``threshold``.

    ``predict`` maps an ``(n, 2)`` array of points to ``n`` outputs (any shape with ``n``
    elements, e.g. ``(n, 1)``). The picture shows at once what was learned: the colour is the
    model's confidence, the black line its decision boundary.
    """
    x_min, x_max, y_min, y_max = extent
    xs, ys = np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    values = np.asarray(predict(points), dtype=float)
    if values.size != points.shape[0]:
        raise ValueError(f"predict returned {values.size} values for {points.shape[0]} points")
    image = values.reshape(grid_x.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    mappable = ax.imshow(image, origin="lower", extent=extent, cmap="RdBu_r", vmin=0.0, vmax=1.0, aspect="auto")
    if image.min() < threshold < image.max():
        ax.contour(grid_x, grid_y, image, levels=[threshold], colors="black", linewidths=1.5)
    ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax
