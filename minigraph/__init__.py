"""minigraph: a tiny reverse-mode autodiff engine on numpy, made to be read.

    import minigraph as mg
    w = mg.parameter([[0.5], [-0.2]], name="w")
    x = mg.constant([[1.0, 2.0, 3.0], [0.0, 1.0, 0.5]], name="x")
    cost = mg.mean(mg.sigmoid(w.T @ x))
    cost.backward()          # w.grad now holds d cost / d w
"""

# The one place the version is written: pyproject.toml reads it from here.
__version__ = "0.1.0"

from .errors import (
    DataError,
    DomainError,
    DotNotFoundError,
    NonFiniteError,
    OpContractError,
    SeedError,
    ShapeError,
    StaleGraphError,
)
from .context import is_grad_enabled, no_grad, scope
from .graph import Graph, topological_order, unbroadcast
from .node import Node, apply, as_node, constant, parameter
from .ops import Op, add, div, matmul, mul, neg, power, sub
from .arrays import mean, reshape, sum, transpose
from .activations import exp, leaky_relu, log, log_softmax, maximum, relu, sigmoid, softmax, tanh
from .stochastic import dropout, resample_dropout
from .conv import conv2d, flatten, max_pool2d
from .losses import l2_penalty, log_loss, log_loss_with_logits, softmax_cross_entropy
from .gradcheck import GradientCheckError, check_gradients
from .optim import SGD, Adam, AdamW
from . import data, layers
from .show.render import draw, render, to_dot
from .show.steps import backward_steps, forward_steps
from .show.narration import explain
from .show.player import save_steps_html

__all__ = [
    "Adam", "AdamW", "DataError", "DomainError", "DotNotFoundError", "GradientCheckError", "Graph", "Node",
    "NonFiniteError", "Op", "OpContractError", "SGD", "SeedError", "ShapeError", "StaleGraphError",
    "add", "apply", "as_node", "backward_steps", "check_gradients", "constant", "conv2d", "data", "div", "draw",
    "dropout", "exp", "explain", "flatten", "forward_steps", "is_grad_enabled", "l2_penalty", "layers",
    "leaky_relu", "log", "log_loss", "log_loss_with_logits", "log_softmax", "matmul", "max_pool2d", "maximum",
    "mean", "mul", "neg", "no_grad", "parameter", "power", "relu", "render", "resample_dropout",
    "reshape", "save_steps_html", "scope", "sigmoid", "softmax", "softmax_cross_entropy", "sub",
    "sum", "tanh", "to_dot", "topological_order", "transpose", "unbroadcast",
]


def __getattr__(name):
    """`mg.notebook` (the notebook widget) is imported on first use: it needs the optional
    anywidget, which `import minigraph` must not require. Without it, `mg.notebook` is an
    AttributeError that says what to install, so `hasattr(mg, "notebook")` is False."""
    if name == "notebook":
        import importlib

        try:
            return importlib.import_module(".show.notebook", __name__)
        except ImportError as error:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}: {error}") from error
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
