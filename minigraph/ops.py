"""The primitive operations: each a class with its forward pass and local gradient side by side.

An op's `backward(grad, out, *inputs)` is a vector-Jacobian product: given the gradient
flowing into the op's output (`grad`), its output value (`out`) and its input values, it
returns one gradient per input, in input order. `formula` is the same maths as text; the
drawing shows it. Beside it, `derivatives` (elementwise ops) or `sends` (the others) hold
one template per input that the step-by-step narration fills in with the graph's own
labels and numbers (see `formulas`). Broadcasting is allowed in forward; the engine sums
each returned gradient back to its input's shape (`graph.unbroadcast`).

An op object holds no state of its own use: which inputs need a gradient belongs to the
node, and reaches `backward` as `needs` when backward declares that parameter, so one op
object can be applied any number of times: the functions below share one object per op
class that takes no constants (`_ADD`), and create one where it does (`Power(exponent)`).
This module holds the base class, arithmetic and matmul; transpose, reshape and the
reductions are in `arrays`, the nonlinear functions in `activations`, the losses in
`losses`.

To add an op, subclass `Op`, fill in `name`, `formula` (and `derivatives` or `sends`),
`forward` and `backward`, and call it through `apply(MyOp(), x)`: backward, drawing, steps
and `check_gradients` all work.
"""

import inspect
import math
import numbers

import numpy as np

from . import worked
from .checks import first_bad
from .formulas import input_names
from .node import Node, apply, as_node

# `needs` when an op's backward is called on its own (check_local_gradient): every input.
ALL = (True, True)


class Op:
    """Base class of every op. Subclasses set `name` and `formula` and define the passes."""

    name = "op"
    formula = ""
    # The narration's words for the local gradient, one template per input, naming inputs by
    # forward's parameter names, {out}, {grad} (the gradient arriving), {n} and {op.<attr>}
    # (see `formulas`). Elementwise ops give ∂out/∂input: Mul's `derivatives` are ("{b}",
    # "{a}"). The others give what backward sends: MatMul's `sends` are ("{grad} @ {b.mT}",
    # "{a.mT} @ {grad}"). Without them the narration shows the formula and the numbers.
    derivatives = ()
    sends = ()
    # True where forward is complex-analytic, so check_gradients(mode="complex") applies.
    complex_safe = False
    # True where output element i depends only on input element i (after broadcasting), so
    # backward(ones) is the local derivative itself; the narration then shows its numbers.
    elementwise = False
    # True where finite inputs can give an inf (overflow): apply then checks the result.
    can_overflow = True
    # Set from backward's signature: True when it takes `needs`, the tuple saying which
    # inputs need a gradient (so it can skip computing the others).
    takes_needs = False

    # True where check_shapes only asks whether the inputs broadcast together (Elementwise).
    broadcasts = False
    # Set from the class: which of the two checks it overrides, so apply calls only those
    # (checks_inputs: either of them).
    checks_shapes = checks_domain = checks_inputs = False
    # Execution-only fusion (Graph.backward(fuse=True)): the op class whose output this op
    # can take its gradient straight through, with fused_backward(grad, that op's output,
    # *this op's other inputs) giving the gradient for that op's input.
    fuses_after = None
    # What the op's output is in the course's notation, for the label of an unnamed node
    # (display.role_label): "loss", "probability" (ŷ, or a hidden a), "activation" (a).
    role = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.takes_needs = "needs" in inspect.signature(cls.backward).parameters
        cls.checks_shapes = cls.check_shapes is not Op.check_shapes
        cls.checks_domain = cls.check_domain is not Op.check_domain
        cls.checks_inputs = cls.checks_shapes or cls.checks_domain

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

    # For the ops written with Python's operators: "{} + {}" (see `expression`).
    infix = None

    # Elementwise ops: one output element from its inputs' elements, by forward's parameter
    # names ("{a} + {b}", "1/(1 + e^(−{z}))"); the narration fills it with labels, then numbers.
    element_formula = None

    def worked_forward(self, labels, out, *values):
        """Lines that work out one element of `out` from the inputs' numbers, or None.

        `labels` are the inputs' labels in input order, then the output's (see `worked`).
        Elementwise ops with an `element_formula` get this for free; override it to show
        your op's arithmetic (a dot product, a sum and its count, a softmax row).
        """
        if self.element_formula is None:
            return None
        return worked.elementwise_forward(self, input_names(self, len(values)), labels, out, values)

    def worked_backward(self, labels, grad, out, *values):
        """Lines that work out one element of each input's gradient from `grad` (called g
        in them: the gradient arriving at the output) and the numbers, or None.

        Elementwise ops need none: the narration works their element out from
        `derivatives`. Override it for an op whose gradient mixes elements.
        """
        return None

    def keywords(self):
        """The op's constant arguments as Python writes them in a call: ['axis=1']."""
        return []

    def expression(self, *labels):
        """The op applied to its inputs' labels as a learner writes it in Python:
        'softmax_cross_entropy(scores, labels, axis=1)', 'wᵀ @ x', 'matmul + b'."""
        if self.infix is not None:
            return self.infix.format(*labels)
        return f"{self.name}({', '.join([*labels, *self.keywords()])})"


