"""Computational graphs as plain lists: the seeded random graphs hidden tests use, and their picture."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from course.graphs import draw_graph, random_graph  # noqa: E402


def reachable(children: list[list[int]]) -> set[int]:
    seen, stack = {0}, [0]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def is_topological(children: list[list[int]], order: list[int]) -> bool:
    position = {node: index for index, node in enumerate(order)}
    return all(
        position[child] < position[node] for node, node_children in enumerate(children) for child in node_children
    )


@pytest.mark.parametrize(("n_nodes", "seed"), [(1, 0), (2, 1), (9, 705), (16, 706), (30, 707), (60, 3)])
def test_a_random_graph_is_reachable_acyclic_and_comes_with_an_order(n_nodes, seed):
    children, order = random_graph(n_nodes, seed)
    assert len(children) == n_nodes
    assert reachable(children) == set(range(n_nodes))
    assert sorted(order) == list(range(n_nodes)) and order[-1] == 0
    assert is_topological(children, order)  # so there is no cycle either


def test_random_graphs_are_reproducible_and_differ_by_seed():
    assert random_graph(20, 5) == random_graph(20, 5)
    assert random_graph(20, 5) != random_graph(20, 6)


def test_node_numbers_are_no_order_and_some_nodes_feed_several_parents():
    """What makes a topological order necessary, and += in the backward pass."""
    graphs = [random_graph(12, seed)[0] for seed in range(20)]
    descending = list(range(11, -1, -1))
    assert any(not is_topological(children, descending) for children in graphs)
    parents = [sum(children, []) for children in graphs]
    assert all(max(edges.count(node) for node in set(edges)) > 1 for edges in parents)
    assert any(len(set(node_children)) < len(node_children) for children in graphs for node_children in children)


def test_a_graph_needs_a_node():
    with pytest.raises(ValueError, match="at least one node"):
        random_graph(0, 1)


def test_draws_one_box_per_node_and_one_arrow_per_edge(tmp_path):
    children = [[1, 2], [3], [1, 1], []]  # node 2 uses node 1 twice: one arrow
    labels = ["L\nvalue 1\ngrad 1", "b", "c", "a"]
    ax = draw_graph(labels, children)
    assert len(ax.patches) == 4
    arrows = [text for text in ax.texts if isinstance(text, Annotation)]
    assert [text.get_text() for text in ax.texts if text not in arrows] == labels
    assert len(arrows) == 4
    ax.figure.savefig(tmp_path / "graph.png")
    plt.close(ax.figure)


def test_label_count_must_match_nodes():
    with pytest.raises(ValueError, match="2 labels for 3 nodes"):
        draw_graph(["a", "b"], [[1, 2], [], []])
