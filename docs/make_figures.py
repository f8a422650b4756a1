"""Draw the pictures and write the narration the docs show.

    python docs/make_figures.py [OUTPUT_FOLDER]     # default: docs/figures (git-ignored)
    python docs/make_figures.py --readme            # redraw docs/readme-graph.svg (committed)

The site build (docs/hooks.py) calls `write_figures` itself, so the site always shows what
the code draws now; run this script to look at the pictures without building the site.
Everything is drawn by minigraph itself: the worked examples of each lesson, and models
trained on scikit-learn's bundled digits (nothing to download), small enough that the whole
set is drawn in about ten seconds; the first lesson's weight pictures are trained on the
Sign Language Digits where the copy beside the repository is (SIGN_LANGUAGE), else on the
bundled digits, and the page's caption says which.
"""

import contextlib
import functools
import io
import pathlib
import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import numpy as np  # noqa: E402

import minigraph as mg  # noqa: E402
from minigraph.data import minibatches  # noqa: E402
from minigraph.layers import mlp  # noqa: E402
from minigraph.models import (  # noqa: E402
    LogisticRegression, MLPClassifier, TwoLayerNetwork, logistic_regression_graph, mlp_cost, tiny_example,
    tiny_mlp_example,
    tiny_two_layer_example,
)
from minigraph.models.datasets import lesson_split, load_digits_binary, ten_digits_split  # noqa: E402
from minigraph.show.rows import range_text  # noqa: E402


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
    save(figure, out / "lesson-cost.png")
    weight_pictures(out)

    lesson_2_figures(out)
    lesson_3_figures(out)
    optimizer_figures(out)
    return sorted(out.iterdir())


# The Sign Language Digits copy beside the repository (always there in CI); the lesson's
# weight pictures fall back to the bundled 8×8 digits where it is missing.
SIGN_LANGUAGE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sign-language-digits"
WEIGHT_PICTURES_PX = 192  # each picture's width: 64×64 pixels at 3 px each, three abreast in a 700-px column


def weight_source(folder=SIGN_LANGUAGE):
    """What the weight pictures are trained on, as the page's caption says it."""
    if (pathlib.Path(folder) / "X.npy").is_file():
        return "the Sign Language Digits' zeros and ones (64×64 photos, the lesson's 348 training images)"
    return ("scikit-learn's bundled 8×8 digits, zeros and ones: the Sign Language Digits were not "
            "found beside the repository when this page was built")


def weight_data(folder=SIGN_LANGUAGE):
    """The first lesson's training images for the weight pictures (X one image a row, y):
    the Sign Language Digits zeros and ones if `folder` holds them, else the bundled digits."""
    found = (pathlib.Path(folder) / "X.npy").is_file()
    _, (X, _, y, _) = lesson_split(folder if found else None)
    return X, y