class Elementwise(Op):
    """An op on arrays whose shapes broadcast together."""

    elementwise = True
    broadcasts = True  # apply skips check_shapes where two shapes are equal or one is ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass with a check_shapes of its own may refuse equal shapes: ask it always.
        cls.broadcasts = cls.check_shapes is Elementwise.check_shapes

    def check_shapes(self, *values):
        shapes = [value.shape for value in values]
        if shapes.count(shapes[0]) == len(shapes):
            return None
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return f"shapes {' and '.join(map(str, shapes))} do not broadcast together"
        return None


def _binary(op, a, b, name):
    """apply(op, a, b) where either may be a number or an array: it becomes a constant, of
    the other's dtype if it is a Python number and the other a node."""
    if isinstance(a, Node):
        if not isinstance(b, Node):
            b = as_node(b, a)
    elif isinstance(b, Node):
        a = as_node(a, b)
    else:
        a, b = as_node(a), as_node(b)
    return apply(op, a, b, name=name)


class MatMul(Op):
    name = "matmul"
    infix = "{} @ {}"
    formula = "∂(A@B)/∂A: G @ Bᵀ;  ∂(A@B)/∂B: Aᵀ @ G"
    sends = ("{grad} @ {b.mT}", "{a.mT} @ {grad}")
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
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            return f"the batch dimensions of {a.shape} and {b.shape} do not broadcast together"
        return None

    def forward(self, a, b):
        return a @ b

    def worked_forward(self, labels, out, a, b):
        A, B, O = labels
        i, j = out.shape[-2] - 1, out.shape[-1] - 1
        batch = tuple(0 for _ in out.shape[:-2])
        row, column = a[worked.source(batch, a.shape[:-2]) + (i,)], b[worked.source(batch, b.shape[:-2]) + (slice(None), j)]
        return [
            f"{worked.shape_text(a.shape)} @ {worked.shape_text(b.shape)} gives {worked.shape_text(out.shape)}: "
            f"element [i, j] is row i of {A} · column j of {B} ({a.shape[-1]} products summed)",
            f"{worked.at(O, batch + (i, j))} = row {i} of {A} · column {j} of {B} = "
            f"{worked.dot(row, column)} = {worked.number(out[batch + (i, j)])}",
        ]

    def worked_backward(self, labels, grad, out, a, b):
        A, B, _ = labels
        batch = tuple(0 for _ in out.shape[:-2])
        ga, gb = self.backward(grad, out, a, b)
        g = grad[batch] if batch else grad
        a0 = a[worked.source(batch, a.shape[:-2])] if batch else a
        b0 = b[worked.source(batch, b.shape[:-2])] if batch else b
        i, k, j = a0.shape[0] - 1, a0.shape[1] - 1, b0.shape[1] - 1
        return [
            f"to {worked.at(A, batch + (i, k))} (g @ {worked.transposed(B)}): row {i} of g · row {k} of {B} = "
            f"{worked.dot(g[i], b0[k])} = {worked.number(ga[batch + (i, k)])}",
            f"to {worked.at(B, batch + (k, j))} ({worked.transposed(A)} @ g): column {k} of {A} · column {j} of g = "
            f"{worked.dot(a0[:, k], g[:, j])} = {worked.number(gb[batch + (k, j)])}",
        ]

    def backward(self, grad, out, a, b, needs=ALL):
        # A constant input (the data x) needs no gradient, and skipping it halves the work.
        grad_a = grad @ b.swapaxes(-1, -2) if needs[0] else None
        grad_b = a.swapaxes(-1, -2) @ grad if needs[1] else None
        return grad_a, grad_b


