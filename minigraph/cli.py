"""The `minigraph` command: `demo` runs a lesson (logistic regression, the two-layer network,
the ten-digit MLP), `trace` narrates backprop on a tiny example or on your own graph,
`render` draws a graph to a file."""

import argparse
import inspect
import os
import pathlib
import runpy
import sys
import traceback
import warnings

from . import __version__
from .cli_demo import add_network_demo_options, defaults_text, run_network_demo, settle_demo_options, small_split_warnings
from .show.narration import NARRATED
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
images of each digit. A train or test split of fewer than 30 images gets a warning:
its accuracy means little.

--model two-layer runs the second lesson on the same data: one hidden layer of tanh
units (--hidden, default 4) and a sigmoid output, 1000 full-batch iterations at
learning rate 0.01, the cost printed every 100 iterations, scikit-learn's
MLPClassifier with the same layers and full-batch gradient descent beside it.
--model mlp runs the third lesson on all ten digits (split 85/15, stratified, each
pixel standardized over the training images): hidden ReLU layers (--hidden 64 or
--hidden 128,64), softmax output, minibatches of
--batch-size 64, --epochs 30 with --optimizer adam (or sgd, momentum) at learning
rate 0.001, the mean cost printed every 10 epochs, scikit-learn's MLPClassifier with
the same layers, epochs and batch size beside it. Both draw their weights from --seed
(default 1); their graphs draw one box per layer, and backprop.html steps through the
first training step on the first 3 images.
--model cnn runs the fourth lesson on all ten digits: CNNClassifier's defaults (three
blocks of 3x3 convolutions, 16, 32 and 32 filters, ReLU and 2x2 max-pooling; a dense
layer of --hidden 64 units with dropout 0.3; random shifts of up to 4 pixels; --epochs
40 of --batch-size 64; --seed 0), lesson 3's MLP from scikit-learn beside it. On the
bundled 8x8 digits one conv block serves.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="minigraph", description="A tiny autodiff engine on numpy, made to be read."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run a lesson: logistic regression (the first), --model two-layer, mlp or cnn",
        description=DEMO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--data", metavar="PATH", help="Sign Language Digits folder (default: bundled digits)")
    demo.add_argument("--out", metavar="DIR", default="minigraph-out", help="output folder (default: %(default)s)")
    demo.add_argument("--iterations", type=int, help=f"gradient-descent steps ({defaults_text('iterations')})")
    demo.add_argument("--learning-rate", type=float, help=f"step size ({defaults_text('learning_rate')})")
    demo.add_argument("--per-digit", type=int, metavar="N",
                      help="with --data: first N images of each digit (the classic lesson; the other "
                           f"lessons take them all) ({defaults_text('per_digit')})")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_network_demo_options(demo)

    add_trace_command(commands)
    add_render_command(commands)

    args = parse(parser, commands, argv)
    # A failure a user can act on, or Ctrl-C, ends with one line on stderr, not a traceback.
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        parser.exit(INTERRUPTED, f"minigraph {args.command}: interrupted\n")
    except BrokenPipeError:
        # The reader stopped early (`minigraph trace | head`): no error to report. Python's
        # advice: point stdout at devnull so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # the shell's code for a command ended by SIGPIPE (128 + 13)
    except USER_ERRORS as exc:
        message = " ".join(str(exc).splitlines()) or type(exc).__name__
        parser.exit(2, f"minigraph {args.command}: error: {message}\n")


