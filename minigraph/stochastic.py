"""Randomness in a graph, kept as data: dropout and its masks.

`dropout(a, rate, rng)` multiplies a by a mask that is an ordinary constant input named
"mask": 0 for a dropped unit, 1/(1−rate) for a kept one (inverted dropout, so the
expected value is unchanged and nothing needs rescaling at prediction time). A drawing or
a step through the graph shows the mask like any other input, and replaying the graph
reuses it. `resample_dropout(graph, rng)` replays with fresh masks, one for each dropout,
drawn to the shape of its input's new value, so it also serves after a batch of another
size (where `graph.forward()` reports that the old mask no longer fits).
"""

import numbers

import numpy as np

from .graph import as_graph
from .node import apply, as_node, constant
from .ops import ALL, Op


def as_generator(rng):
    """A numpy Generator from a Generator, an int seed, or None (fresh, unseeded)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy Generator (np.random.default_rng(seed)), an int seed or None, "
        f"got {type(rng).__name__}"
    )


def checked_rate(rate):
    """The dropout rate as a float in [0, 1), or a ValueError."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(
            f"dropout: rate (the fraction of units dropped) must be a number in [0, 1), got {rate!r}"
        )
    return float(rate)


def draw_mask(shape, dtype, rate, rng):
    """Each element 0 with probability `rate`, else 1/(1−rate)."""
    keep = rng.random(shape) >= rate
    return (keep / (1 - rate)).astype(dtype)


class Dropout(Op):
    name = "dropout"
    element_formula = "{a}·{mask}"
    derivatives = ("{mask}", "{a}")
    formula = "∂(a·mask)/∂a = mask: 0 where dropped, 1/(1−rate) where kept"
    elementwise = True

    def __init__(self, rate):
        self.rate = rate

    def __str__(self):
        return f"dropout {self.rate:g}"

    def keywords(self):
        return [f"rate={self.rate:g}"]

    def check_shapes(self, a, mask):
        if a.shape != mask.shape:
            return (
                f"the mask has shape {mask.shape} but the input has {a.shape}; after feeding a "
                f"batch of another size, replay with mg.resample_dropout(graph, rng), which "
                f"draws masks that fit, instead of graph.forward()"
            )
        return None

    def forward(self, a, mask):
        return a * mask

    def backward(self, grad, out, a, mask, needs=ALL):
        return grad * mask, (grad * a if needs[1] else None)


def dropout(a, rate, rng, name=None):
    """Inverted dropout while training: each element of a is dropped (set to 0) with
    probability `rate` and the others are divided by 1 − rate.

    The mask is a constant input named "mask", drawn from `rng` (a numpy Generator or an
    int seed); replay reuses it until `resample_dropout` draws a new one.
    """
    a = as_node(a)
    rate = checked_rate(rate)
    mask = constant(draw_mask(a.shape, a.dtype, rate, as_generator(rng)), name="mask")
    return apply(Dropout(rate), a, mask, name=name)


def resample_dropout(graph, rng):
    """Replay `graph` (a Graph or its output node) forward with a new mask for every
    dropout in it; return the output's value, as Graph.forward does.

    Each mask is drawn just before its dropout runs, to the shape of its input's new value.
    """
    graph = as_graph(graph)
    rng = as_generator(rng)
    fed_by = {}
    for node in graph.nodes:
        if isinstance(node.op, Dropout):
            fed_by.setdefault(id(node.inputs[0]), []).append(node)

    def draw_masks_fed_by(node):
        for user in fed_by.get(id(node), ()):
            user.inputs[1].value = draw_mask(node.shape, node.dtype, user.op.rate, rng)

    for leaf in graph.leaves:
        draw_masks_fed_by(leaf)
    for node in graph.forward_steps():
        draw_masks_fed_by(node)
    return graph.output.value
