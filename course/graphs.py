"""Computational graphs as plain lists: seeded random ones for hidden tests, and their picture.

A graph of ``n`` nodes is numbered ``0 .. n - 1``, node 0 being the output; ``children[i]`` lists
the numbers of the nodes node ``i`` was computed from (a child used twice, as in ``x * x``,
appears twice). Plain lists rather than objects, so that a function of a graph can be called,
and checked, on any graph: notebook 07's engine hands its graphs to the student's functions in
this form, and ``random_graph`` builds others the student has never seen.
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

# Box size and column spacing in data units (about an inch each at the default figure size).
_BOX_WIDTH, _BOX_HEIGHT, _STEP = 1.75, 0.74, 2.4


def random_graph(n_nodes: int, seed: int, extra_edges: float = 0.25) -> tuple[list[list[int]], list[int]]:
    """A reproducible graph of ``n_nodes`` nodes: ``(children, order)``.

    Every node is reachable from node 0, the output, and there are no cycles. The numbers are
    shuffled, so they say nothing about which node is computed first; ``order``, the order the
    graph was built in (every node after all of its children, node 0 last), is one valid order
    for a test that needs one. ``extra_edges`` is the chance of each further edge beyond the one
    that keeps a node reachable; some nodes feed several others, and some a node twice.
    """
    if n_nodes < 1:
        raise ValueError(f"a graph needs at least one node, got {n_nodes}")
    rng = np.random.default_rng(seed)
    number = [0, *(1 + rng.permutation(n_nodes - 1)).tolist()]  # building position -> node number
    children: list[list[int]] = [[] for _ in range(n_nodes)]
    for position in range(1, n_nodes):
        parents = [int(rng.integers(position))]  # one parent built earlier keeps the node reachable
        parents += [p for p in range(position) if rng.random() < extra_edges]
        for parent in parents:
            children[number[parent]].append(number[position])
    for child_list in children:
        rng.shuffle(child_list)
    return children, [number[position] for position in reversed(range(n_nodes))]


def _columns(children: Sequence[Sequence[int]]) -> list[int]:
    """Each node's longest distance from node 0: its column counted from the right."""
    depth = [0] * len(children)
    changed = True
    while changed:  # at most len(children) rounds in a graph without cycles
        changed = False
        for node, node_children in enumerate(children):
            for child in node_children:
                if depth[child] < depth[node] + 1:
                    depth[child] = depth[node] + 1
                    changed = True
    return depth


def draw_graph(
    labels: Sequence[str],
    children: Sequence[Sequence[int]],
    ax: Axes | None = None,
    leaf_color: str = "#fdd0a2",
    node_color: str = "#9ecae1",
) -> Axes:
    """Draw a computational graph: one box per node holding its label, arrows from children to parents.

    ``labels[i]`` is node ``i``'s text, up to three short lines (e.g. its name, value and
    gradient). The output, node 0, is drawn on the right and every node one column further left
    than its furthest parent, so values flow from left to right; inputs (nodes without
    children) are coloured ``leaf_color``. Returns the axes drawn on.
    """
    if len(labels) != len(children):
        raise ValueError(f"{len(labels)} labels for {len(children)} nodes")
    depth = _columns(children)
    width = max(depth) + 1
    parents: list[list[int]] = [[] for _ in children]
    for node, node_children in enumerate(children):
        for child in dict.fromkeys(node_children):
            parents[child].append(node)
    height = {0: 0.0}
    for column in range(1, width):  # a node sits near its parents, its neighbours one row apart
        nodes = [n for n in range(len(children)) if depth[n] == column]
        wanted = {n: float(np.mean([height[p] for p in parents[n]])) for n in nodes}
        nodes.sort(key=lambda n: (wanted[n], n))
        middle = float(np.mean(list(wanted.values())))
        for row, n in enumerate(nodes):
            height[n] = middle + row - (len(nodes) - 1) / 2
    low, high = min(height.values()), max(height.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(_STEP * (width - 1) + 2.2, 1.05 * (high - low) + 1.3))
    x = {n: _STEP * (width - 1 - depth[n]) for n in range(len(children))}
    for n, label in enumerate(labels):
        corner = (x[n] - _BOX_WIDTH / 2, height[n] - _BOX_HEIGHT / 2)
        color = leaf_color if not children[n] else node_color
        box = FancyBboxPatch(
            corner, _BOX_WIDTH, _BOX_HEIGHT, boxstyle="round,pad=0.03", facecolor=color, edgecolor="0.3"
        )
        ax.add_patch(box)
        ax.text(x[n], height[n], label, ha="center", va="center", fontsize=9, linespacing=1.25)
    for node, node_children in enumerate(children):
        for child in dict.fromkeys(node_children):
            ax.annotate(
                "",
                xy=(x[node] - _BOX_WIDTH / 2 - 0.04, height[node]),
                xytext=(x[child] + _BOX_WIDTH / 2 + 0.04, height[child]),
                arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.0, "shrinkA": 0, "shrinkB": 0},
            )
    ax.set_xlim(-_BOX_WIDTH / 2 - 0.1, _STEP * (width - 1) + _BOX_WIDTH / 2 + 0.1)
    ax.set_ylim(low - 0.6, high + 0.6)
    ax.axis("off")
    return ax
