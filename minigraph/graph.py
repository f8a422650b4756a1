"""Walking a recorded graph: topological order, backward and replayed forward.

One topological sort, with no recursion, serves all of them and the drawing and the step
player too, so a chain of 100,000 nodes works. The graph is never torn down by backward:
it can be drawn, replayed and stepped through afterwards.
"""

import cmath
import operator

import numpy as np

from .assistant import stall_warning
from .checks import check_inputs
from .display import unique_labels
from .errors import NonFiniteError, OpContractError, SeedError, ShapeError, StaleGraphError
from .quiet import quiet

serial_number = operator.attrgetter("serial")
_UNIT_SEEDS = {}  # {(shape, dtype): a read-only array of ones}; the outputs are scalars
_NUMPY_NUMBERS = (np.floating, np.complexfloating)


class ValueChanges:
    """Counts, for this process, every new value given to a node (`count`) and every array
    assigned to a leaf (`assignments`).

    `count` is also the clock that nodes are stamped with (`Node.stamp`): a node whose
    input has a later stamp was computed from an earlier value of that input.

    A graph notes both after a replay; while they are unchanged, nothing in it can be stale
    or need its shapes checked again, so the per-node checks are skipped. Any change
    anywhere only sends a graph back to the full checks, so sharing the counts is safe.
    """

    count = 0
    assignments = 0


def topological_order(output):
    """Every node `output` depends on, each after all of its inputs, `output` last.

    Nodes are numbered as they are created (`Node.serial`; unpickled and copied nodes are
    numbered again as they are rebuilt, ancestors first), and an input always exists before
    the node that uses it, so sorting the reachable nodes by that number is a topological
    order: the order the graph was built in. Finding them is a plain iterative walk (no
    recursion), telling nodes apart by identity (a Node hashes and compares as itself), so
    `x * x` is one node with two edges.
    """
    reachable = {output}
    stack = [output]
    while stack:
        for child in stack.pop().inputs:
            if child not in reachable:
                reachable.add(child)
                stack.append(child)
    return sorted(reachable, key=serial_number)


def unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    if not shape:  # a scalar input (a bias, a number): the sum of everything, as a 0-d array
        total = _add_reduce(grad, None)
        return total if type(total) is np.ndarray else total.__array__()
    extra = grad.ndim - len(shape)
    if extra < 0:
        return grad  # cannot come from broadcasting; the caller reports the mismatch
    if extra > 0:  # np.add.reduce: np.sum without its Python wrapper
        grad = _add_reduce(grad, tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = np.add.reduce(grad, axis=stretched, keepdims=True)
    return grad


def seed_gradient(output, seed):
    """The gradient backward starts from: 1 for a scalar output, else the caller's seed."""
    if seed is None:
        if output.value.size != 1:
            raise SeedError(
                f"backward() from {output.label!r} of shape {output.shape} needs a seed: "
                f"pass an array of that shape (d something / d {output.label!r}), "
                f"or reduce the output to a scalar first (mean, sum)"
            )
        return np.ones(output.value.shape, output.value.dtype)
    try:  # a copy: the caller may reuse their array, and it must not become a gradient
        seed = np.array(seed, dtype=output.value.dtype)
    except (TypeError, ValueError):
        raise SeedError(f"backward() seed for {output.label!r} is not numeric: {seed!r}") from None
    if seed.shape != output.shape:
        raise SeedError(
            f"backward() seed has shape {seed.shape} but {output.label!r} has shape {output.shape}"
        )
    if not np.isfinite(seed).all():
        raise SeedError(
            f"backward() seed for {output.label!r} holds {_first_non_finite(seed)}; a seed must be finite"
        )
    return seed


def format_range(value):
    """'in [-3, 2.5]' (or 'holding NaN'): enough to see why an op misbehaved."""
    value = np.asarray(value)
    if not np.isfinite(value).all():
        return "holding NaN/inf"
    return f"in [{value.min():.4g}, {value.max():.4g}]"


def input_values(inputs):
    """The inputs' arrays, in order: a tuple built without a list for the one- and two-input
    ops that make up most graphs (this runs once per node in every pass)."""
    if len(inputs) == 2:
        return (inputs[0]._value, inputs[1]._value)
    if len(inputs) == 1:
        return (inputs[0]._value,)
    return [inp._value for inp in inputs]


def op_gradients(node, upstream):
    """What an op's backward returns for one node, as a tuple checked to hold one entry per
    input (each still as the op returned it: see `fitted`)."""
    op, inputs = node.op, node.inputs
    values = input_values(inputs)
    if op.takes_needs:
        grads = op.backward(upstream, node._value, *values, needs=node.needs)
    else:
        grads = op.backward(upstream, node._value, *values)
    if type(grads) is not tuple or len(grads) != len(inputs):
        if not isinstance(grads, (tuple, list)):
            raise OpContractError(
                f"{_backward_of(node)} returned a {type(grads).__name__}; it must return a tuple "
                f"with one gradient per input ({len(inputs)}), e.g. `return (grad * local,)`"
            )
        if len(grads) != len(inputs):
            raise OpContractError(
                f"{_backward_of(node)} returned {len(grads)} gradient(s) for {len(inputs)} input(s); "
                f"return one per input, None where an input needs none"
            )
    return grads


def fitted(node, position, grad):
    """The gradient an op returned for input `position`, as an array of that input's shape:
    summed back over broadcast axes, or a clear error."""
    inp = node.inputs[position]
    shape = inp._value.shape
    if not shape and isinstance(grad, _NUMPY_NUMBERS):
        return grad.__array__()  # numpy's ufuncs on 0-d arrays return scalars: the array again
    if grad is None:
        raise OpContractError(
            f"{_backward_of(node)} returned None for input {position} ({inp.label!r}), "
            f"which needs a gradient"
        )
    returned = np.asarray(grad)
    grad = unbroadcast(returned, shape)
    if grad.shape != shape:
        raise ShapeError(
            f"{_backward_of(node)}: the gradient for input {position} ({inp.label!r}) has shape "
            f"{returned.shape}, which does not sum back to the input's shape {shape}"
        )
    return grad


def _backward_of(node):
    return f"{type(node.op).__name__}.backward (node {node.label!r})"


def local_gradients(node, upstream):
    """What an op node sends to each of its inputs given its upstream gradient (None where
    an input needs no gradient): the op's backward, checked and fitted to the inputs."""
    grads = op_gradients(node, upstream)
    return [
        None if not needed else grad if type(grad) is np.ndarray and grad.shape == inp._value.shape
        else fitted(node, position, grad)
        for position, (inp, grad, needed) in enumerate(zip(node.inputs, grads, node.needs))
    ]


def as_graph(target):
    """A Graph as is; a Node becomes the Graph of everything it depends on."""
    return target if isinstance(target, Graph) else Graph(target)


class Graph:
    """The nodes `output` depends on, sorted once, to run backward and replay forward on.

    `Graph(cost).forward()` recomputes every value from the leaves' current values without
    building new nodes; training loops call it after each update.
    """

    def __init__(self, output):
        if not isinstance(getattr(output, "inputs", None), tuple) or not hasattr(output, "_value"):
            raise TypeError(
                f"a graph is drawn, stepped or run from a minigraph Node (its output, such as "
                f"the cost) or a Graph, not {type(output).__name__} {output!r:.60}"
            )
        self.output = output
        self.nodes = topological_order(output)
        self.leaves = [n for n in self.nodes if n.op is None]
        self.parameters = [n for n in self.leaves if n.requires_grad]
        self._op_nodes = [n for n in self.nodes if n.op is not None]
        self._fresh_as_of = None  # ValueChanges.count when this graph was last known fresh
        self._checked_as_of = None  # ValueChanges.assignments at its last checked replay
        self._labels = None
        self._fused = None
        self._stall_pairs = None  # the log_loss nodes fed by a sigmoid (see _may_stall)

    def label(self, node):
        """The node's label in this graph: unique, scoped ('layer1.z', 'matmul₂'; see display.unique_labels)."""
        if self._labels is None:
            self._labels = unique_labels(self.nodes)
        return self._labels[id(node)]

    def __reduce__(self):
        return (Graph, (self.output,))

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return (
            f"<Graph of {self.output.label!r}: {len(self.nodes)} nodes, "
            f"{len(self.parameters)} parameters>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows a Graph as its drawing."""
        from .show.render import draw  # render draws Graphs, so it imports this module

        return draw(self)._repr_mimebundle_(include=include, exclude=exclude)

    # Forward: replay ----------------------------------------------------------------------

    def forward(self):
        """Recompute every op node's value in order; return the output's value.

        When a leaf was given a new array since the last replay (a new batch, perhaps of
        another size), every op first checks its inputs as at build time and a misfit raises
        ShapeError or DomainError naming the node. A NaN or inf raises NonFiniteError naming
        the first node that holds one.
        """
        checked = self._checked_as_of != ValueChanges.assignments
        ValueChanges.count += 1
        stamp = ValueChanges.count
        with quiet():  # a NaN or inf is reported below, naming its node
            for node in self._op_nodes:
                recompute(node, stamp, checked)
            finite = all_finite(self.output._value)
        return self._finish_forward(checked, finite)

    def forward_steps(self):
        """Recompute op nodes one at a time, yielding each node once its value is new."""
        checked = self._checked_as_of != ValueChanges.assignments
        for node in self._op_nodes:
            ValueChanges.count += 1
            with quiet():
                recompute(node, ValueChanges.count, checked)
            yield node
        with quiet():
            finite = all_finite(self.output._value)
        self._finish_forward(checked, finite)

    def _finish_forward(self, checked, finite):
        if not finite:
            raise NonFiniteError(self._first_non_finite_value())
        if checked:
            self._checked_as_of = ValueChanges.assignments
        self._fresh_as_of = ValueChanges.count
        return self.output._value

    def _first_non_finite_value(self):
        node = next(n for n in self.nodes if not np.isfinite(n._value).all())
        if node.op is None:
            return (
                f"replay: the {node.kind} {node.label!r} holds NaN or inf ({_first_non_finite(node._value)}); "
                f"the output {self.output.label!r} is {self.output._value!r}"
            )
        inputs = ", ".join(f"{inp.label!r} {format_range(inp._value)}" for inp in node.inputs)
        return (
            f"replay: {node.op} {node.label!r} produced NaN or inf from {inputs}; "
            f"the output {self.output.label!r} is {self.output._value!r}"
        )

    # Backward -----------------------------------------------------------------------------

    def backward(self, seed=None, accumulate=False, fuse=False):
        """Fill in `grad` on every node that needs one, from the output back to the leaves.

        One pass, one answer: afterwards every node of this graph, leaves included, holds
        this pass's gradient, however often backward ran before. With accumulate=True the
        leaves add this pass's gradient to what they held (as in PyTorch, for summing over
        several batches). A node used by several ops gets the sum of their contributions.
        Every leaf owns its gradient array, as in PyTorch (see `receive`): scaling or
        clipping `w.grad` in place changes no other gradient, and the seed is copied.

        fuse=True is for training loops: where an op can take its gradient straight through
        the op that feeds it (log_loss after a sigmoid: ∂L/∂z = σ(z) − y), it does, and
        the node in between gets no gradient in this pass. The parameters' gradients are
        the same to rounding for z between about −36 and 36.7 in float64 (−15.9 and 16.6
        in float32); outside, the plain chain goes wrong and the fused σ(z) − y does not:
        above, σ(z) rounds to exactly 1 and the plain gradient is exactly 0; below ln ε
        (−36.04, −15.94), σ(z) is under log_loss's clip ε and the plain gradient shrinks
        by σ(z)/ε toward 0 (see `log_loss`). A parameter gradient exactly 0 while the cost is
        not raises a StalledGradientWarning that says so. Values are never fused, and
        pictures and steps always run the graph as written: draw after a plain backward().

        Raises StaleGraphError if a leaf changed since the values were computed (replay
        with forward() first), and NonFiniteError naming the first node whose gradient
        turned NaN or inf.
        """
        self._start_backward(seed, accumulate)
        fused = self._fusions() if fuse else {}
        with quiet():  # a NaN or inf is reported below, naming its node
            for node in reversed(self._op_nodes):
                if node.grad is not None and node.requires_grad:
                    if fused and id(node) in fused:
                        send_fused_gradient(node, fused[id(node)])
                    else:
                        send_gradients(node)
            self._check_gradients(fused)

    def backward_steps(self, seed=None, accumulate=False):
        """Run backward one op node at a time, yielding what each step did.

        The same pass as `backward`, paused after each op node. Yields (node, sent) per op
        node in reverse topological order, where sent lists (position, input, gradient
        sent, gradient the input held before, gradient after) for each input that takes a
        gradient; "before" is None when this is its first.
        """
        self._start_backward(seed, accumulate)
        for node in reversed(self._op_nodes):
            if node.grad is not None and node.requires_grad:
                with quiet():
                    sent = send_gradients(node, record=True)
                yield node, sent
        with quiet():
            finite = self._gradients_finite()
        if not finite:
            raise NonFiniteError(self._first_non_finite_gradient())

    def _start_backward(self, seed, accumulate):
        if seed is None and self.output._value.size == 1:
            seed = self._unit_seed()
        else:
            seed = seed_gradient(self.output, seed)
        if self._fresh_as_of != ValueChanges.count:
            self._check_fresh()
        for node in self._op_nodes:
            node.grad = None
        if not accumulate:
            for leaf in self.leaves:
                leaf.grad = None
                leaf.passes = 1
        else:  # the narration says how many passes a leaf's gradient is the sum of
            for leaf in self.leaves:
                leaf.passes = getattr(leaf, "passes", 0) + 1 if leaf.grad is not None else 1
        output = self.output
        if output.op is None:  # backward from a leaf: it owns its gradient, as every leaf does
            receive(output, seed)
        else:
            output.grad = seed if output.grad is None else output.grad + seed

    def _check_fresh(self, action="backward", before="calling backward()"):
        """Raise StaleGraphError naming the first op node computed from an earlier value of
        one of its inputs (`action` says who refuses, `before` before what to replay)."""
        for node in self._op_nodes:
            stamp = node.stamp
            for inp in node.inputs:
                if inp.stamp > stamp:
                    changed = [inp.label for inp in node.inputs if inp.stamp > stamp]
                    raise StaleGraphError(
                        f"{action}: {node.op.name} {node.label!r} was computed from an earlier value of "
                        f"{', '.join(map(repr, changed))}, which has changed since; replay the graph "
                        f"(Graph(output).forward()) or rebuild it before {before}"
                    )
        self._fresh_as_of = ValueChanges.count

    def check_fresh(self, action, before):
        """Raise StaleGraphError if a leaf changed since the values were computed: what
        draws the values as they are (`draw`) must not show a new leaf beside old results."""
        if self._fresh_as_of != ValueChanges.count:
            self._check_fresh(action, before)

    def _fusions(self):
        """{id(node): the op node it can take its gradient straight through}, found once.

        An op says whom it fuses with (`Op.fuses_after`, e.g. LogLoss after Sigmoid). The
        node in between must send its gradient nowhere else, and the fused op's other inputs
        need no gradient, so that skipping its own gradient loses nothing.
        """
        if self._fused is None:
            uses = self.gradient_uses()
            self._fused = {
                id(node): node.inputs[0] for node in self._op_nodes
                if node.op.fuses_after is not None and type(node.inputs[0].op) is node.op.fuses_after
                and uses.get(id(node.inputs[0])) == 1 and not any(node.needs[1:])
            }
        return self._fused

    def gradient_uses(self):
        """{id(node): how many gradients it receives in one backward pass}: one per edge into
        an op that needs a gradient along it. Nodes that receive none are left out."""
        uses = {}
        for node in self._op_nodes:
            if node.requires_grad:
                for inp, needed in zip(node.inputs, node.needs):
                    if needed:
                        uses[id(inp)] = uses.get(id(inp), 0) + 1
        return uses

    def _unit_seed(self):
        """∂output/∂output = 1, made once per shape and dtype (read-only: an op node's
        gradient is never changed in place, and a leaf copies what it receives, so every
        pass of every graph can start from the same array)."""
        value = self.output._value
        key = (value.shape, value.dtype)
        seed = _UNIT_SEEDS.get(key)
        if seed is None:
            seed = _UNIT_SEEDS[key] = np.ones(value.shape, value.dtype)
            seed.flags.writeable = False
        return seed

    def _gradients_finite(self):
        for leaf in self.parameters:
            if leaf.grad is not None and not all_finite(leaf.grad):
                return False
        return True

    def _check_gradients(self, fused):
        """After backward: NonFiniteError if a parameter's gradient holds NaN or inf, then
        the stall warning if this pass can have that stall (see `_may_stall`).

        One sum per gradient answers both: their total is finite when every gradient is (a
        total that is not is checked gradient by gradient: it may have overflowed), and a
        gradient that is all zeros sums to 0, so a non-zero sum of the first parameter's, the
        one stall_warning looks at, rules the stall out at no cost.
        """
        sums = [element_sum(leaf.grad) for leaf in self.parameters if leaf.grad is not None]
        if not cmath.isfinite(sum(sums)) and not self._gradients_finite():
            raise NonFiniteError(self._first_non_finite_gradient())
        if (sums and sums[0] == 0 and self.parameters[0].grad is not None and self.output._value.size == 1
                and self._may_stall(fused)):
            stall_warning(self)  # a gradient exactly 0 while the cost is not: say so (assistant)

    def _may_stall(self, fused):
        """Whether this pass can have the stall stall_warning warns about, a scalar cost's:
        only where log_loss takes a sigmoid's output and this pass does not fuse the two
        (fused, the gradient is σ(z) − y, which does not vanish). The pairs are found once
        per graph, when a gradient first sums to 0."""
        if self._stall_pairs is None:
            self._stall_pairs = [
                id(node) for node in self._op_nodes
                if node.op.name == "log_loss" and getattr(node.inputs[0].op, "name", None) == "sigmoid"
            ]
        return any(pair not in fused for pair in self._stall_pairs)

    def _first_non_finite_gradient(self):
        """Which node's gradient went NaN/inf first, counting from the output back, and which
        op sent it there from a finite gradient of its own: its local derivative broke."""
        node = next(n for n in reversed(self.nodes) if n.grad is not None and not np.isfinite(n.grad).all())
        message = f"backward: the gradient of {node.label!r} holds NaN or inf ({_first_non_finite(node.grad)})"
        for sender in self._op_nodes:
            if sender.grad is None or not any(inp is node for inp in sender.inputs):
                continue
            with quiet():
                sent = local_gradients(sender, sender.grad)
            if any(g is not None and inp is node and not np.isfinite(g).all()
                   for inp, g in zip(sender.inputs, sent)):
                inputs = ", ".join(f"{i.label!r} {format_range(i._value)}" for i in sender.inputs)
                return (f"{message}: {sender.op} {sender.label!r} sent it from a finite gradient, "
                        f"its local derivative {sender.op.formula!r} at {inputs}")
        return message

    def zero_grad(self):
        """Clear every node's gradient (leaves included)."""
        for node in self.nodes:
            node.grad = None


def recompute(node, stamp, checked=False):
    """Recompute an op node's value from its inputs' current values (checking them first
    when `checked`), stamped `stamp` (ValueChanges.count now: see Node)."""
    inputs = node.inputs
    values = input_values(inputs)
    if checked and node.op.checks_inputs:
        check_inputs(node.op, inputs, values, node.name)
    value = node.op.forward(*values)
    # numpy returns a scalar, not a 0-d array, from ufuncs on 0-d arrays: keep arrays.
    if type(value) is not np.ndarray:
        value = value.__array__() if isinstance(value, _NUMPY_NUMBERS) else np.asarray(value)
    node._value = value
    node.stamp = stamp
    node.version += 1


def send_gradients(node, record=False):
    """One step of backward: add what an op node sends into its inputs' gradients.

    With record=True, returns (position, input, sent, before, after) for each input that
    took a gradient, for the narration.
    """
    grads = op_gradients(node, node.grad)
    sent = [] if record else None
    for position, (inp, grad, needed) in enumerate(zip(node.inputs, grads, node.needs)):
        if not needed:
            continue  # constants get no gradient (and ops may skip computing it)
        if type(grad) is not np.ndarray or grad.shape != inp._value.shape:
            grad = fitted(node, position, grad)
        before = inp.grad
        if inp.op is None:
            if record and before is not None:
                before = before.copy()  # the leaf adds into its array: keep it as it was
            receive(inp, grad)
        elif before is None:
            inp.grad = grad
        else:  # a new array, never `+=`: the first contribution may be another node's grad
            total = before + grad
            inp.grad = total if type(total) is np.ndarray else total.__array__()
        if record:  # (a leaf's array takes later contributions in place: record it as it is now)
            sent.append((position, inp, grad, before, inp.grad.copy() if inp.op is None else inp.grad))
    return sent


def receive(leaf, grad):
    """Add a gradient into a leaf's own gradient array.

    Every leaf owns its gradient, as in PyTorch: the first contribution is copied (an op
    may send one array to several inputs, as add does, or pass on its own gradient), later
    ones are added into it in place. So `w.grad *= 0.5` (scaling, clipping) changes w's
    gradient and nothing else, and a 0-d gradient stays a 0-d array.
    """
    if leaf.grad is None:
        leaf.grad = np.array(grad)
    else:
        np.add(leaf.grad, grad, leaf.grad)  # (out= as a keyword costs more)


def send_fused_gradient(node, through):
    """One fused step of backward: `node` sends its gradient past `through` (the op node
    feeding it) to that node's input, by the op's `fused_backward`."""
    target = through.inputs[0]  # it needs a gradient: `through` would not be fused otherwise
    values = [inp._value for inp in node.inputs]
    grad = node.op.fused_backward(node.grad, through._value, *values[1:])
    if grad.shape != target._value.shape:
        grad = unbroadcast(grad, target._value.shape)
    if target.op is None:
        receive(target, grad)
    else:
        target.grad = grad if target.grad is None else target.grad + grad


def all_finite(array):
    """True when no element is NaN or inf (call it where numpy is quiet: the sum may overflow).

    The sum of the elements (`element_sum`) is NaN or inf whenever an element is, and costs
    much less than isfinite(...).all(); only a sum that is not finite needs the full check
    (it may have overflowed: 1e308 + 1e308).
    """
    if array.size <= _SUMMED_BY_PYTHON:  # element_sum, inlined: this runs once per node built
        total = sum(array.ravel().tolist()) if array.ndim > 1 else sum(array.tolist()) if array.ndim else array.item()
    else:
        total = _add_reduce(array, None)
    return cmath.isfinite(total) or bool(np.isfinite(array).all())


def element_sum(array):
    """The sum of the array's elements, as a number that is NaN or inf whenever an element is
    (it can also overflow: a sum that is not finite is checked by `all_finite`).

    A few numbers are summed by Python itself, which skips numpy's call overhead (a float32
    sum done in Python's float64 cannot overflow). Sums of several arrays can be added up
    and checked once: the total is finite only if every element is.
    """
    if array.size <= _SUMMED_BY_PYTHON:
        return sum(array.ravel().tolist()) if array.ndim > 1 else sum(array.tolist()) if array.ndim else array.item()
    return _add_reduce(array, None)


_SUMMED_BY_PYTHON = 16
_add_reduce = np.add.reduce  # called with the axis as a positional argument: a keyword costs more


def _first_non_finite(array):
    array = np.asarray(array)
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    return f"{array[index].item()!r} at index {index}"
