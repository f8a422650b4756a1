"""The Node: one value in a computation graph, the op that made it, and its gradient.

A leaf is made by `parameter` (it gets a gradient) or `constant` (it does not). Every other
node is made by `apply(op, *inputs)`, which checks the inputs, runs the op's forward pass and
records the edges. Python's arithmetic operators on nodes call the functions in `ops`.

A leaf's value is read-only: give it a new one by assignment (`w.value = ...`), which
counts as a new version. Every op node remembers the versions of the inputs it was computed
from, so backward can refuse values that no longer belong together (see Graph.backward).
"""

import itertools
import math

import numpy as np

from .checks import check_inputs, check_result
from .context import current_scope, is_grad_enabled
from .display import printable
from .errors import DomainError
from .graph import Graph, ValueChanges, all_finite, topological_order
from .quiet import quiet

_serials = itertools.count()


class Node:
    """A value in the graph: `value`, `grad`, the `op` that made it and its ordered `inputs`.

    `needs[i]` says whether input i needs a gradient; `scope` is the tuple of scope names
    open when the node was built; `version` counts the changes of its value and `seen`
    holds its inputs' versions when its value was last computed.
    """

    __slots__ = ("_value", "grad", "op", "inputs", "needs", "name", "scope", "requires_grad",
                 "serial", "version", "seen", "_pickle_shallow", "passes")
    # Makes `ndarray + node` call Node.__radd__ instead of numpy broadcasting over a Node.
    __array_ufunc__ = None

    def __init__(self, value, op=None, inputs=(), name=None, requires_grad=False, needs=()):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a node's name must be a string or None, got {type(name).__name__} {name!r}")
        self._value = value
        self.grad = None
        self.op = op
        self.inputs = inputs
        self.needs = needs
        self.name = name
        self.scope = current_scope()
        self.requires_grad = requires_grad
        # Creation order; inputs are always older than their users (see topological_order).
        self.serial = next(_serials)
        self.version = 0
        self.seen = versions(inputs)
        self._pickle_shallow = False
        # `passes` (a leaf: how many backward passes its grad sums) is set by Graph.backward
        # only, so building a node costs nothing more; read it with getattr(node, "passes", 0).

    @property
    def value(self):
        """The node's array. Read-only for leaves: assign a new array to change it."""
        return self._value

    @value.setter
    def value(self, data):
        if self.op is not None:
            raise TypeError(
                f"{self.label!r} is computed by {self.op.name}; give its leaves new values and "
                f"replay the graph (Graph(output).forward()) instead"
            )
        role = "parameter" if self.requires_grad else "constant"
        # A leaf keeps its float dtype; complex values (check_gradients' complex step) stay
        # complex, and a real array put back after them is real again.
        dtype = self._value.dtype if self._value.dtype.kind == "f" and not np.iscomplexobj(data) else None
        array = _as_array(data, dtype, role, self.name)
        # A parameter owns its array (optimizers update it in place); a constant borrows it.
        self._value = _read_only(array.copy() if self.requires_grad else array.view())
        self.version += 1
        ValueChanges.count += 1
        ValueChanges.assignments += 1

    def subtract_in_place(self, delta):
        """value ← value − delta without a new array: what optimizers do to parameters."""
        if self.op is not None or not self.requires_grad:
            raise TypeError(f"subtract_in_place: {self.label!r} is not a parameter")
        value = self._value
        value.flags.writeable = True
        try:
            np.subtract(value, delta, out=value)
        finally:
            value.flags.writeable = False
        self.version += 1
        ValueChanges.count += 1

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def kind(self):
        """'op', 'parameter' or 'constant': how the node was made."""
        if self.op is not None:
            return "op"
        return "parameter" if self.requires_grad else "constant"

    @property
    def label(self):
        """What error messages and pictures call this node: its name, else what made it.

        Control characters in a name are shown as escapes (see display.printable).
        """
        if self.name is not None:
            return printable(self.name)
        return self.op.name if self.op is not None else self.kind

    def __repr__(self):
        grad = "" if self.grad is None else f", grad shape {self.grad.shape}"
        return f"<Node {self.label!r} {self.kind} shape {self.shape} {self.dtype}{grad}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows a Node as the drawing of its graph."""
        return Graph(self)._repr_mimebundle_(include=include, exclude=exclude)

    def backward(self, seed=None, accumulate=False, fuse=False):
        """Backpropagate from this node; see `Graph.backward` for seeds, accumulation and
        fusion."""
        Graph(self).backward(seed, accumulate=accumulate, fuse=fuse)

    def zero_grad(self):
        """Clear the gradient of every node this one depends on."""
        Graph(self).zero_grad()

    def __reduce_ex__(self, protocol):
        """Pickling and copy.deepcopy without recursion, for graphs of any depth.

        Left to itself, pickle follows `inputs` recursively and a long chain exceeds Python's
        recursion limit. So the node being pickled lists its ancestors first, oldest first,
        and each of them is pickled shallow: its own inputs are already in the pickle. The
        unpickled nodes are numbered in that order, so they sort correctly in any process.
        """
        state = (self._value, self.grad, self.op, self.inputs, self.needs, self.name,
                 self.scope, self.requires_grad, self.version, self.seen)
        if self._pickle_shallow or not self.inputs:
            self._pickle_shallow = False
            return (_unpickled_node, (), state)
        ancestors = topological_order(self)[:-1]
        for node in ancestors:
            node._pickle_shallow = True
        return (_unpickled_node, (ancestors,), state + (_ShallowMarks(ancestors),))

    def __setstate__(self, state):
        (self._value, self.grad, self.op, self.inputs, self.needs, self.name, self.scope,
         self.requires_grad, self.version, self.seen) = state[:10]
        self._pickle_shallow = False
        if self.op is None:  # arrays come back writeable from pickle and deepcopy
            self._value = _read_only(self._value)

    def __copy__(self):
        copied = Node(self._value, self.op, self.inputs, self.name, self.requires_grad, self.needs)
        copied.scope, copied.grad = self.scope, self.grad
        return copied

    @property
    def T(self):
        return arrays.transpose(self)

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

    # The methods micrograd's and PyTorch's users reach for.
    def sigmoid(self):
        return activations.sigmoid(self)

    def tanh(self):
        return activations.tanh(self)

    def relu(self):
        return activations.relu(self)

    def exp(self):
        return activations.exp(self)

    def log(self):
        return activations.log(self)

    def sum(self, axis=None, keepdims=False):
        return arrays.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return arrays.mean(self, axis=axis, keepdims=keepdims)


