"""The network picture: one circle per neuron, one line per connection; the computational graph."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from course.drawing import draw_computational_graph, draw_network  # noqa: E402


def test_draws_every_neuron_and_connection(tmp_path):
    ax = draw_network([3, 4, 2, 3], layer_labels=["$x$", "$y^1$", "$y^2$", "$y^3$"])
    assert len(ax.patches) == 3 + 4 + 2 + 3
    assert len(ax.lines) == 3 * 4 + 4 * 2 + 2 * 3
    assert [t.get_text() for t in ax.texts] == ["$x$", "$y^1$", "$y^2$", "$y^3$"]
    ax.figure.savefig(tmp_path / "network.png")  # renders, LaTeX labels included
    plt.close(ax.figure)


def test_label_count_must_match_layers():
    with pytest.raises(ValueError, match="2 labels for 3 layers"):
        draw_network([2, 2, 2], layer_labels=["a", "b"])


def chain() -> tuple[dict, list]:
    """x -> z = w x -> a = sigma(z), with the weight w feeding z: the shape of notebook 01's graph."""
    nodes = {
        "x": ((0.0, 0.0), "$x$", 2.0),
        "w": ((2.0, 1.8), "$w$", 0.5),
        "z": ((2.0, 0.0), "$z$", 1.0),
        "a": ((4.0, 0.0), "$a$", None),
    }
    edges = [("x", "z", "$w$"), ("w", "z", "$x$"), ("z", "a", r"$\sigma'(z)$")]
    return nodes, edges


def test_computational_graph_draws_nodes_values_and_labelled_arrows(tmp_path):
    nodes, edges = chain()
    ax = draw_computational_graph(nodes, edges)
    assert len(ax.patches) == len(nodes)
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    assert len(arrows) == len(edges)
    texts = [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]
    assert {"$x$", "$w$", "$z$", "$a$", "$\\sigma'(z)$", "2", "0.5", "1"} <= set(texts)
    assert len(texts) == len(nodes) + 3 + len(edges)  # labels, the three values given, edge labels
    colors = {label: patch.get_facecolor() for patch, label in zip(ax.patches, ["x", "w", "z", "a"])}
    assert colors["x"] == colors["w"] != colors["z"] == colors["a"]  # inputs apart from computed values
    ax.figure.savefig(tmp_path / "graph.png")
    plt.close(ax.figure)


def test_computational_graph_edges_must_name_existing_nodes():
    nodes, edges = chain()
    with pytest.raises(ValueError, match=r"\['q'\]"):
        draw_computational_graph(nodes, [*edges, ("a", "q", "")])
