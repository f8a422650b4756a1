"""`minigraph demo --model two-layer | mlp | cnn`: lessons 2, 3 and 4 from the command line.

Each lesson trains its model with a progress bar, prints the cost as the course does, the
accuracies beside scikit-learn's MLPClassifier with the same layers, the gap between the
training and the held-out test images (generalisation) and what the teaching assistant
noticed, and writes the learning curves (cost and accuracy per step on both sets), the
trained graph (one box per layer) and a step player of the first training step on a few
images. `cli.py` parses the options; this module checks and runs them.
"""

import pathlib
import sys
import warnings

# Each lesson's defaults; an option a lesson does not use is refused rather than ignored.
DEMO_DEFAULTS = {
    "logistic": {"iterations": 150, "learning_rate": 0.01, "per_digit": 205},
    "two-layer": {"iterations": 1000, "learning_rate": 0.01, "per_digit": 205, "hidden": "4", "seed": 1},
    "mlp": {"learning_rate": 0.001, "hidden": "64", "epochs": 30, "batch_size": 64, "optimizer": "adam", "seed": 1},
    "cnn": {"learning_rate": 0.001, "hidden": "64", "epochs": 40, "batch_size": 64, "seed": 0},
}
STEP_PLAYER_SAMPLES = 3
# Fewer images than this in a split, and its accuracy means little: one image moves it by
# 100/n points (3.3 at 30), and the 95 % interval around a perfect score on n images
# (Wilson's, n/(n + 1.96²) to 1) starts at 89 % for 30 images but at 21 % for one.
MEANINGFUL_SPLIT = 30


def small_split_warnings(train_size, test_size):
    """A warning line for each split too small for its accuracy to mean anything."""
    return [f"warning: the {name} split has only {size} image{'s' * (size != 1)}, so its accuracy means "
            f"little: one image moves it by {100 / size:.0f} points; give the demo at least "
            f"{MEANINGFUL_SPLIT} {name} images"
            for name, size in (("train", train_size), ("test", test_size)) if size < MEANINGFUL_SPLIT]


def defaults_text(option):
    """'default: 30 for mlp, 40 for cnn': an option's help names each lesson that takes it,
    from DEMO_DEFAULTS, so that help and behaviour cannot drift apart."""
    return "default: " + ", ".join(f"{defaults[option]} for {model}" for model, defaults in DEMO_DEFAULTS.items()
                                   if option in defaults)


def add_network_demo_options(demo):
    demo.add_argument("--model", choices=list(DEMO_DEFAULTS), default="logistic",
                      help="which lesson: logistic regression, the two-layer network, the "
                           "ten-digit MLP or the convolutional network (default: %(default)s)")
    demo.add_argument("--hidden", metavar="N[,N...]",
                      help="hidden units: one number for two-layer and cnn (the dense layer), one per "
                           f"layer for mlp ({defaults_text('hidden')})")
    demo.add_argument("--epochs", type=int, help=f"passes over the training set ({defaults_text('epochs')})")
    demo.add_argument("--batch-size", type=int, metavar="N", help=f"samples per step ({defaults_text('batch_size')})")
    demo.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], help=f"the optimizer ({defaults_text('optimizer')})")
    demo.add_argument("--seed", type=int, help=f"seeds the weights ({defaults_text('seed')})")


def settle_demo_options(args):
    """Refuse the options the chosen lesson does not use; fill in its defaults for the rest."""
    defaults = DEMO_DEFAULTS[args.model]
    for option in ("iterations", "learning_rate", "per_digit", "hidden", "epochs", "batch_size", "optimizer", "seed"):
        value = getattr(args, option)
        if option not in defaults:
            if value is not None:
                flag = "--" + option.replace("_", "-")
                raise ValueError(f"{flag} is not used by --model {args.model}; the options it takes are "
                                 f"{', '.join('--' + o.replace('_', '-') for o in defaults)}")
        elif value is None:
            setattr(args, option, defaults[option])
    if args.model != "logistic":
        args.hidden = hidden_sizes(args.hidden, single=args.model in ("two-layer", "cnn"))


