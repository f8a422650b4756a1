"""Regenerate the pictures and the narration the docs show (`make docs`).

    python docs/make_figures.py [OUTPUT_FOLDER]     # default: docs/figures

Everything is drawn by minigraph itself from the tiny worked example (2 features × 3
samples) and the bundled-digits lesson, so the docs show what the code does.
"""

import contextlib
import io
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import minigraph as mg  # noqa: E402
from minigraph.models import LogisticRegression, tiny_example  # noqa: E402
from minigraph.models.datasets import load_digits_binary  # noqa: E402


def narration():
    """The text of `minigraph trace`: both passes through the tiny example."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        mg.explain(tiny_example())
    return text.getvalue()


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    cost = tiny_example()
    mg.render(cost, out / "tiny-forward.svg")
    cost.backward()
    mg.render(cost, out / "tiny-graph.svg")
    (out / "trace.txt").write_text(narration(), encoding="utf-8")

    X, y = load_digits_binary()
    model = LogisticRegression().fit(X, y)
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.plot(model.cost_history_)
    axes.set(xlabel="iteration", ylabel="cost", title="bundled digits, zeros vs ones")
    figure.tight_layout()
    figure.savefig(out / "lesson-cost.png", dpi=80)
    plt.close(figure)
    for name in sorted(p.name for p in out.iterdir()):
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "figures"))
