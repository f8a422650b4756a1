"""Optimizers: how parameters move once their gradients are known.

Each keeps its state as data you can look at: `optimizer.state[node]` is a dict of named
values (SGD's "velocity"; Adam's "step", "m" and "v") and `optimizer.steps` counts the steps
taken. `step()` updates every parameter that has a gradient in place
(`node.move_to`); replay the graph (`graph.forward()`) before the next backward.

A step is all or nothing: every parameter's new value is computed and checked first (a
gradient of the parameter's shape, a finite step, a finite result), so a bad gradient raises
an error naming its parameter and leaves every parameter and all the state as they were.

Two ways to keep weights small, which differ for Adam:
- L2 regularisation adds λ/2·‖W‖² to the cost (`mg.l2_penalty` as a graph term, or
  `weight_decay=λ` here, which adds λ·W to the gradient: the same thing);
- decoupled weight decay (`AdamW`) shrinks W by learning_rate·λ·W outside the gradient,
  so Adam's per-parameter scaling does not weaken it (Loshchilov & Hutter, 2019).
For plain SGD the two coincide.
"""

import cmath
import math
import numbers

import numpy as np

from .errors import NonFiniteError, ShapeError
from .graph import _first_non_finite, all_finite, element_sum
from .node import Node
from .quiet import restore, silence


def _number(owner, what, value, low, high=math.inf, low_open=False, high_open=True):
    """`value` as a float, or a ValueError saying which range it must lie in."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{owner}: {what} must be a number, got {value!r}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {what} must lie in {interval}, got {value!r}")
    return float(value)


class Optimizer:
    """The common part: the parameters, their state, the step count and the update loop.

    A subclass sets its own settings, then calls this `__init__`; it says what state each
    parameter starts with (`initial_state`) and, from a gradient and the state, which step
    to subtract and what the state becomes (`update`, which must not change `state` itself:
    the step commits it once every parameter's move has passed its checks).
    """

    def __init__(self, parameters, learning_rate):
        owner = type(self).__name__
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{owner}: no parameters to optimize")
        for position, node in enumerate(self.parameters):
            if not isinstance(node, Node) or node.op is not None or not node.requires_grad:
                what = repr(node.label) if isinstance(node, Node) else f"a {type(node).__name__}"
                raise TypeError(
                    f"{owner}: parameter {position} ({what}) is not a parameter leaf (mg.parameter)"
                )
        if len({id(node) for node in self.parameters}) != len(self.parameters):
            raise ValueError(f"{owner}: a parameter is listed twice, so it would move twice per step")
        self.learning_rate = _number(owner, "learning_rate", learning_rate, 0, low_open=True)
        self.steps = 0
        self.state = {node: self.initial_state(node) for node in self.parameters}

    def initial_state(self, node):
        return {}

    def update(self, node, grad, state):
        """(the array to subtract from node's value, the new values of state's entries)."""
        raise NotImplementedError

    def step(self):
        """Move every parameter that has a gradient; parameters without one stay put.

        A step where no parameter has a gradient is not counted. A gradient of the wrong
        shape raises ShapeError; a NaN or inf gradient, or a step or a moved value that
        overflows, raises NonFiniteError; either names the parameter, and then nothing has
        moved.
        """
        ready = [node for node in self.parameters if node.grad is not None]
        if not ready:
            return
        moves = []
        total = 0  # of every moved value: finite when all of them are (see element_sum)
        quiet = silence()  # a NaN or an overflow is reported below, by parameter
        try:
            for node in ready:
                grad, value = node.grad, node._value
                # Backward gives a parameter a gradient of its shape, but `w.grad = ...` or
                # `w.value = ...` may have changed either since: two reads and a comparison.
                if type(grad) is not np.ndarray or grad.shape != value.shape:
                    self._check_shape(node, grad)
                delta, state = self.update(node, grad, self.state[node])
                moved = value - delta
                if moved.dtype != value.dtype:  # a float64 gradient on a float32 parameter
                    moved = moved.astype(value.dtype)
                total += element_sum(moved)
                moves.append((node, delta, moved, state))
            if not cmath.isfinite(total):  # a NaN or inf somewhere, or only the total overflowed
                for node, delta, moved, _ in moves:
                    if not all_finite(moved):
                        raise self._refusal(node, delta, moved)
        finally:
            restore(quiet)
        self.steps += 1
        for node, _, moved, state in moves:
            if state:  # plain SGD keeps none
                self.state[node].update(state)
            node.move_to(moved)

    def _check_shape(self, node, grad):
        """ShapeError unless `grad` has the parameter's shape (a numpy scalar does for a 0-d one)."""
        if getattr(grad, "shape", None) != node.shape:
            got = f"of shape {grad.shape}" if hasattr(grad, "shape") else f"that is a {type(grad).__name__}"
            raise ShapeError(
                f"{type(self).__name__}: {node.label!r} has a gradient {got}, not of the parameter's "
                f"shape {node.shape}; no parameter was moved"
            )

    def _refusal(self, node, delta, moved):
        """Why `moved`, node's value after the step, holds a NaN or inf: its gradient holds
        one, the step overflowed, or the step took the value past the float's range."""
        if not all_finite(delta):
            return self._non_finite(node, node.grad, delta, f"the step for {node.label!r} overflows",
                                    "lower the learning rate or scale the cost down")
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(moved))[0])
        return NonFiniteError(
            f"{type(self).__name__}: the step for {node.label!r} takes it past {moved.dtype}'s range: "
            f"{node.value[index].item()!r} − {delta[index].item()!r} at index {index} is "
            f"{moved[index].item()!r}; scale the parameter down or lower the learning rate; "
            f"no parameter was moved"
        )

    def _non_finite(self, node, grad, result, what, advice):
        """The error for a NaN or inf in `result`: the gradient's own, else `what` overflowed."""
        owner = type(self).__name__
        if not all_finite(grad):
            return NonFiniteError(
                f"{owner}: the gradient of {node.label!r} holds {_first_non_finite(grad)}; no parameter was moved"
            )
        largest = float(np.abs(grad).max())
        return NonFiniteError(
            f"{owner}: {what}: {_first_non_finite(result)} from a finite gradient (largest |gradient| "
            f"{largest:.3g}) at learning_rate {self.learning_rate:g}; {advice}; no parameter was moved"
        )

    def zero_grad(self):
        """Forget the gradients (backward replaces them anyway; accumulate=True adds to them)."""
        for node in self.parameters:
            node.grad = None

    def __repr__(self):
        return f"<{type(self).__name__} of {len(self.parameters)} parameters, {self.steps} steps>"