def hidden_sizes(text, single):
    """'128,64' as (128, 64): whole numbers ≥ 1, exactly one of them when `single`."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1 or (single and len(sizes) != 1):
        wanted = "one whole number ≥ 1" if single else "whole numbers ≥ 1 separated by commas, e.g. 128,64"
        raise ValueError(f"--hidden {text!r}: give {wanted}")
    return sizes


def run_network_demo(args):
    """The second or third lesson: train, print the costs and accuracies beside
    scikit-learn's, write the cost curve, the trained graph and a step player."""
    from sklearn.exceptions import ConvergenceWarning
    from tqdm import tqdm

    import minigraph as mg

    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():  # said before training, not after it
        raise NotADirectoryError(f"--out {out} is a file; give a folder to write the pictures into")
    lesson = {"two-layer": TwoLayerLesson, "mlp": MLPLesson, "cnn": CNNLesson}[args.model](args)
    print(f"minigraph demo: {lesson.title} on {lesson.source}")
    X_train, X_test, y_train, y_test = lesson.split
    print(f"{len(X_train)} train / {len(X_test)} test images of {X_train.shape[1]} pixels; {lesson.settings}")

    progress = None if args.no_progress else (lambda steps: tqdm(steps, desc="training", file=sys.stderr))
    # The held-out test images are the validation curve: how well what is learnt generalises.
    model = lesson.model(progress).fit(X_train, y_train, validation_data=(X_test, y_test))
    for line in lesson.cost_lines(model):
        print(line)
    print(f"minigraph     train accuracy {100 * model.score(X_train, y_train):6.2f} %   "
          f"test accuracy {100 * model.score(X_test, y_test):6.2f} %")
    print(generalisation_gap(model.curves_, lesson.step_name))
    for sentence in model.diagnosis_:
        print(f"teaching assistant: {sentence}")
    reference, note = lesson.reference()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X_train, y_train)
    print(f"scikit-learn  train accuracy {100 * reference.score(X_train, y_train):6.2f} %   "
          f"test accuracy {100 * reference.score(X_test, y_test):6.2f} %   ({note})")
    for warning in small_split_warnings(len(X_train), len(X_test)):
        print(warning)

    out.mkdir(parents=True, exist_ok=True)
    write_learning_curves(out / "cost.png", model.curves_, lesson.step_name, f"minigraph {lesson.title}")
    print(f"wrote {out / 'cost.png'} (cost and accuracy per {lesson.step_name}, training and test images)")
    mg.render(model.graph_, out / "graph.svg", depth=lesson.drawn_depth)
    print(f"wrote {out / 'graph.svg'} (the trained graph, one box per layer, values and gradients)")
    first = slice(0, STEP_PLAYER_SAMPLES)
    mg.save_steps_html(lesson.first_step(X_train[first], y_train[first], model), out / "backprop.html",
                       title=f"Backprop, one node at a time: the {lesson.title}'s first step on "
                             f"{STEP_PLAYER_SAMPLES} images")
    print(f"wrote {out / 'backprop.html'} (open it in a browser and press the right arrow key)")
    return 0


def generalisation_gap(curves, step_name):
    """One line: the last step's training and test cost and accuracy, and the gap between."""
    train, test = curves["train_accuracy"][-1], curves["validation_accuracy"][-1]
    return (f"after the last {step_name}: cost {curves['train_cost'][-1]:.4f} on the training images, "
            f"{curves['validation_cost'][-1]:.4f} on the test images; accuracy {100 * train:.2f} % and "
            f"{100 * test:.2f} %: a generalisation gap of {100 * (train - test):.2f} points")