@functools.lru_cache(maxsize=2)
def weight_arrays(folder=SIGN_LANGUAGE):
    """The lesson's weights as the images they weigh: a 'one' from the training data, the
    gradient ∂cost/∂w of the first step (from w = 0.01) and the weights after the lesson's
    150 steps, each reshaped to the image's pixels, by picture file name (read-only). Made
    once per folder: the pictures and the page's caption read the same arrays."""
    X, y = weight_data(folder)
    side = int(np.sqrt(X.shape[1]))
    # The first step's gradient: the lesson's graph at w = 0.01, b = 0, one backward pass.
    w = mg.parameter(np.full((X.shape[1], 1), 0.01), name="w")
    cost = logistic_regression_graph(mg.constant(X.T, name="x"), mg.constant(y[np.newaxis, :].astype(float), name="y"),
                                     w, mg.parameter(0.0, name="b"), fused=True)
    cost.backward()
    model = LogisticRegression().fit(X, y)
    arrays = {
        "lesson-one.png": X[y == 1][0].reshape(side, side),
        "lesson-gradient.png": w.grad.reshape(side, side),
        "lesson-weights.png": model.coef_.reshape(side, side),
    }
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def weight_pictures(out, folder=SIGN_LANGUAGE):
    """Draw `weight_arrays(folder)` into `out` as minigraph draws big arrays
    (minigraph.show.heatmap: the 'one' in grey, the others red above 0 and blue below),
    enlarged to WEIGHT_PICTURES_PX, and return them."""
    arrays = weight_arrays(folder)
    for name, array in arrays.items():
        picture = mg.show.heatmap.picture(array, image=name == "lesson-one.png")
        picture.scale = max(1, WEIGHT_PICTURES_PX // array.shape[1])  # every pixel of the image shows
        (out / name).write_bytes(picture.png())
    return arrays


def weight_caption(folder=SIGN_LANGUAGE):
    """The caption under the weight pictures: the data they were trained on and the range of
    each heatmap (its colours' ends are ± its largest magnitude)."""
    arrays = weight_arrays(folder)
    gradient, weights = (range_text(arrays[name]) for name in ("lesson-gradient.png", "lesson-weights.png"))
    return (f"Trained on {weight_source(folder)}. ∂cost/∂w runs {gradient}, the trained w {weights}; "
            f"each picture's darkest red and blue stand for ± its largest magnitude.")


def save(figure, path):
    figure.tight_layout()
    # No timestamp or version in the PNG: the same figure is the same bytes.
    figure.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(figure)


def drawn_after_backward(cost, path):
    cost.backward()
    mg.render(cost, path)


# Lesson 2: the two-layer network ---------------------------------------------------------------

def lesson_2_figures(out):
    drawn_after_backward(tiny_two_layer_example(), out / "lesson2-tiny-graph.svg")
    decision_boundaries(out / "lesson2-boundaries.png")
    _, (X_train, _, y_train, _) = lesson_split()
    model = TwoLayerNetwork(hidden_units=4, learning_rate=0.01, iterations=1000, random_state=1).fit(X_train, y_train)
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.plot(model.cost_history_)
    axes.set(xlabel="iteration", ylabel="cost", title="two-layer network, bundled zeros vs ones")
    save(figure, out / "lesson2-cost.png")


def decision_boundaries(path):
    """Two interleaved half-moons: logistic regression's straight line against the bent
    boundaries of two-layer networks with 1, 2, 4 and 20 tanh units."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    models = {"logistic regression": LogisticRegression(learning_rate=1.0, iterations=2000)}
    for units in (1, 2, 4, 20):
        models[f"{units} hidden unit{'s' if units > 1 else ''}"] = TwoLayerNetwork(
            hidden_units=units, learning_rate=1.2, iterations=2000, init="xavier", random_state=0)
    grid = np.stack(np.meshgrid(np.linspace(-1.7, 2.7, 120), np.linspace(-1.2, 1.7, 90)), axis=-1)
    figure, panels = plt.subplots(1, len(models), figsize=(3 * len(models), 2.8), sharey=True)
    for axes, (title, model) in zip(panels, models.items()):
        model.fit(X, y)
        surface = model.predict_proba(grid.reshape(-1, 2))[:, 1].reshape(grid.shape[:2])
        axes.contourf(grid[..., 0], grid[..., 1], surface, levels=[0, 0.5, 1], colors=["#f6d7c3", "#cfe2f3"])
        axes.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=8)
        axes.set(title=f"{title}\ntrain accuracy {model.score(X, y):.0%}", xticks=[], yticks=[])
    save(figure, path)


# Lesson 3: ten digits with softmax -------------------------------------------------------------

def lesson_3_figures(out):
    drawn_after_backward(tiny_mlp_example(), out / "lesson3-tiny-graph.svg")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    _, (X_train, X_test, y_train, y_test) = ten_digits_split()
    settings = {"hidden_layer_sizes": (64,), "batch_size": 64, "random_state": 0}
    models = {
        "minigraph": MLPClassifier(epochs=30, **settings),
        "minigraph, dropout 0.2": MLPClassifier(epochs=30, dropout=0.2, **settings),
        "scikit-learn": SklearnMLP(max_iter=30, n_iter_no_change=31, **settings),
    }
    figure, axes = plt.subplots(figsize=(6, 3.2))
    for name, model in models.items():
        with warnings.catch_warnings():  # scikit-learn warns that 30 epochs did not converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        axes.plot(model.loss_curve_, label=f"{name} (test accuracy {model.score(X_test, y_test):.1%})")
    axes.set(xlabel="epoch", ylabel="mean cost", yscale="log", title="ten bundled digits, 64 ReLU units, batches of 64")
    axes.legend()
    save(figure, out / "lesson3-loss.png")


# Optimizers and initialisation -----------------------------------------------------------------

# The same network, data and batches for each; plain SGD and its two momentum forms at one
# learning rate, so the curves show what momentum adds.
OPTIMIZERS = {
    "SGD, learning rate 0.01": lambda ps: mg.SGD(ps, 0.01),
    "SGD + momentum 0.9, 0.01": lambda ps: mg.SGD(ps, 0.01, momentum=0.9),
    "Nesterov 0.9, 0.01": lambda ps: mg.SGD(ps, 0.01, momentum=0.9, nesterov=True),
    "Adam, 0.001": lambda ps: mg.Adam(ps, 1e-3),
    "Adam, 0.01": lambda ps: mg.Adam(ps, 1e-2),
    "AdamW, 0.01, decay 0.1": lambda ps: mg.AdamW(ps, 1e-2, weight_decay=0.1),
}


def train_curve(network, make_optimizer, X, labels, epochs, batch_size=64, seed=0):
    """Mean cost per epoch of `network` trained on X (m, n) by minibatches: one graph, replayed."""
    x = mg.constant(X[:batch_size].T, name="X")
    y = mg.constant(labels[:batch_size], name="y")
    graph = mg.Graph(mlp_cost(network, x, y))
    optimizer = make_optimizer(network.parameters)
    rng, curve = np.random.default_rng(seed), []
    for _ in range(epochs):
        total = 0.0
        for batch in minibatches(len(X), batch_size, rng):
            x.value, y.value = X[batch].T, labels[batch]
            total += float(graph.forward()) * len(batch)
            graph.backward()
            optimizer.step()
        curve.append(total / len(X))
    return curve


def optimizer_figures(out):
    _, (X_train, _, y_train, _) = ten_digits_split()
    labels = y_train.astype(float)
    figure, axes = plt.subplots(figsize=(8, 3.2))
    for name, make_optimizer in OPTIMIZERS.items():
        curve = train_curve(mlp([64, 32, 10], rng=0), make_optimizer, X_train, labels, epochs=15)
        axes.plot(range(1, len(curve) + 1), curve, label=name)
    axes.set(xlabel="epoch", ylabel="mean cost", yscale="log", title="ten bundled digits, 64→32→10 ReLU network")
    axes.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    save(figure, out / "optimizers.png")

    figure, axes = plt.subplots(figsize=(6, 3.2))
    for init in ("course", "xavier", "he"):
        network = mlp([64, 64, 64, 64, 64, 64, 10], init=init, rng=0)
        curve = train_curve(network, lambda ps: mg.SGD(ps, 0.05, momentum=0.9), X_train, labels, epochs=15)
        axes.plot(range(1, len(curve) + 1), curve, label=f'init="{init}"')
    axes.set(xlabel="epoch", ylabel="mean cost", title="five hidden ReLU layers of 64, SGD + momentum")
    axes.legend()
    save(figure, out / "init.png")


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