def parse(parser, commands, argv):
    """The parsed arguments. An argument the command does not know is reported by that
    command, with its usage listing the options it has (argparse's parse_args would show
    the top-level usage, which lists none of them)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def run_demo(args):
    settle_demo_options(args)
    if args.model != "logistic":
        return run_network_demo(args)
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
    for warning in small_split_warnings(len(X_train), len(X_test)):
        print(warning)

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


# trace and render ---------------------------------------------------------------------------

MODEL_HELP = (
    "tiny: the lesson's graph on 2 features x 3 samples; lesson: logistic regression trained "
    "as in 'demo'; FILE.py:FUNCTION: the graph your function returns (a Node or Graph; it is "
    "called with no arguments) (default: %(default)s)"
)
USEFUL_FORMATS = "such as .svg, .png or .pdf"


def add_model_options(command):
    command.add_argument("--model", default="tiny", metavar="tiny|lesson|FILE.py:FUNCTION", help=MODEL_HELP)
    command.add_argument("--data", metavar="PATH", help="with --model lesson: Sign Language Digits folder")


def add_trace_command(commands):
    trace = commands.add_parser(
        "trace", help="narrate forward and backward propagation, step by step",
        description="Print every step of forward and backward propagation through a graph, with "
                    "the real numbers: by default the lesson's graph on 2 features x 3 samples. "
                    "The output must be a scalar (a cost).",
    )
    add_model_options(trace)
    trace.add_argument("--max-shown", type=int, default=NARRATED, metavar="N",
                       help="print arrays of up to N elements in full, larger ones by their min, max "
                            "and count of zeros (default: %(default)s)")


def add_render_command(commands):
    render = commands.add_parser(
        "render", help="draw a graph to a file",
        description="Draw a graph with its values and, for a scalar output, the gradients of one "
                    "backward pass. The format (svg, png, pdf) comes from the file name. Needs "
                    "Graphviz's dot.",
    )
    render.add_argument("file", help="where to write, e.g. graph.svg")
    add_model_options(render)
    render.add_argument("--rankdir", choices=["LR", "TB"],
                        help="lay the graph out left to right or top to bottom (default: left to "
                             "right if that fits --width, else top to bottom)")
    render.add_argument("--width", type=int, default=700, metavar="PX",
                        help="the width in CSS pixels the picture is shown in, such as a docs "
                             "column (default: %(default)s)")


def run_trace(args):
    import minigraph as mg

    graph = load_model(args)
    if graph.output.value.size != 1:
        raise ValueError(f"--model {args.model}: trace narrates backward from a scalar (a cost), "
                         f"but {graph.label(graph.output)!r} has shape {graph.output.shape}; "
                         f"reduce it with mean or sum")
    mg.explain(graph, max_shown=args.max_shown)
    return 0


def run_render(args):
    import minigraph as mg

    check_format(args.file)  # before any training: a wrong suffix is found at once
    graph = load_model(args)
    scalar = graph.output.value.size == 1
    if scalar:
        graph.backward()
    path = mg.render(graph, args.file, rankdir=args.rankdir, width=args.width)
    print(f"wrote {path}" + ("" if scalar else " (values only: backward needs a scalar output)"))
    return 0


def check_format(file):
    """Refuse a file name whose suffix Graphviz cannot write, naming the useful ones."""
    import graphviz

    path = pathlib.Path(file)
    suffix = path.suffix.lstrip(".").lower()
    if not suffix:
        raise ValueError(f"cannot tell the format of {path}: give it a suffix {USEFUL_FORMATS}")
    if suffix not in graphviz.FORMATS:
        raise ValueError(f"cannot write {path}: Graphviz knows no format {suffix!r}; "
                         f"name the file {USEFUL_FORMATS}")


def load_model(args):
    """The graph `--model` names, ready to narrate or draw."""
    import minigraph as mg

    if args.data is not None and args.model != "lesson":
        raise ValueError(f"--data is only used with --model lesson, not with --model {args.model}")
    if args.model not in ("tiny", "lesson"):
        return load_user_graph(args.model, args.command)  # without importing scikit-learn, which takes seconds
    from minigraph.models import LogisticRegression, tiny_example
    from minigraph.models.datasets import lesson_split

    if args.model == "tiny":
        return mg.Graph(tiny_example())
    _, (X_train, _, y_train, _) = lesson_split(args.data)
    return LogisticRegression().fit(X_train, y_train).graph_


def load_user_graph(spec, command):
    """The Graph returned by FUNCTION in FILE.py, for `--model FILE.py:FUNCTION`.

    The file runs as a script would (its folder first on sys.path, so it can import its
    neighbours; `sys.argv` is `[FILE]`), but not as __main__, so its `if __name__ ==
    "__main__":` part does not run. If the file or the function fails, the error is shown
    as Python would show it, from the user's own frames on (see `UsersCode`).
    """
    import minigraph as mg

    file, colon, name = spec.rpartition(":")
    if not colon or not file.endswith(".py") or not name.isidentifier():
        raise ValueError(f"--model takes tiny, lesson or FILE.py:FUNCTION, got {spec!r}")
    path = pathlib.Path(file)
    if path.is_dir():
        raise IsADirectoryError(f"--model {spec}: {path} is a folder, not a Python file")
    if not path.is_file():
        raise FileNotFoundError(f"--model {spec}: there is no file {path}")
    with UsersCode(command, spec, path):
        namespace = runpy.run_path(str(path), run_name=f"minigraph_model_{path.stem}")
    function = namespace.get(name)
    if not callable(function):
        raise ValueError(f"--model {spec}: {path} defines no function {name!r}")
    try:
        inspect.signature(function).bind()
    except TypeError:
        raise ValueError(f"--model {spec}: {name}{inspect.signature(function)} needs arguments; "
                         f"give them defaults, or write a function that takes none") from None
    except ValueError:
        pass  # a callable without a signature Python can read: just call it
    with UsersCode(command, spec, path):
        result = function()
    if isinstance(result, mg.Node):
        return mg.Graph(result)
    if isinstance(result, mg.Graph):
        return result
    raise ValueError(f"--model {spec}: {name}() returned {type(result).__name__}, "
                     f"not a minigraph Node or Graph")


class UsersCode:
    """Runs the user's file or function as their own script: its folder first on sys.path,
    `sys.argv = [FILE]`, both given back after. An exception from their code is printed as
    Python prints it, but from their first frame on (not this CLI's or runpy's), and ends
    the command with exit code 1, as their script would have ended."""

    def __init__(self, command, spec, path):
        self.header = f"minigraph {command}: --model {spec}: {path} failed:\n"
        self.path, self.folder = path, str(path.resolve().parent)

    def __enter__(self):
        self.argv, sys.argv = sys.argv, [str(self.path)]
        sys.path.insert(0, self.folder)

    def __exit__(self, kind, error, trace):
        sys.argv = self.argv
        sys.path.remove(self.folder)
        if kind is None or not issubclass(kind, Exception):
            return False  # Ctrl-C and SystemExit go on as they came
        if issubclass(kind, SyntaxError):
            trace = None  # it names its own file, line and column
        users = self.path.resolve()
        while trace is not None and pathlib.Path(trace.tb_frame.f_code.co_filename).resolve() != users:
            trace = trace.tb_next
        shown = traceback.TracebackException(kind, error, trace)
        if kind.__module__.startswith("minigraph."):
            # minigraph's own error names the fault; the user's line is where to fix it.
            package = pathlib.Path(__file__).resolve().parent
            shown.stack = traceback.StackSummary.from_list(
                [frame for frame in shown.stack if package not in pathlib.Path(frame.filename).resolve().parents]
            )
        sys.stderr.write(self.header + "".join(shown.format()))
        raise SystemExit(1) from None


COMMANDS = {"demo": run_demo, "trace": run_trace, "render": run_render}
