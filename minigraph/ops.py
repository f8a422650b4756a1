"""The primitive operations: each a class with its forward pass and local gradient side by side.

An op's `backward(grad, out, *inputs)` is a vector-Jacobian product: given the gradient
flowing into the op's output (`grad`), its output value (`out`) and its input values, it
returns one gradient per input, in input order. `formula` is the same maths as text; the
drawing and the step-by-step narration show it. Broadcasting is allowed in forward; the
engine sums each returned gradient back to its input's shape (`graph.unbroadcast`).

To add an op, subclass `Op`, fill in `name`, `formula`, `forward` and `backward`, and call
it through `apply(MyOp(), x)`: backward, drawing, steps and `check_gradients` all work.
"""

import numpy as np

from .node import Node, apply, as_node


class Op:
    """Base class of every op. Subclasses set `name` and `formula` and define the passes."""

    name = "op"
    formula = ""
    # True where forward is complex-analytic, so check_gradients(mode="complex") applies.
    complex_safe = False
    # Set by `apply`: which inputs need a gradient. None means all (an op used on its own).
    needs_input_grad = None
    # True where output element i depends only on input element i (after broadcasting), so
    # backward(ones) is the local derivative itself; the narration then shows its numbers.
    elementwise = False

    def wants_grad(self, index):
        return self.needs_input_grad is None or self.needs_input_grad[index]

    def check_shapes(self, *values):
        """A sentence saying why these shapes do not fit, or None."""
        return None

    def check_domain(self, *values):
        """A sentence saying which values are outside the op's domain, or None."""
        return None

    def forward(self, *values):
        raise NotImplementedError

    def backward(self, grad, out, *values):
        raise NotImplementedError

    def __str__(self):
        """The op as the drawing titles it: its name and any constant arguments."""
        return self.name


class Elementwise(Op):
    """An op on arrays whose shapes broadcast together."""

    elementwise = True

    def check_shapes(self, *values):
        shapes = [value.shape for value in values]
        if shapes.count(shapes[0]) == len(shapes):
            return None  # the common case, and np.broadcast_shapes costs microseconds
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return f"shapes {' and '.join(map(str, shapes))} do not broadcast together"
        return None


def first_bad(mask, values):
    """'-1.5 at index (0, 2)': the first value where mask is True, for error messages."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"{np.asarray(values)[index].item()!r} at index {index}"


def _binary(op, a, b, name):
    like = a if isinstance(a, Node) else b if isinstance(b, Node) else None
    return apply(op, as_node(a, like), as_node(b, like), name=name)


class MatMul(Op):
    name = "matmul"
    formula = "∂(A@B)/∂A: G @ Bᵀ;  ∂(A@B)/∂B: Aᵀ @ G"
    complex_safe = True

    def check_shapes(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            return (
                f"needs operands of 2 or more dimensions, got shapes {a.shape} and {b.shape} "
                f"(reshape a vector to a column (n, 1) or a row (1, n))"
            )
        if a.shape[-1] != b.shape[-2]:
            return (
                f"cannot multiply {a.shape} by {b.shape}: inner dimensions "
                f"{a.shape[-1]} and {b.shape[-2]} differ"
            )
        return None

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        # A constant input (the data x) needs no gradient, and skipping it halves the work.
        grad_a = grad @ b.swapaxes(-1, -2) if self.wants_grad(0) else None
        grad_b = a.swapaxes(-1, -2) @ grad if self.wants_grad(1) else None
        return grad_a, grad_b


def matmul(a, b, name=None):
    return _binary(MatMul(), a, b, name)


class Add(Elementwise):
    name = "add"
    formula = "∂(a+b)/∂a = 1;  ∂(a+b)/∂b = 1"
    complex_safe = True

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


def add(a, b, name=None):
    return _binary(Add(), a, b, name)


class Sub(Elementwise):
    name = "sub"
    formula = "∂(a−b)/∂a = 1;  ∂(a−b)/∂b = −1"
    complex_safe = True

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out, a, b):
        return grad, (-grad if self.wants_grad(1) else None)


def sub(a, b, name=None):
    return _binary(Sub(), a, b, name)


class Mul(Elementwise):
    name = "mul"
    formula = "∂(a·b)/∂a = b;  ∂(a·b)/∂b = a"
    complex_safe = True

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        # `2 * x` is common: the constant's gradient is not needed, so it is not computed.
        grad_a = grad * b if self.wants_grad(0) else None
        grad_b = grad * a if self.wants_grad(1) else None
        return grad_a, grad_b


def mul(a, b, name=None):
    return _binary(Mul(), a, b, name)


class Div(Elementwise):
    name = "div"
    formula = "∂(a/b)/∂a = 1/b;  ∂(a/b)/∂b = −a/b²"
    complex_safe = True

    def check_domain(self, a, b):
        zero = np.asarray(b) == 0
        return f"division by zero: divisor is {first_bad(zero, b)}" if zero.any() else None

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out, a, b):
        grad_a = grad / b if self.wants_grad(0) else None
        grad_b = -grad * out / b if self.wants_grad(1) else None
        return grad_a, grad_b


def div(a, b, name=None):
    return _binary(Div(), a, b, name)


class Power(Op):
    name = "power"
    formula = "∂(aᵖ)/∂a = p·aᵖ⁻¹"
    elementwise = True
    complex_safe = True

    def __init__(self, exponent):
        self.exponent = exponent

    def __str__(self):
        return f"power {self.exponent:g}"

    def check_domain(self, a):
        real = np.real(a)
        if self.exponent != int(self.exponent) and (real < 0).any():
            return f"fractional power {self.exponent} of a negative value: {first_bad(real < 0, a)}"
        if self.exponent < 1 and (real == 0).any():
            return f"power {self.exponent} of zero has no finite gradient: {first_bad(real == 0, a)}"
        return None

    def forward(self, a):
        return a**self.exponent

    def backward(self, grad, out, a):
        return (grad * self.exponent * a ** (self.exponent - 1),)


def power(a, exponent, name=None):
    """a ** exponent, for a constant number exponent."""
    if isinstance(exponent, bool) or not isinstance(exponent, (int, float, np.number)):
        raise TypeError(
            f"power: the exponent must be a plain number, got {type(exponent).__name__}; "
            f"for a variable exponent write exp(b * log(a))"
        )
    return apply(Power(float(exponent)), as_node(a), name=name)


class Neg(Op):
    name = "neg"
    formula = "∂(−a)/∂a = −1"
    elementwise = True
    complex_safe = True

    def forward(self, a):
        return -a

    def backward(self, grad, out, a):
        return (-grad,)


def neg(a, name=None):
    return apply(Neg(), as_node(a), name=name)


class Transpose(Op):
    name = "transpose"
    formula = "∂(aᵀ)/∂a: Gᵀ (the gradient transposed back)"
    complex_safe = True

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, grad, out, a):
        inverse = None if self.axes is None else np.argsort(self.axes)
        return (grad.transpose(inverse),)


def transpose(a, axes=None, name=None):
    return apply(Transpose(axes), as_node(a), name=name)


class Sum(Op):
    name = "sum"
    formula = "∂(Σa)/∂aᵢ = 1"
    complex_safe = True

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims

    def __str__(self):
        return self.name if self.axis is None else f"{self.name} axis={self.axis}"

    def check_shapes(self, a):
        axes = () if self.axis is None else np.atleast_1d(self.axis)
        if any(not -a.ndim <= axis < a.ndim for axis in axes):
            return f"axis {self.axis} is out of range for an array of shape {a.shape}"
        return None

    def forward(self, a):
        # np.add.reduce is np.sum without its Python wrapper, a few µs a call.
        return np.add.reduce(a, axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad, out, a):
        return (self._spread(grad, a),)

    def _spread(self, grad, a):
        """The output's gradient, repeated over every element that was summed."""
        if self.axis is not None and not self.keepdims:
            grad = np.expand_dims(grad, self.axis)
        return grad * np.ones(a.shape, a.dtype)


