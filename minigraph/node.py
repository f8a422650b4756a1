"""The Node: one value in a computation graph, the op that made it, and its gradient.

A leaf is made by `parameter` (it gets a gradient) or `constant` (it does not). Every other
node is made by `apply(op, *inputs)`, which checks the inputs, runs the op's forward pass and
records the edges. Python's arithmetic operators on nodes call the functions in `ops`.

A leaf's value is read-only: give it a new one by assignment (`w.value = ...`), which
counts as a new version. Every node is stamped with when its value was set, so backward
can refuse values that no longer belong together (see Graph.backward).

`value` and `grad` are the engine's own arrays, not copies (as torch's `.data` and `.grad`):
a parameter's value moves in place when an optimizer steps, a leaf's gradient takes later
contributions in place, and a replay gives op nodes new arrays. Copy one to keep it.
"""

import itertools
import math

import numpy as np

from .checks import check_inputs, check_result
from .context import current_scope, is_grad_enabled
from .display import printable
from .errors import DomainError
from .graph import Graph, ValueChanges, all_finite, input_values, topological_order
from .quiet import restore, silence

_serials = itertools.count()


class Node:
    """A value in the graph: `value`, `grad`, the `op` that made it and its ordered `inputs`.

    `needs[i]` says whether input i needs a gradient; `scope` is the tuple of scope names
    open when the node was built; `version` counts the changes of its value and `stamp`
    says when its value was last set, as ValueChanges.count then: a node whose input has
    a later stamp was computed from an earlier value of it (see Graph._check_fresh).
    """

    __slots__ = ("_value", "grad", "op", "inputs", "needs", "name", "scope", "requires_grad",
                 "serial", "version", "stamp", "_pickle_shallow", "passes")
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
        self.stamp = ValueChanges.count
        self._pickle_shallow = False
        # `passes` (a leaf: how many backward passes its grad sums) is set by Graph.backward
        # only, so building a node costs nothing more; read it with getattr(node, "passes", 0).

    @property
    def value(self):
        """The node's array: the live one the engine computes with, not a copy (as torch's
        `.data`). Read-only for leaves: assign a new array to change it. A parameter's array
        moves in place at each optimizer step, so an array read from it before shows the new
        numbers; copy it (`w.value.copy()`) to keep the numbers of one moment."""
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
        if self.requires_grad:
            self._value = _movable(_owned(array, data))
        else:
            self._value = _read_only(_owned(array, data, borrow=True))
        self.version += 1
        ValueChanges.count += 1
        ValueChanges.assignments += 1
        self.stamp = ValueChanges.count

    def move_to(self, moved):
        """value ← moved, written into the parameter's array: what optimizers do to parameters.

        It writes into the array only the parameter holds (see `_movable`), so the value
        users see stays read-only, no flag is switched back and forth, and an array read
        from `value` before shows the new numbers (it is the live array, as torch's .data).
        """
        if self.op is not None or not self.requires_grad:
            raise TypeError(f"move_to: {self.label!r} is not a parameter")
        self._value.base[...] = moved  # (half what np.copyto costs on small arrays)
        self.version += 1
        ValueChanges.count += 1
        self.stamp = ValueChanges.count

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
                 self.scope, self.requires_grad, self.version, self.stamp)
        if self._pickle_shallow or not self.inputs:
            self._pickle_shallow = False
            return (_unpickled_node, (), state)
        ancestors = topological_order(self)[:-1]
        for node in ancestors:
            node._pickle_shallow = True
        return (_unpickled_node, (ancestors,), state + (_ShallowMarks(ancestors),))

    def __setstate__(self, state):
        (self._value, self.grad, self.op, self.inputs, self.needs, self.name, self.scope,
         self.requires_grad, self.version, self.stamp) = state[:10]
        self._pickle_shallow = False
        # Stamps come from the clock of the process that pickled them: move this process's
        # clock past them, so that a change made here is later than any of them.
        ValueChanges.count = max(ValueChanges.count, self.stamp)
        if self.op is None:  # arrays come back writeable from pickle and deepcopy
            self._value = _movable(self._value) if self.requires_grad else _read_only(self._value)

    def __copy__(self):
        # A parameter moves in place (move_to): its copy moves its own array.
        value = _movable(self._value.copy()) if self.op is None and self.requires_grad else self._value
        copied = Node(value, self.op, self.inputs, self.name, self.requires_grad, self.needs)
        copied.scope, copied.version, copied.stamp = self.scope, self.version, self.stamp
        copied.grad = None if self.grad is None else self.grad.copy()  # each node owns its gradient
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


def _movable(array):
    """A parameter's value: a read-only view of `array`, which only the parameter holds
    (as the view's base), so that optimizers can move it in place (move_to)
    while nobody else can write to it."""
    return _read_only(array.view())


def _owned(array, data, borrow=False):
    """`array` (made from the caller's `data`) as a leaf may hold it: an array no one else
    can write to. One np.asarray just made from a list or a number is that already; one
    that nobody can write to (read-only, as every array it views) is borrowed when `borrow`;
    any other is copied."""
    if array is not data and array.flags.owndata:
        return array
    if borrow and _nobody_writes(array):
        return array.view()
    return array.copy()


