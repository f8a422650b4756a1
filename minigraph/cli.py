"""The `minigraph` command: `demo` runs the first lesson, `trace` narrates backprop on a
tiny example, `render` draws a model's graph to a file."""

import argparse
import pathlib
import sys
import warnings

from .errors import DotNotFoundError

# Mistakes a user can fix: bad parameters or data (ValueError, which scikit-learn's
# InvalidParameterError and the loaders' DataError are), a path that cannot be read or
# written (OSError: missing, a file where a folder should be, read-only, disk full), Graphviz
# missing. Anything else is a bug and keeps its traceback.
USER_ERRORS = (OSError, ValueError, DotNotFoundError)
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)

DEMO_HELP = """\
Run the first lesson of deep learning: logistic regression as a minigraph graph.

Splits the data 85/15 (random_state 42), trains 150 full-batch gradient-descent
iterations at learning rate 0.01 from weights 0.01 and bias 0 with a progress bar,
prints the cost every 10 iterations and the train and test accuracy, with
scikit-learn's LogisticRegression on the same split beside it. Writes into --out:
cost.png (the cost curve), graph.svg (the trained graph with values and gradients)
and backprop.html (a step player of the first iteration's forward and backward pass
on the first 3 training images). Pictures need Graphviz's dot.

Without --data the bundled scikit-learn digits (8x8, zeros vs ones) serve and nothing
is downloaded. --data PATH reads the Sign Language Digits set: a folder with X.npy and
Y.npy, or one sub-folder of photos per digit; the classic lesson uses the first 205
images of each digit.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="minigraph", description="A tiny autodiff engine on numpy, made to be read."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="train logistic regression, the first lesson",
        description=DEMO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--data", metavar="PATH", help="Sign Language Digits folder (default: bundled digits)")
    demo.add_argument("--out", metavar="DIR", default="minigraph-out", help="output folder (default: %(default)s)")
    demo.add_argument("--iterations", type=int, default=150, help="gradient-descent steps (default: %(default)s)")
    demo.add_argument("--learning-rate", type=float, default=0.01, help="step size (default: %(default)s)")
    demo.add_argument("--per-digit", type=int, default=205, metavar="N",
                      help="with --data: first N images of each digit (default: %(default)s, the classic lesson)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")

    commands.add_parser(
        "trace", help="narrate forward and backward on the tiny worked example",
        description="Print every step of forward and backward propagation through the lesson's "
                    "graph on 2 features x 3 samples, with the real numbers.",
    )

    render = commands.add_parser(
        "render", help="draw a model's graph to a file",
        description="Draw a graph with its values and gradients. The format (svg, png, pdf) "
                    "comes from the file name. Needs Graphviz's dot.",
    )
    render.add_argument("file", help="where to write, e.g. graph.svg")
    render.add_argument("--model", choices=["tiny", "lesson"], default="tiny",
                        help="tiny: the 2x3 worked example after one backward pass; lesson: "
                             "logistic regression trained as in 'demo' (default: %(default)s)")
    render.add_argument("--data", metavar="PATH", help="with --model lesson: Sign Language Digits folder")

    args = parser.parse_args(argv)
    # A failure a user can act on, or Ctrl-C, ends with one line on stderr, not a traceback.
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        parser.exit(INTERRUPTED, f"minigraph {args.command}: interrupted\n")
    except USER_ERRORS as exc:
        message = " ".join(str(exc).splitlines()) or type(exc).__name__
        parser.exit(2, f"minigraph {args.command}: error: {message}\n")


def run_demo(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
    from tqdm import tqdm

    import minigraph as mg
    from minigraph.models import LogisticRegression, logistic_regression_graph
    from minigraph.models.datasets import lesson_split

    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():  # said before training, not after it
        raise NotADirectoryError(f"--out {out} is a file; give a folder to write the pictures into")
    source, (X_train, X_test, y_train, y_test) = lesson_split(args.data, args.per_digit)
    print(f"minigraph demo: logistic regression on {source}, zeros vs ones")
    print(f"{len(X_train)} train / {len(X_test)} test images of {X_train.shape[1]} pixels; "
          f"{args.iterations} iterations at learning rate {args.learning_rate}")

    progress = None if args.no_progress else (lambda steps: tqdm(steps, desc="training", file=sys.stderr))
    model = LogisticRegression(
        learning_rate=args.learning_rate, iterations=args.iterations, progress=progress
    ).fit(X_train, y_train)
    for iteration in range(0, args.iterations, 10):
        print(f"cost after iteration {iteration:3d}: {model.cost_history_[iteration]:.6f}")
    print(f"minigraph     train accuracy {100 * model.score(X_train, y_train):6.2f} %   "
          f"test accuracy {100 * model.score(X_test, y_test):6.2f} %")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = SklearnLogisticRegression(max_iter=args.iterations).fit(X_train, y_train)
    print(f"scikit-learn  train accuracy {100 * reference.score(X_train, y_train):6.2f} %   "
          f"test accuracy {100 * reference.score(X_test, y_test):6.2f} %   "
          f"(LogisticRegression(max_iter={args.iterations}), L2-regularised, lbfgs)")

    out.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(np.arange(len(model.cost_history_)), model.cost_history_)
    axes.set(xlabel="iteration", ylabel="cost", title="minigraph logistic regression: cost")
    figure.tight_layout()
    figure.savefig(out / "cost.png", dpi=100)
    plt.close(figure)
    print(f"wrote {out / 'cost.png'}")

    mg.render(model.graph_, out / "graph.svg")
    print(f"wrote {out / 'graph.svg'} (the trained graph, values and gradients)")
    first = X_train[:3]
    labels = (y_train[:3] == model.classes_[1]).astype(float)
    start = logistic_regression_graph(
        mg.constant(first.T, name="x"), mg.constant(labels[np.newaxis, :], name="y"),
        mg.parameter(np.full((first.shape[1], 1), 0.01), name="w"), mg.parameter(0.0, name="b"),
    )
    mg.save_steps_html(start, out / "backprop.html",
                       title="Backprop, one node at a time: the lesson's first step on 3 images")
    print(f"wrote {out / 'backprop.html'} (open it in a browser and press the right arrow key)")
    return 0


def run_trace(args):
    import minigraph as mg
    from minigraph.models import tiny_example

    mg.explain(tiny_example())
    return 0


def run_render(args):
    import minigraph as mg
    from minigraph.models import LogisticRegression, tiny_example
    from minigraph.models.datasets import lesson_split

    if args.model == "tiny":
        graph = tiny_example()
        graph.backward()
    else:
        _, (X_train, _, y_train, _) = lesson_split(args.data)
        graph = LogisticRegression().fit(X_train, y_train).graph_
    print(f"wrote {mg.render(graph, args.file)}")
    return 0


COMMANDS = {"demo": run_demo, "trace": run_trace, "render": run_render}