def sum(a, axis=None, keepdims=False, name=None):  # noqa: A001 (mirrors numpy's name)
    return apply(Sum(axis, keepdims), as_node(a), name=name)


class Mean(Sum):
    name = "mean"
    formula = "∂(mean a)/∂aᵢ = 1/n"

    def forward(self, a):
        total = super().forward(a)
        return total / self.count(a, total)

    def backward(self, grad, out, a):
        return (self._spread(grad / self.count(a, out), a),)

    @staticmethod
    def count(a, reduced):
        """How many elements of `a` went into each element of the result."""
        return a.size // max(reduced.size, 1)


def mean(a, axis=None, keepdims=False, name=None):
    return apply(Mean(axis, keepdims), as_node(a), name=name)


class Exp(Op):
    name = "exp"
    formula = "∂eᵃ/∂a = eᵃ"
    elementwise = True
    complex_safe = True

    def check_domain(self, a):
        limit = np.log(np.finfo(np.result_type(a, np.float32)).max)
        real = np.real(a)
        too_big = real > limit
        return f"exp overflows above {limit:.1f}: {first_bad(too_big, a)}" if too_big.any() else None

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out, a):
        return (grad * out,)


def exp(a, name=None):
    return apply(Exp(), as_node(a), name=name)


class Log(Op):
    name = "log"
    formula = "∂ln a/∂a = 1/a"
    elementwise = True
    complex_safe = True

    def check_domain(self, a):
        bad = np.real(a) <= 0
        return f"log of a value <= 0: {first_bad(bad, a)}" if bad.any() else None

    def forward(self, a):
        return np.log(a)

    def backward(self, grad, out, a):
        return (grad / a,)


def log(a, name=None):
    return apply(Log(), as_node(a), name=name)


class Tanh(Op):
    name = "tanh"
    formula = "∂tanh a/∂a = 1 − tanh²a"
    elementwise = True
    complex_safe = True

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, out, a):
        return (grad * (1 - out * out),)


def tanh(a, name=None):
    return apply(Tanh(), as_node(a), name=name)


class Relu(Op):
    name = "relu"
    formula = "∂relu(a)/∂a = 1 if a > 0 else 0"
    elementwise = True

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
    elementwise = True

    def forward(self, z):
        return stable_sigmoid(z)

    def backward(self, grad, out, z):
        return (grad * out * (1 - out),)


def sigmoid(z, name=None):
    return apply(Sigmoid(), as_node(z), name=name)