def _nobody_writes(array):
    """True when the array and every array it is a view of are read-only, down to memory
    it owns or a read-only buffer (bytes, a file mapped for reading)."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    if array is None:
        return True
    try:
        return memoryview(array).readonly
    except TypeError:
        return False


def parameter(data, name=None, dtype=None):
    """A leaf that gets a gradient: weights, biases, anything you will update.

    The array is copied, so updating the parameter never changes the caller's data.
    """
    array = _as_array(data, dtype, "parameter", name)
    _check_finite(array, "parameter", name)
    return Node(_movable(_owned(array, data)), name=name, requires_grad=True)


def constant(data, name=None, dtype=None):
    """A leaf that gets no gradient: inputs and labels.

    The data is copied, as torch.tensor copies: a constant whose caller edits their array
    afterwards keeps the values its graph was computed from, so value and gradient always
    agree. An array nobody can write to is borrowed instead (no copy of a big data set):
    one made read-only (`X.flags.writeable = False`) that is not a view of a writeable one,
    or one loaded with np.load(..., mmap_mode="r").
    """
    array = _as_array(data, dtype, "constant", name)
    _check_finite(array, "constant", name)
    return Node(_read_only(_owned(array, data, borrow=True)), name=name)


def as_node(data, like=None, name=None):
    """A Node as is; anything else becomes a constant, called `name` if given.

    A plain Python number takes the dtype of `like`, so that `0.5 * x` stays float32 when
    x is float32 (numpy would promote a 0-d float64 array to float64).
    """
    if isinstance(data, Node):
        return data
    dtype = None
    if type(data) is float or type(data) is int:  # not bool, not numpy's numbers
        dtype = _FLOAT64 if like is None else like._value.dtype
        largest = _LARGEST.get(dtype)
        if largest is None:  # like is not a float32 or float64 node
            dtype, largest = _FLOAT64, _LARGEST[_FLOAT64]
        if abs(data) <= largest:  # finite and fits: the quick way
            return Node(_number_array(data, dtype), name=name)
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


_FLOAT64 = np.dtype(np.float64)
_LARGEST = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}
# {dtype: {number: a read-only 0-d array of it}}: `x + 0.1` in a loop makes one array of 0.1,
# and each constant holds its own view of it (read-only, as its base is: nobody can write
# to it). Zero is left out: 0.0 == -0.0 would share one key, and their signs matter.
_NUMBERS = {dtype: {} for dtype in _LARGEST}


def _number_array(number, dtype):
    """A read-only 0-d array of a finite Python number: a view of one made once per number."""
    made = _NUMBERS[dtype]
    base = made.get(number)
    if base is None:
        base = _read_only(np.array(number, dtype))
        if not number or len(made) >= 4096:
            return base
        made[number] = base
    return base.view()


def apply(op, *inputs, name=None):
    """Run `op` on the inputs and return the node holding the result.

    The op checks its inputs first, so a mismatch is reported with the node names at the
    line that built the graph, not deep inside numpy; an overflow in the result is a
    DomainError naming the node. Under `no_grad()` the result is a constant: no edges are
    recorded.
    """
    values = input_values(inputs)
    if op.checks_inputs and not (op.broadcasts and not op.checks_domain and len(values) == 2 and (
            values[0].shape == values[1].shape or not values[0].shape or not values[1].shape)):
        check_inputs(op, inputs, values, name)  # (equal shapes, or a scalar, always broadcast)
    if op.can_overflow:
        quiet = silence()  # an overflow is reported by check_result, naming the node
        try:
            value = op.forward(*values)
            if type(value) is not np.ndarray:
                value = _forward_result(op, value)
            finite = all_finite(value)
        finally:
            restore(quiet)
        if not finite:
            check_result(op, inputs, values, name, value)
    else:
        value = op.forward(*values)
        if type(value) is not np.ndarray:
            value = _forward_result(op, value)
    if not is_grad_enabled():
        return Node(_read_only(value), name=name)
    if len(inputs) == 1:
        needs = _ONE_NEEDS[inputs[0].requires_grad]
    elif len(inputs) == 2:
        needs = _TWO_NEEDS[inputs[0].requires_grad][inputs[1].requires_grad]
    else:
        needs = _shared(tuple([node.requires_grad for node in inputs]))
    return Node(value, op, inputs, name, True in needs, needs)


_NUMPY_NUMBERS = (np.floating, np.complexfloating)
# needs for one and two inputs, indexed by their requires_grad: one tuple object each, shared.
_ONE_NEEDS = ((False,), (True,))
_TWO_NEEDS = (((False, False), (False, True)), ((True, False), (True, True)))


def _forward_result(op, value):
    """An op's forward result as an array (numpy returns scalars from reductions, and from
    ufuncs on 0-d arrays: those become 0-d arrays again by their cheapest way)."""
    if isinstance(value, _NUMPY_NUMBERS):
        return value.__array__()
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        raise TypeError(
            f"{type(op).__name__}.forward must return a numeric array, got {type(value).__name__}"
        )
    return array


from . import activations, arrays, ops  # noqa: E402  (they build Nodes; Node's operators call them)