def versions(inputs):
    """The inputs' versions, as an op node records them when its value is computed."""
    seen = tuple([node.version for node in inputs])
    return _shared(seen) if len(seen) <= 3 else seen


# One tuple object per short pattern, such as (True, False) or (0, 0), shared by all nodes:
# a graph of 100,000 nodes then holds 100,000 fewer objects for the garbage collector to
# keep walking, which measurably speeds up building long chains.
_SHARED = {}


def _shared(small_tuple):
    return _SHARED.setdefault(small_tuple, small_tuple) if len(_SHARED) < 4096 else small_tuple


def _unpickled_node(ancestors=None):
    """A fresh node, numbered now: after its ancestors (unpickled first), before its users."""
    node = Node.__new__(Node)
    node.serial = next(_serials)
    return node


class _ShallowMarks:
    """Clears the shallow marks of ancestors that were already in the pickle or the copy
    (their own reduce, which clears the mark, is then never called). Unpickles as None."""

    def __init__(self, nodes):
        self.nodes = nodes

    def _clear(self):
        for node in self.nodes:
            node._pickle_shallow = False

    def __reduce__(self):
        self._clear()
        return (type(None), ())

    def __deepcopy__(self, memo):
        self._clear()
        return None


SUPPORTED_DTYPES = (np.float32, np.float64)