def write_learning_curves(path, curves, step_name, title):
    """Cost and accuracy per step, on the training and the held-out test images, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (cost, accuracy) = plt.subplots(1, 2, figsize=(10, 4))
    steps = range(len(curves["train_cost"]))
    for axes, what in ((cost, "cost"), (accuracy, "accuracy")):
        scale = 100 if what == "accuracy" else 1
        axes.plot(steps, [scale * v for v in curves[f"train_{what}"]], label="training images")
        axes.plot(steps, [scale * v for v in curves[f"validation_{what}"]], label="test images (held out)")
        axes.set(xlabel=step_name, ylabel="accuracy (%)" if what == "accuracy" else "cost", title=f"{title}: {what}")
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


class TwoLayerLesson:
    """Lesson 2: zeros vs ones through tanh hidden units and a sigmoid output."""

    title = "two-layer network"
    step_name = "iteration"
    drawn_depth = None  # every node drawn: it fits a 1,300-px window

    def __init__(self, args):
        from minigraph.models.datasets import lesson_split

        self.args = args
        self.source, self.split = lesson_split(args.data, args.per_digit)
        self.source += ", zeros vs ones"
        (self.hidden,) = args.hidden
        self.settings = (f"{self.hidden} tanh hidden units, {args.iterations} iterations at learning "
                         f"rate {args.learning_rate}")

    def model(self, progress):
        from minigraph.models import TwoLayerNetwork

        return TwoLayerNetwork(hidden_units=self.hidden, learning_rate=self.args.learning_rate,
                               iterations=self.args.iterations, random_state=self.args.seed, progress=progress)

    def cost_lines(self, model):
        return [f"cost after iteration {i:4d}: {model.cost_history_[i]:.6f}"
                for i in range(0, self.args.iterations, 100)]

    def reference(self):
        """scikit-learn's MLPClassifier with the same network, trained the same way (full-batch
        gradient descent, no momentum or L2, every iteration run), and a note saying so."""
        from sklearn.neural_network import MLPClassifier

        a = self.args
        note = f"MLPClassifier(({self.hidden},), tanh, full-batch sgd at {a.learning_rate}, {a.iterations} iterations)"
        return MLPClassifier(hidden_layer_sizes=(self.hidden,), activation="tanh", solver="sgd",
                             learning_rate_init=a.learning_rate, momentum=0.0, alpha=0.0,
                             batch_size=len(self.split[0]), max_iter=a.iterations, shuffle=False,
                             n_iter_no_change=a.iterations + 1, random_state=a.seed), note

    def first_step(self, X, y, model):
        """The graph of the first training step on X: the same seed draws the same weights."""
        import minigraph as mg
        from minigraph.layers import Linear
        from minigraph.models import two_layer_network_graph
        from minigraph.stochastic import as_generator

        rng = as_generator(model.random_state)
        layer1 = Linear(X.shape[1], model.hidden_units, init=model.init, rng=rng, name="layer1")
        layer2 = Linear(model.hidden_units, 1, init=model.init, rng=rng, name="layer2")
        labels = (y == model.classes_[1]).astype(float)[None, :]
        return two_layer_network_graph(mg.constant(X.T, name="X"), mg.constant(labels, name="Y"), layer1, layer2)


class MLPLesson:
    """Lesson 3: the ten digits through hidden ReLU layers and a softmax output."""

    title = "ten-digit MLP"
    step_name = "epoch"
    drawn_depth = 0  # its layers drawn as blocks, so that the picture fits a window

    def __init__(self, args):
        from sklearn.preprocessing import StandardScaler

        from minigraph.models.datasets import ten_digits_split

        self.args = args
        self.source, (X_train, X_test, y_train, y_test) = ten_digits_split(args.data)
        self.source += ", all ten digits"
        # Pixels in [0, 1] are all positive: on the photos, most ReLU units then die (give 0
        # for every image) in the first epochs. Centred and scaled pixels keep them alive.
        scaler = StandardScaler().fit(X_train)
        self.split = scaler.transform(X_train), scaler.transform(X_test), y_train, y_test
        self.settings = (f"pixels standardized; hidden layers {list(args.hidden)}, {args.epochs} epochs of "
                         f"batches of {args.batch_size}, {args.optimizer} at learning rate {args.learning_rate}")

    def model(self, progress):
        from minigraph.models import MLPClassifier

        a = self.args
        return MLPClassifier(hidden_layer_sizes=a.hidden, optimizer=a.optimizer, learning_rate=a.learning_rate,
                             batch_size=a.batch_size, epochs=a.epochs, random_state=a.seed, progress=progress)

    def cost_lines(self, model):
        epochs = list(range(0, self.args.epochs, 10))
        if epochs[-1] != self.args.epochs - 1:
            epochs.append(self.args.epochs - 1)
        return [f"mean cost in epoch {e:3d}: {model.loss_curve_[e]:.6f}" for e in epochs]

    def reference(self):
        """scikit-learn's MLPClassifier with the same layers, epochs, batch size, optimizer and
        learning rate, every epoch run (no stopping when the loss stalls), and a note saying so."""
        from sklearn.neural_network import MLPClassifier

        a = self.args
        solver = {"sgd": {"solver": "sgd", "momentum": 0.0}, "adam": {"solver": "adam"},
                  "momentum": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False}}[a.optimizer]
        note = f"MLPClassifier({a.hidden}, relu, {a.optimizer}, {a.epochs} epochs of batches of {a.batch_size})"
        return MLPClassifier(hidden_layer_sizes=a.hidden, learning_rate_init=a.learning_rate, batch_size=a.batch_size,
                             max_iter=a.epochs, n_iter_no_change=a.epochs + 1, random_state=a.seed, **solver), note

    def first_step(self, X, y, model):
        """The graph of the first training step on X: the same seed draws the same weights
        (nothing is held out and nothing dropped, so the weights are the generator's first draws)."""
        import numpy as np

        import minigraph as mg
        from minigraph.layers import mlp
        from minigraph.models import mlp_cost

        sizes = [X.shape[1], *model.hidden_layer_sizes, len(model.classes_)]
        network = mlp(sizes, hidden=model.activation, init=model.init, rng=model.random_state)
        labels = np.searchsorted(model.classes_, y).astype(float)
        return mlp_cost(network, mg.constant(X.T, name="X"), mg.constant(labels, name="y"), alpha=model.alpha)


class CNNLesson(MLPLesson):
    """Lesson 4: the ten digits through conv blocks (CNNClassifier's defaults), lesson 3's
    MLP from scikit-learn beside it."""

    title = "convolutional network"

    def __init__(self, args):
        from minigraph.models.datasets import ten_digits_split

        self.args = args
        self.source, self.split = ten_digits_split(args.data)
        self.source += ", all ten digits"
        # The bundled 8×8 digits are too small for three blocks: one block, shifts of 1 pixel.
        small = self.split[0].shape[1] < 32 * 32
        self.network = {"channels": (16,), "max_shift": 1} if small else {}
        blocks = "one conv block of 16" if small else "conv blocks of 16, 32, 32"
        self.settings = (f"pixels standardized; {blocks} 3×3 filters with ReLU and 2×2 max-pooling, "
                         f"{args.hidden[0]} dense units, dropout 0.3, {args.epochs} epochs of batches of "
                         f"{args.batch_size}, adam at learning rate {args.learning_rate}")

    def model(self, progress):
        from minigraph.models import CNNClassifier

        a = self.args
        return CNNClassifier(hidden_units=a.hidden[0], learning_rate=a.learning_rate, batch_size=a.batch_size,
                             epochs=a.epochs, random_state=a.seed, progress=progress, **self.network)

    def reference(self):
        """Lesson 3's network: scikit-learn's MLPClassifier, one hidden layer of the same
        size, the same epochs and batches, on standardized pixels."""
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        a = self.args
        note = f"lesson 3's MLP: MLPClassifier(({a.hidden[0]},), relu, adam, {a.epochs} epochs), standardized pixels"
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=a.hidden, batch_size=a.batch_size, learning_rate_init=a.learning_rate,
            max_iter=a.epochs, n_iter_no_change=a.epochs + 1, random_state=a.seed)), note

    def first_step(self, X, y, model):
        """The graph of the first training step on X: the weights the same seed draws first,
        without dropout (a graph to read, not to train)."""
        import numpy as np

        import minigraph as mg
        from minigraph.models import cnn_network

        network = cnn_network(model.image_shape_, model.channels, model.kernel_size, model.pool_size,
                              model.hidden_units, len(model.classes_), rng=model.random_state)
        images = ((X - model.pixel_mean_) / model.pixel_scale_).reshape(len(X), 1, *model.image_shape_)
        labels = np.searchsorted(model.classes_, y).astype(float)
        return mg.softmax_cross_entropy(network(mg.constant(images, name="X")), mg.constant(labels, name="y"),
                                        name="cost")