class SGD(Optimizer):
    """Gradient descent, with optional momentum (heavy ball or Nesterov) and L2 weight decay.

        g ← ∇W + weight_decay·W
        v ← momentum·v + g                                (state "velocity")
        W ← W − learning_rate·v                           (momentum)
        W ← W − learning_rate·(g + momentum·v)            (nesterov=True)

    This is PyTorch's form (Sutskever et al., 2013). The course writes momentum as an
    average, v ← β·v + (1−β)·∇W; that is this rule with learning_rate·(1−β) in place of
    learning_rate.
    """

    def __init__(self, parameters, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        # Settings first: the base class creates each parameter's state from them.
        self.momentum = _number("SGD", "momentum", momentum, 0, 1)
        self.weight_decay = _number("SGD", "weight_decay", weight_decay, 0)
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs a momentum in (0, 1)")
        self.nesterov = bool(nesterov)
        super().__init__(parameters, learning_rate)

    def initial_state(self, node):
        return {"velocity": np.zeros_like(node.value)} if self.momentum else {}

    def update(self, node, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * node.value
        if not self.momentum:
            return self.learning_rate * grad, {}
        velocity = self.momentum * state["velocity"] + grad
        if self.nesterov:
            return self.learning_rate * (grad + self.momentum * velocity), {"velocity": velocity}
        return self.learning_rate * velocity, {"velocity": velocity}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction; weight_decay adds L2 to the gradient.

        g ← ∇W + weight_decay·W
        m ← β₁·m + (1−β₁)·g,   v ← β₂·v + (1−β₂)·g²       (state "m" and "v")
        m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ)                      (t: state "step")
        W ← W − learning_rate·m̂/(√v̂ + eps)

    t counts the steps of each parameter, as PyTorch's Adam keeps `state[p]["step"]`: a
    parameter whose first gradient arrives at the optimizer's sixth step takes its first
    step, bias-corrected as such (it moves by about learning_rate, not less).
    """

    decoupled = False

    def __init__(self, parameters, learning_rate=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        owner = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: betas must be a pair (β₁, β₂), got {betas!r}")
        self.betas = tuple(_number(owner, f"betas[{i}]", beta, 0, 1) for i, beta in enumerate(betas))
        self.eps = _number(owner, "eps", eps, 0, low_open=True)
        self.weight_decay = _number(owner, "weight_decay", weight_decay, 0)
        super().__init__(parameters, learning_rate)

    def initial_state(self, node):
        return {"step": 0, "m": np.zeros_like(node.value), "v": np.zeros_like(node.value)}

    def update(self, node, grad, state):
        beta1, beta2 = self.betas
        step = state["step"] + 1
        g = grad + self.weight_decay * node.value if self.weight_decay and not self.decoupled else grad
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
        # A g² past the float's range makes v inf and m̂/√v̂ = 0: the step would look fine
        # while the weight stopped moving for good (PyTorch's Adam does so, silently).
        if not all_finite(v):
            raise self._non_finite(node, grad, v, f"the squared gradient of {node.label!r} overflows in v",
                                   "scale the inputs or the cost down")
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        delta = self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        if self.decoupled:
            delta = delta + self.learning_rate * self.weight_decay * node.value
        return delta, {"step": step, "m": m, "v": v}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the Adam step on the
    plain gradient, plus a shrink of learning_rate·weight_decay·W taken outside it.

        W ← W − learning_rate·(m̂/(√v̂ + eps) + weight_decay·W)
    """

    decoupled = True

    def __init__(self, parameters, learning_rate=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(parameters, learning_rate, betas, eps, weight_decay)
