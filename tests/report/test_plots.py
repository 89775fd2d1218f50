"""Plot helpers: learning curves with whole-number epochs, a named legend and marked diverged runs."""

from neurocircuits.report.plots import new_figure, plot_learning_curves, plot_mean_spread
from neurocircuits.report.table import ResultTable


def _curves():
    t = ResultTable(["acc", "diverged"])
    for s in range(3):
        for e in (1, 2, 3):
            t.add(arm="A", seed=s, epoch=e, acc=0.5 + 0.1 * e, diverged=0)
            t.add(arm="B", seed=s, epoch=e, acc=0.1 if s == 2 else 0.4 + 0.1 * e, diverged=int(s == 2))
    return t


def test_learning_curves_integer_ticks_legend_and_diverged_marks():
    fig, ax = new_figure()
    a = ax[0, 0]
    assert plot_learning_curves(a, _curves(), "acc", hue="arm", legend_title="initialisation") == 1
    fig.canvas.draw()
    ticks = [t for t in a.get_xticks() if a.get_xlim()[0] <= t <= a.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    leg = a.get_legend()
    assert leg.get_title().get_text() == "initialisation"
    assert [t.get_text() for t in leg.get_texts()] == ["A", "B", "B: diverged (1 run)"]
    # the diverged seed is left out of B's mean: B's line is the mean of seeds 0 and 1 only
    line_b = a.get_lines()[1]
    assert list(line_b.get_ydata()) == [0.5, 0.6, 0.7] or all(
        abs(y - x) < 1e-12 for y, x in zip(line_b.get_ydata(), [0.5, 0.6, 0.7]))
    assert a.get_xlabel() == "epoch"


def test_mean_spread_labels():
    fig, ax = new_figure()
    plot_mean_spread(ax[0, 0], _curves(), "epoch", "acc", hue="arm", legend_title="arm (α)", xlabel="epoch",
                     ylabel="accuracy", integer_x=True)
    assert ax[0, 0].get_legend().get_title().get_text() == "arm (α)" and ax[0, 0].get_ylabel() == "accuracy"
