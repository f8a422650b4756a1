"""The Node: one value in a computation graph, the op that made it, and its gradient.

A leaf is made by `parameter` (it gets a gradient) or `constant` (it does not). Every other
node is made by `apply(op, *inputs)`, which checks the inputs, runs the op's forward pass and
records the edges. Python's arithmetic operators on nodes call the functions in `ops`.
"""

import itertools

import numpy as np

from .errors import DomainError, ShapeError
from .graph import Graph, is_grad_enabled

_serials = itertools.count()


class Node:
    """A value in the graph: `value`, `grad`, the `op` that made it and its ordered `inputs`."""

    __slots__ = ("value", "grad", "op", "inputs", "name", "requires_grad", "serial")
    # Makes `ndarray + node` call Node.__radd__ instead of numpy broadcasting over a Node.
    __array_ufunc__ = None

    def __init__(self, value, op=None, inputs=(), name=None, requires_grad=False):
        self.value = value
        self.grad = None
        self.op = op
        self.inputs = inputs
        self.name = name
        self.requires_grad = requires_grad
        # Creation order; inputs are always older than their users (see topological_order).
        self.serial = next(_serials)

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def kind(self):
        """'op', 'parameter' or 'constant': how the node was made."""
        if self.op is not None:
            return "op"
        return "parameter" if self.requires_grad else "constant"

    @property
    def label(self):
        """What error messages and pictures call this node: its name, else what made it."""
        if self.name is not None:
            return self.name
        return self.op.name if self.op is not None else self.kind

    def __repr__(self):
        grad = "" if self.grad is None else f", grad shape {self.grad.shape}"
        return f"<Node {self.label!r} {self.kind} shape {self.shape} {self.dtype}{grad}>"

    def backward(self, seed=None):
        """Backpropagate from this node; see `Graph.backward` for seeds and accumulation."""
        Graph(self).backward(seed)

    def zero_grad(self):
        """Clear the gradient of every node this one depends on."""
        Graph(self).zero_grad()

    @property
    def T(self):
        return ops.transpose(self)

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __pow__(self, exponent):
        return ops.power(self, exponent)

    def __neg__(self):
        return ops.neg(self)


def _as_array(data, dtype, role, name):
    """Turn user data into a numeric array, refusing what would break the maths later."""
    if isinstance(data, Node):
        raise TypeError(f"{role} {name!r}: got a Node; use the node itself, not {role}(node)")
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{role} {name!r}: data is not numeric ({exc})") from None
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind not in "fc":
        raise TypeError(f"{role} {name!r}: data is not numeric (dtype {array.dtype})")
    finite = np.isfinite(array)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{role} {name!r} of shape {array.shape} holds {int((~finite).sum())} NaN/inf "
            f"value(s), the first at index {where}"
        )
    return array


def parameter(data, name=None, dtype=None):
    """A leaf that gets a gradient: weights, biases, anything you will update.

    The array is copied, so updating the parameter never changes the caller's data.
    """
    array = _as_array(data, dtype, "parameter", name).copy()
    return Node(array, name=name, requires_grad=True)


def constant(data, name=None, dtype=None):
    """A leaf that gets no gradient: inputs and labels. The data is not copied."""
    return Node(_as_array(data, dtype, "constant", name), name=name)


def as_node(data, like=None):
    """A Node as is; anything else becomes a constant.

    A plain Python number takes the dtype of `like`, so that `0.5 * x` stays float32 when
    x is float32 (numpy would promote a 0-d float64 array to float64).
    """
    if isinstance(data, Node):
        return data
    dtype = None
    if like is not None and isinstance(data, (int, float)) and like.dtype.kind == "f":
        dtype = like.dtype
    return constant(data, dtype=dtype)


def apply(op, *inputs, name=None):
    """Run `op` on the inputs and return the node holding the result.

    The op checks its inputs first, so a mismatch is reported with the node names at the
    line that built the graph, not deep inside numpy. Under `no_grad()` the result is a
    constant: no edges are recorded.
    """
    values = [node.value for node in inputs]
    problem = op.check_shapes(*values)
    if problem:
        raise ShapeError(_describe_problem(op, inputs, name, problem))
    problem = op.check_domain(*values)
    if problem:
        raise DomainError(_describe_problem(op, inputs, name, problem))
    value = op.forward(*values)
    if not is_grad_enabled():
        return Node(value, name=name)
    needs = [node.requires_grad for node in inputs]
    op.needs_input_grad = needs
    return Node(value, op, inputs, name=name, requires_grad=True in needs)


def _describe_problem(op, inputs, name, problem):
    """'matmul 'z': <problem> (inputs: 'w' (1, 3), 'x' (4, 2))'."""
    names = ", ".join(f"{node.label!r} {node.shape}" for node in inputs)
    return f"{op.name}{'' if name is None else f' {name!r}'}: {problem} (inputs: {names})"


from . import ops  # noqa: E402  (ops builds Nodes; Node's operators call ops)
