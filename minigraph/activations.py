"""The nonlinear functions a network applies between its linear steps (tanh, sigmoid, relu,
leaky_relu, maximum), softmax over the classes, and exp and log.

Each is an op class with its forward pass, its local gradient and the formula, as in `ops`.
"""

import numbers

import numpy as np

from . import worked
from .checks import first_bad
from .node import apply, as_node
from .ops import ALL, Elementwise, Op, _binary
from .quiet import restore, silence


class Exp(Op):
    name = "exp"
    element_formula = "e^{a}"
    formula = "∂eᵃ/∂a = eᵃ"
    derivatives = ("e^{a}",)
    elementwise = True
    complex_safe = True

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out, a):
        return (grad * out,)


_EXP = Exp()


def exp(a, name=None):
    return apply(_EXP, as_node(a), name=name)


class Log(Op):
    name = "log"
    element_formula = "ln {a}"
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


_LOG = Log()


def log(a, name=None):
    return apply(_LOG, as_node(a), name=name)


class Tanh(Op):
    name = "tanh"
    element_formula = "tanh {a}"
    role = "activation"
    formula = "∂tanh a/∂a = 1 − tanh²a"
    derivatives = ("1 − {out}²",)
    elementwise = True
    complex_safe = True
    can_overflow = False

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


_TANH = Tanh()


def tanh(a, name=None):
    return apply(_TANH, as_node(a), name=name)


class Relu(Op):
    name = "relu"
    element_formula = "max({a}, 0)"
    role = "activation"
    formula = "∂relu(a)/∂a = 1 if a > 0 else 0"
    derivatives = ("1 where {a} > 0, else 0",)
    elementwise = True
    can_overflow = False

    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, out, a):
        return (grad * (a > 0),)


_RELU = Relu()


def relu(a, name=None):
    return apply(_RELU, as_node(a), name=name)


def stable_sigmoid(z):
    """1/(1+e⁻ᶻ), exactly 0 or 1 far out, with no warning.

    Below z ≈ −709 (−88 in float32) e⁻ᶻ overflows to inf and 1/(1+inf) is exactly 0,
    the right answer: only numpy's overflow warning is silenced, never a value. The
    formula is the textbook one on purpose, so costs match a hand-written loop to the bit.
    """
    quiet = silence()
    try:
        return 1 / (1 + np.exp(-z))
    finally:
        restore(quiet)


class Sigmoid(Op):
    name = "sigmoid"
    element_formula = "1/(1 + e^−{z})"
    role = "probability"
    formula = "∂σ/∂z = σ(z)·(1−σ(z))"
    derivatives = ("{out}·(1−{out})",)
    elementwise = True
    can_overflow = False

    def forward(self, z):
        return stable_sigmoid(z)

    def backward(self, grad, out, z):
        return (grad * out * (1 - out),)


_SIGMOID = Sigmoid()


def sigmoid(z, name=None):
    return apply(_SIGMOID, as_node(z), name=name)


