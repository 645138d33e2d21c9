"""Cost curves and 2-D decision maps: what they draw, and that they refuse what they cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course.plotting import plot_costs, plot_decision_map  # noqa: E402


def test_cost_curve_starts_at_one_on_a_log_scale(tmp_path):
    ax = plot_costs([0.5, 0.1, 0.01], label="run")
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), [0.5, 0.1, 0.01])
    assert ax.get_yscale() == "log" and ax.get_legend() is not None
    plot_costs([0.4, 0.3], ax=ax, label="another")
    assert len(ax.lines) == 2
    ax.figure.savefig(tmp_path / "costs.png")
    plt.close(ax.figure)


def test_cost_curve_refuses_what_a_log_scale_cannot_show():
    with pytest.raises(ValueError, match="log=False"):
        plot_costs([1.0, 0.0])
    ax = plot_costs([1.0, 0.0, -1.0], log=False)
    assert ax.get_yscale() == "linear" and ax.get_legend() is None
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="non-empty"):
        plot_costs([])


def test_decision_map_colours_the_model_output_and_draws_its_boundary(tmp_path):
    seen = []

    def above_diagonal(points):
        seen.append(points.shape)
        return (points[:, 1] > points[:, 0]).astype(float)[:, None]

    ax = plot_decision_map(above_diagonal, resolution=40)
    assert seen == [(1600, 2)]
    (image,) = ax.images
    assert image.get_array().shape == (40, 40)
    assert image.get_array()[-1, 0] == 1.0 and image.get_array()[0, -1] == 0.0  # top-left above, bottom-right below
    assert ax.collections, "the 0.5 contour is drawn"
    ax.figure.savefig(tmp_path / "map.png")
    plt.close(ax.figure)


def test_decision_map_without_a_boundary_and_with_a_wrong_model():
    ax = plot_decision_map(lambda points: np.full(len(points), 0.2), resolution=10)
    assert not ax.collections
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="returned 3 values for 100 points"):
        plot_decision_map(lambda points: np.zeros(3), resolution=10)
