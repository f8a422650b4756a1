"""Draw the pictures and write the narration the docs show.

    python docs/make_figures.py [OUTPUT_FOLDER]     # default: docs/figures (git-ignored)
    python docs/make_figures.py --readme            # redraw docs/readme-graph.svg (committed)

The site build (docs/hooks.py) calls `write_figures` itself, so the site always shows what
the code draws now; run this script to look at the pictures without building the site.
Everything is drawn by minigraph itself from the tiny worked example (2 features × 3
samples) and the bundled-digits lesson.
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


def write_figures(out):
    """Write every figure into the folder `out`; return their paths, sorted by name."""
    out = pathlib.Path(out)
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
    # No timestamp or version in the PNG: the same figure is the same bytes.
    figure.savefig(out / "lesson-cost.png", dpi=80, metadata={"Software": None})
    plt.close(figure)
    return sorted(out.iterdir())


# The one picture committed: the README is read on the repository page, where nothing is
# built. tests/test_docs.py checks it is what the code draws now; `--readme` redraws it.
README_PICTURE = pathlib.Path(__file__).resolve().parent / "readme-graph.svg"


def readme_picture():
    """The SVG at the top of the README: the tiny example after one backward pass."""
    cost = tiny_example()
    cost.backward()
    return mg.draw(cost).pipe(format="svg")


def main(out):
    for path in write_figures(out):
        print(f"wrote {path}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--readme"]:
        README_PICTURE.write_bytes(readme_picture())
        print(f"wrote {README_PICTURE}")
    else:
        main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "figures"))