_MAT_MUL = MatMul()


def matmul(a, b, name=None):
    return _binary(_MAT_MUL, a, b, name)


class Add(Elementwise):
    name = "add"
    broadcast_verbs = ("is added to", "is added to")
    element_formula = "{a} + {b}"
    infix = "{} + {}"
    formula = "∂(a+b)/∂a = 1;  ∂(a+b)/∂b = 1"
    derivatives = ("1", "1")
    complex_safe = True

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


_ADD = Add()


def add(a, b, name=None):
    return _binary(_ADD, a, b, name)


class Sub(Elementwise):
    name = "sub"
    broadcast_verbs = ("has subtracted from it", "is subtracted from")
    element_formula = "{a} − {b}"
    infix = "{} − {}"
    formula = "∂(a−b)/∂a = 1;  ∂(a−b)/∂b = −1"
    derivatives = ("1", "−1")
    complex_safe = True

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out, a, b, needs=ALL):
        return grad, (-grad if needs[1] else None)


_SUB = Sub()


def sub(a, b, name=None):
    return _binary(_SUB, a, b, name)


class Mul(Elementwise):
    name = "mul"
    broadcast_verbs = ("multiplies", "multiplies")
    element_formula = "{a}·{b}"
    infix = "{} * {}"
    formula = "∂(a·b)/∂a = b;  ∂(a·b)/∂b = a"
    derivatives = ("{b}", "{a}")
    complex_safe = True

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b, needs=ALL):
        # `2 * x` is common: the constant's gradient is not needed, so it is not computed.
        grad_a = grad * b if needs[0] else None
        grad_b = grad * a if needs[1] else None
        return grad_a, grad_b


_MUL = Mul()


def mul(a, b, name=None):
    return _binary(_MUL, a, b, name)


class Div(Elementwise):
    name = "div"
    broadcast_verbs = ("is divided by", "divides")
    element_formula = "{a}/{b}"
    infix = "{} / {}"
    formula = "∂(a/b)/∂a = 1/b;  ∂(a/b)/∂b = −a/b²"
    derivatives = ("1/{b}", "−{a}/{b}²")
    complex_safe = True

    def check_domain(self, a, b):
        zero = np.asarray(b) == 0
        return f"division by zero: divisor is {first_bad(zero, b)}" if zero.any() else None

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out, a, b, needs=ALL):
        grad_a = grad / b if needs[0] else None
        grad_b = -grad * out / b if needs[1] else None
        return grad_a, grad_b


_DIV = Div()


def div(a, b, name=None):
    return _binary(_DIV, a, b, name)


class Power(Op):
    name = "power"
    formula = "∂(aᵖ)/∂a = p·aᵖ⁻¹"
    elementwise = True
    complex_safe = True

    def __init__(self, exponent):
        self.exponent = exponent

    def __str__(self):
        return f"power {self.exponent:g}"

    @property
    def infix(self):
        return f"{{}} ** {self.exponent:g}".replace("-", "−")

    @property
    def element_formula(self):
        return f"{{a}}^{self.exponent:g}".replace("-", "−")

    @property
    def derivatives(self):
        """p·a^(p−1) with this op's p: '2·{a}' for a square."""
        lower = self.exponent - 1
        power = "" if lower == 1 else f"^{lower:g}" if lower >= 0 else f"^({lower:g})"
        return ("1",) if lower == 0 else (f"{self.exponent:g}·{{a}}{power}",)

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
    """a ** exponent, for a constant, finite number exponent."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise TypeError(
            f"power: the exponent must be a plain number, got {type(exponent).__name__}; "
            f"for a variable exponent write exp(b * log(a))"
        )
    try:
        exponent = float(exponent)
    except OverflowError:
        raise ValueError(f"power: the exponent {exponent} is too large for a float") from None
    if not math.isfinite(exponent):
        raise ValueError(f"power: the exponent must be finite, got {exponent}")
    return apply(Power(exponent), as_node(a), name=name)


class Neg(Op):
    name = "neg"
    element_formula = "−{a}"
    infix = "−{}"
    formula = "∂(−a)/∂a = −1"
    derivatives = ("−1",)
    elementwise = True
    complex_safe = True
    can_overflow = False

    def forward(self, a):
        return -a

    def backward(self, grad, out, a):
        return (-grad,)


_NEG = Neg()


def neg(a, name=None):
    return apply(_NEG, as_node(a), name=name)
