"""Pictures of fully connected networks and of computational graphs, drawn with matplotlib.

Drawn by code rather than pasted as images, so the figure always matches the layer sizes the
notebook actually uses and nothing is lost when a notebook is released or converted.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
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


# A node of a computational graph: its position (x, y), its label and the value the forward pass
# gave it (None: no value is printed).
Node = tuple[tuple[float, float], str, float | None]


def draw_computational_graph(
    nodes: Mapping[str, Node],
    edges: Sequence[tuple[str, str, str]],
    ax: Axes | None = None,
    radius: float = 0.45,
) -> Axes:
    """Draw a computational graph: a circle per value, an arrow per dependency.

    ``nodes`` maps a name to ``((x, y), label, value)``; ``edges`` lists ``(start, end, label)``,
    an arrow from the node ``start`` to the node ``end`` it feeds, with ``label`` (usually the
    local derivative d end / d start) written beside it. Nodes no arrow enters (the inputs and
    parameters) are orange with their value above them, the others blue with their value below.
    Returns the axes drawn on.
    """
    unknown = sorted({name for start, end, _ in edges for name in (start, end)} - set(nodes))
    if unknown:
        raise ValueError(f"edges name nodes that do not exist: {unknown}")
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.6))
    entered = {end for _, end, _ in edges}
    for name, ((cx, cy), label, value) in nodes.items():
        leaf = name not in entered
        color = "#fdd0a2" if leaf else "#9ecae1"
        ax.add_patch(plt.Circle((cx, cy), radius, facecolor=color, edgecolor="0.2", zorder=2))
        ax.text(cx, cy, label, ha="center", va="center", fontsize=14, zorder=3)
        if value is not None:
            where = (cy + radius + 0.1, "bottom") if leaf else (cy - radius - 0.12, "top")
            ax.text(cx, where[0], f"{value:.6g}", ha="center", va=where[1], fontsize=9, color="0.3")
    for start, end, label in edges:
        (x0, y0), (x1, y1) = nodes[start][0], nodes[end][0]
        length = float(np.hypot(x1 - x0, y1 - y0))
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        ax.annotate(
            "",
            xy=(x1 - radius * ux, y1 - radius * uy),
            xytext=(x0 + radius * ux, y0 + radius * uy),
            arrowprops={"arrowstyle": "-|>", "color": "0.25", "lw": 1.2, "mutation_scale": 14},
            zorder=1,
        )
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        if y0 == y1:
            ax.text(mx, my + 0.12, label, ha="center", va="bottom", fontsize=12, color="#b30000")
        else:
            ax.text(mx + 0.12, my, label, ha="left", va="center", fontsize=12, color="#b30000")
    xs = [x for (x, _), _, _ in nodes.values()]
    ys = [y for (_, y), _, _ in nodes.values()]
    ax.set_xlim(min(xs) - radius - 0.25, max(xs) + radius + 0.25)
    ax.set_ylim(min(ys) - radius - 0.75, max(ys) + radius + 0.65)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
