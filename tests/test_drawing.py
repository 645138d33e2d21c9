"""The network picture: one circle per neuron, one line per connection."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course.drawing import draw_network  # noqa: E402


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