def _as_array(data, dtype, role, name):
    """Turn user data into a numeric array, refusing what would break the maths later."""
    if isinstance(data, Node):
        raise TypeError(f"{role} {_called(name)}: got a Node; use the node itself, not {role}(node)")
    try:
        array = np.asarray(data, dtype=dtype)
    except OverflowError:
        raise TypeError(f"{role} {_called(name)}: {data!r} is too large for a float64") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{role} {_called(name)}: data is not numeric ({exc})") from None
    kind = array.dtype.kind
    if kind in "biu":
        return array.astype(np.float64)
    if kind == "f" and array.dtype.type not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{role} {_called(name)}: {array.dtype} is not supported; use float32 or float64. "
            f"(float16's largest value is 65504 and it keeps 3 significant digits, so "
            f"gradients overflow or vanish in ordinary training.)"
        )
    if kind not in "fc":  # complex values are allowed: check_gradients' complex step uses them
        raise TypeError(f"{role} {_called(name)}: data is not numeric (dtype {array.dtype})")
    return array


def _check_finite(array, role, name):
    finite = np.isfinite(array)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{role} {_called(name)} of shape {array.shape} holds {int((~finite).sum())} NaN/inf "
            f"value(s), the first at index {where}"
        )


def _called(name):
    return "(unnamed)" if name is None else repr(name)


def _read_only(array):
    array.flags.writeable = False
    return array


def parameter(data, name=None, dtype=None):
    """A leaf that gets a gradient: weights, biases, anything you will update.

    The array is copied, so updating the parameter never changes the caller's data.
    """
    array = _as_array(data, dtype, "parameter", name)
    _check_finite(array, "parameter", name)
    return Node(_read_only(array.copy()), name=name, requires_grad=True)


def constant(data, name=None, dtype=None):
    """A leaf that gets no gradient: inputs and labels.

    The data is not copied: the node holds a read-only view of it.
    """
    array = _as_array(data, dtype, "constant", name)
    _check_finite(array, "constant", name)
    return Node(_read_only(array.view()), name=name)


def as_node(data, like=None, name=None):
    """A Node as is; anything else becomes a constant, called `name` if given.

    A plain Python number takes the dtype of `like`, so that `0.5 * x` stays float32 when
    x is float32 (numpy would promote a 0-d float64 array to float64).
    """
    if isinstance(data, Node):
        return data
    dtype = None
    number = isinstance(data, (int, float)) and not isinstance(data, bool)
    if like is not None and number and like.dtype.kind == "f":
        largest = float(np.finfo(like.dtype).max)
        if math.isfinite(data) and abs(data) > largest:
            raise DomainError(
                f"the number {data!r} does not fit in {like.dtype} (largest {largest:.4g}), the "
                f"dtype of {like.label!r}; scale it down, or make {like.label!r} float64"
            )
        dtype = like.dtype
    return constant(data, name=name, dtype=dtype)


def apply(op, *inputs, name=None):
    """Run `op` on the inputs and return the node holding the result.

    The op checks its inputs first, so a mismatch is reported with the node names at the
    line that built the graph, not deep inside numpy; an overflow in the result is a
    DomainError naming the node. Under `no_grad()` the result is a constant: no edges are
    recorded.
    """
    values = [node._value for node in inputs]
    if op.checks_inputs:
        check_inputs(op, inputs, values, name)
    if op.can_overflow:
        with quiet():  # an overflow is reported by check_result, naming the node
            value = op.forward(*values)
            if type(value) is not np.ndarray:
                value = _forward_result(op, value)
            finite = all_finite(value)
        if not finite:
            check_result(op, inputs, values, name, value)
    else:
        value = op.forward(*values)
        if type(value) is not np.ndarray:
            value = _forward_result(op, value)
    if not is_grad_enabled():
        return Node(_read_only(value), name=name)
    needs = _shared(tuple([node.requires_grad for node in inputs]))
    return Node(value, op, inputs, name=name, requires_grad=True in needs, needs=needs)


def _forward_result(op, value):
    """An op's forward result as an array (numpy reductions return scalars)."""
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        raise TypeError(
            f"{type(op).__name__}.forward must return a numeric array, got {type(value).__name__}"
        )
    return array


from . import activations, arrays, ops  # noqa: E402  (they build Nodes; Node's operators call them)
