"""Pictures of fully connected networks, drawn with matplotlib.

Drawn by code rather than pasted as images, so the figure always matches the layer sizes the
notebook actually uses and nothing is lost when a notebook is released or converted.
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes


def draw_network(
    sizes: Sequence[int],
    ax: Axes | None = None,
    layer_labels: Sequence[str] | None = None,
    node_color: str = "#9ecae1",
) -> Axes:
    """Draw a dense network: one column of neurons per layer, every edge between columns.

    ``sizes`` lists the layer widths, input first; ``layer_labels`` (one per layer) is written
    under each column, e.g. ``["$x$", "$y^1$", "$y^2$", "$y^3$"]``. Returns the axes drawn on.
    """
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"sizes must list at least two positive widths, got {list(sizes)!r}")
    if layer_labels is not None and len(layer_labels) != len(sizes):
        raise ValueError(f"{len(layer_labels)} labels for {len(sizes)} layers")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.8 * len(sizes) + 1, 0.8 * max(sizes) + 1.5))

    tallest = max(sizes)

    def positions(layer: int) -> list[tuple[float, float]]:
        n = sizes[layer]
        offset = (tallest - n) / 2
        return [(float(layer), tallest - 1 - offset - i) for i in range(n)]

    for layer in range(len(sizes) - 1):
        for x0, y0 in positions(layer):
            for x1, y1 in positions(layer + 1):
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.8, zorder=1)
    for layer in range(len(sizes)):
        for x, y in positions(layer):
            ax.add_patch(plt.Circle((x, y), 0.22, facecolor=node_color, edgecolor="0.2", zorder=2))
        if layer_labels is not None:
            ax.text(layer, -0.9, layer_labels[layer], ha="center", va="top", fontsize=13)

    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.set_ylim(-1.6 if layer_labels is not None else -0.6, tallest - 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
