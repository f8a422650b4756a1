"""The `minigraph` command: `demo` runs the first lesson, `trace` narrates backprop on a
tiny example, `render` draws a model's graph to a file."""

import argparse
import pathlib
import sys
import warnings

DEMO_HELP = """\
Run the first lesson of deep learning: logistic regression as a minigraph graph.

Splits the data 85/15 (random_state 42), trains 150 full-batch gradient-descent
iterations at learning rate 0.01 from weights 0.01 and bias 0 with a progress bar,
prints the cost every 10 iterations and the train and test accuracy, with
scikit-learn's LogisticRegression on the same split beside it. Writes into --out:
cost.png (the cost curve), graph.svg (the trained graph with values and gradients)
and backprop.html (a step player of forward and backward on a small slice).

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

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (OSError, ValueError) as exc:  # bad paths and bad data: say what, not a traceback
        parser.exit(2, f"minigraph {args.command}: error: {exc}\n")


def run_demo(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

    from models import LogisticRegression
    from models.datasets import load_digits_binary, load_sign_language_digits

    if args.data is None:
        X, y = load_digits_binary()
        source = "scikit-learn's bundled digits (8x8)"
    else:
        X, y = load_sign_language_digits(args.data, max_per_digit=args.per_digit)
        source = f"Sign Language Digits from {args.data} (64x64)"
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=42)
    print(f"minigraph demo: logistic regression on {source}, zeros vs ones")
    print(f"{len(X_train)} train / {len(X_test)} test images of {X.shape[1]} pixels; "
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

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(np.arange(len(model.cost_history_)), model.cost_history_)
    axes.set(xlabel="iteration", ylabel="cost", title="minigraph logistic regression: cost")
    figure.tight_layout()
    figure.savefig(out / "cost.png", dpi=100)
    plt.close(figure)
    print(f"wrote {out / 'cost.png'}")
    return 0


COMMANDS = {"demo": run_demo}

if __name__ == "__main__":
    sys.exit(main())