def softmax_of(z, axis):
    """e^z / Σ e^z along `axis`, with the largest z shifted to 0 first: then no exp can
    overflow and the sum is at least 1, so logits of ±1e4 give finite probabilities."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def log_softmax_of(z, axis):
    """z − log Σ e^z along `axis`, computed on shifted logits as softmax_of does, so a
    probability that rounds to 0 still has a finite log.

    The largest shifted logit is 0 and its term is exactly 1, so log Σ = log1p(the other
    terms): a confident prediction's small cost keeps all its digits (as log1p keeps them
    in log_loss_with_logits) instead of being rounded through log(1 + tiny).
    """
    largest = np.argmax(z, axis=axis, keepdims=True)
    shifted = z - np.take_along_axis(z, largest, axis)
    others = np.exp(shifted)
    np.put_along_axis(others, largest, 0, axis)
    return shifted - np.log1p(np.add.reduce(others, axis=axis, keepdims=True))


class AlongAxis(Op):
    """An op that normalises over one axis: the classes, axis 0 when samples are columns."""

    # Subtracting the largest logit is exact for any constant, complex ones too.
    complex_safe = True

    def __init__(self, axis=0):
        self.axis = axis

    def __str__(self):
        return f"{self.name} axis={self.axis}"

    def keywords(self):
        return [f"axis={self.axis!r}"]

    def check_shapes(self, z):
        if isinstance(self.axis, bool) or not isinstance(self.axis, numbers.Integral):
            return f"axis must be one whole number, got {self.axis!r}"
        if not -z.ndim <= self.axis < z.ndim:
            return f"axis {self.axis} is out of range for an array of {z.ndim} dimension(s)"
        if z.shape[self.axis] == 0:
            return f"there is nothing to normalise over: axis {self.axis} of {z.shape} is empty"
        return None

    def worked_place(self, z):
        """Where the worked element of `z` is: (the axis counted from 0, the element's
        position (the last one), the index of the slice along the axis through it)."""
        axis = self.axis % z.ndim
        position = worked.last(z.shape)
        return axis, position, worked.along(position, axis, z.shape[axis])

    def worked_slice(self, z):
        """The worked slice along the axis (the last sample), its name-to-be and e^z of it.

        e^z is shown unshifted when it cannot overflow; otherwise minus the largest z,
        which leaves every ratio unchanged (the forward pass always shifts)."""
        axis, position, index = self.worked_place(z)
        picked = z[index]
        shift = 0.0 if np.abs(picked).max() < 80 else picked.max()
        return axis, position, picked, shift, np.exp(picked - shift)

    def exp_sum_lines(self, label, z):
        axis, position, picked, shift, e = self.worked_slice(z)
        where = worked.slice_name(label, position, axis, z.ndim)
        exponent = "e^z" if shift == 0 else f"e^(z − {worked.number(shift)})"
        return axis, position, e, [f"{where}: z = {worked.row(picked)}, {exponent} = {worked.row(e)}, "
                                   f"Σ {exponent} = {worked.addition(e)} = {worked.number(e.sum())}"]


class Softmax(AlongAxis):
    name = "softmax"
    role = "probability"
    formula = "pᵢ = e^zᵢ / Σₖ e^zₖ;  ∂L/∂zᵢ = pᵢ·(gᵢ − Σₖ gₖ·pₖ), g = ∂L/∂p"
    # Analytic, but the complex division in e^z / Σe^z mixes real parts into the imaginary
    # one, so the complex step is accurate only to ε of the terms, not of a tiny derivative
    # (at z = [-14, 8] it is off by 2e-6 relative). Central differences check it instead.
    complex_safe = False

    def forward(self, z):
        return softmax_of(z, self.axis)

    def worked_forward(self, labels, out, z):
        Z, O = labels
        axis, position, e, lines = self.exp_sum_lines(Z, z)
        p = out[worked.along(position, axis, z.shape[axis])]
        return lines + [f"{worked.slice_name(O, position, axis, z.ndim)} = e^z / Σ = {worked.row(e)} / "
                        f"{worked.number(e.sum())} = {worked.row(p)} (adds up to 1)"]

    def worked_backward(self, labels, grad, out, z):
        Z, O = labels
        axis, position, picked = self.worked_place(z)
        p, g = out[picked], grad[picked]
        s = np.add.reduce(g * p)
        sent = self.backward(grad, out, z)[0]
        k = position[axis]
        return [f"with p = {O} and g = the gradient arriving at it, along {worked.slice_name(O, position, axis, z.ndim)}: "
                f"Σₖ gₖ·pₖ = {worked.dot(g, p)} = {worked.number(s)}",
                f"to {worked.at(Z, position)}: pᵢ·(gᵢ − Σₖ gₖ·pₖ) = {worked.operand(p[k])}·({worked.operand(g[k])} − "
                f"{worked.operand(s)}) = {worked.number(sent[position])}"]

    def backward(self, grad, out, z):
        # The Jacobian diag(p) − p pᵀ, applied to G without building it.
        return (out * (grad - np.add.reduce(grad * out, axis=self.axis, keepdims=True)),)


def softmax(z, axis=0, name=None):
    """Probabilities over `axis` (the classes; samples are columns, so axis 0): each
    slice along it is positive and sums to 1."""
    return apply(Softmax(axis), as_node(z), name=name)


class LogSoftmax(AlongAxis):
    name = "log_softmax"
    formula = "log pᵢ = zᵢ − log Σₖ e^zₖ;  ∂L/∂zᵢ = gᵢ − pᵢ·Σₖ gₖ, g = ∂L/∂log p"

    def forward(self, z):
        return log_softmax_of(z, self.axis)

    def worked_forward(self, labels, out, z):
        Z, O = labels
        axis, position, e, lines = self.exp_sum_lines(Z, z)
        _, _, picked, shift, _ = self.worked_slice(z)
        log_sum = np.log(e.sum()) + shift
        return lines + [f"{worked.at(O, position)} = z − ln Σ e^z = {worked.operand(z[position])} − "
                        f"{worked.operand(log_sum)} = {worked.number(out[position])}"]

    def worked_backward(self, labels, grad, out, z):
        Z, O = labels
        axis, position, picked = self.worked_place(z)
        g = grad[picked]
        p = np.exp(out[position])
        sent = self.backward(grad, out, z)[0]
        return [f"with p = e^{O} (softmax) and g = the gradient arriving at {O}, along "
                f"{worked.slice_name(O, position, axis, z.ndim)}: Σₖ gₖ = {worked.addition(g)} = {worked.number(g.sum())}",
                f"to {worked.at(Z, position)}: gᵢ − pᵢ·Σₖ gₖ = {worked.operand(grad[position])} − "
                f"{worked.operand(p)}·{worked.operand(g.sum())} = {worked.number(sent[position])}"]

    def backward(self, grad, out, z):
        return (grad - np.exp(out) * np.add.reduce(grad, axis=self.axis, keepdims=True),)


def log_softmax(z, axis=0, name=None):
    """log softmax(z) over `axis`, finite even where a probability rounds to 0."""
    return apply(LogSoftmax(axis), as_node(z), name=name)


class Maximum(Elementwise):
    name = "maximum"
    element_formula = "max({a}, {b})"
    derivatives = ("1 where {a} > {b}, ½ where {a} = {b}, else 0", "1 where {b} > {a}, ½ where {a} = {b}, else 0")
    formula = "∂max(a,b)/∂a = 1 where a > b, ½ where a = b, 0 where a < b (and likewise for b)"
    can_overflow = False

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, grad, out, a, b, needs=ALL):
        # A tie splits the gradient evenly (as PyTorch and JAX do): the average of the
        # two one-sided derivatives, and the two shares still add up to grad.
        tie = a == b
        grad_a = np.where(a > b, grad, np.where(tie, grad / 2, 0)) if needs[0] else None
        grad_b = np.where(b > a, grad, np.where(tie, grad / 2, 0)) if needs[1] else None
        return grad_a, grad_b


_MAXIMUM = Maximum()


def maximum(a, b, name=None):
    """The larger of a and b, element by element (they broadcast); on a tie each gets half
    the gradient."""
    return _binary(_MAXIMUM, a, b, name)


class LeakyRelu(Op):
    name = "leaky_relu"
    role = "activation"
    formula = "∂leaky_relu(a)/∂a = 1 if a > 0 else slope"
    elementwise = True
    can_overflow = False  # the slope lies in [0, 1], so |output| ≤ |input|

    def __init__(self, slope):
        self.slope = slope

    def __str__(self):
        return f"leaky_relu {self.slope:g}"

    def keywords(self):
        return [f"slope={self.slope:g}"]

    @property
    def derivatives(self):
        return (f"1 where {{a}} > 0, else {self.slope:g}",)

    @property
    def element_formula(self):
        return f"{{a}} if {{a}} > 0 else {self.slope:g}·{{a}}"

    def forward(self, a):
        return np.where(a > 0, a, self.slope * a)

    def backward(self, grad, out, a):
        # At 0 the slope, as relu takes 0 there: the derivative from the left.
        return (np.where(a > 0, grad, self.slope * grad),)


def leaky_relu(a, slope=0.01, name=None):
    """a where a > 0, slope·a elsewhere: a ReLU whose negative side still passes a
    gradient, so a unit that went negative can recover. slope lies in [0, 1]."""
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real) or not 0 <= slope <= 1:
        raise ValueError(f"leaky_relu: slope must be a number in [0, 1], got {slope!r}")
    return apply(LeakyRelu(float(slope)), as_node(a), name=name)
