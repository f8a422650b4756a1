"""The nonlinear functions a network applies between its linear steps, and exp and log.

Each is an op class with its forward pass, its local gradient and the formula, as in `ops`.
"""

import numpy as np

from .checks import first_bad
from .node import apply, as_node
from .ops import Op


class Exp(Op):
    name = "exp"
    formula = "∂eᵃ/∂a = eᵃ"
    derivatives = ("e^{a}",)
    elementwise = True
    complex_safe = True

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out, a):
        return (grad * out,)


def exp(a, name=None):
    return apply(Exp(), as_node(a), name=name)


class Log(Op):
    name = "log"
    formula = "∂ln a/∂a = 1/a"
    derivatives = ("1/{a}",)
    elementwise = True
    complex_safe = True

    def check_domain(self, a):
        real = np.real(a)
        bad = real <= 0
        if bad.any():
            return f"log of a value <= 0: {first_bad(bad, a)}"
        # Below 1/largest (subnormal numbers) the gradient 1/a would be inf.
        tiny = real < 1 / np.finfo(real.dtype).max
        if tiny.any():
            return f"log of a value so small that its gradient 1/a is inf: {first_bad(tiny, a)}"
        return None

    def forward(self, a):
        return np.log(a)

    def backward(self, grad, out, a):
        return (grad / a,)


def log(a, name=None):
    return apply(Log(), as_node(a), name=name)


class Tanh(Op):
    name = "tanh"
    formula = "∂tanh a/∂a = 1 − tanh²a"
    derivatives = ("1 − {out}²",)
    elementwise = True
    complex_safe = True
    can_overflow = False

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


def tanh(a, name=None):
    return apply(Tanh(), as_node(a), name=name)


class Relu(Op):
    name = "relu"
    formula = "∂relu(a)/∂a = 1 if a > 0 else 0"
    derivatives = ("1 where {a} > 0, else 0",)
    elementwise = True
    can_overflow = False

    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, out, a):
        return (grad * (a > 0),)


def relu(a, name=None):
    return apply(Relu(), as_node(a), name=name)


def stable_sigmoid(z):
    """1/(1+e⁻ᶻ), exactly 0 or 1 far out, with no warning.

    Below z ≈ −709 (−88 in float32) e⁻ᶻ overflows to inf and 1/(1+inf) is exactly 0,
    the right answer: only numpy's overflow warning is silenced, never a value. The
    formula is the textbook one on purpose, so costs match a hand-written loop to the bit.
    """
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


class Sigmoid(Op):
    name = "sigmoid"
    formula = "∂σ/∂z = σ(z)·(1−σ(z))"
    derivatives = ("{out}·(1−{out})",)
    elementwise = True
    can_overflow = False

    def forward(self, z):
        return stable_sigmoid(z)

    def backward(self, grad, out, z):
        return (grad * out * (1 - out),)


def sigmoid(z, name=None):
    return apply(Sigmoid(), as_node(z), name=name)
