"""Walking a recorded graph: topological order, backward, replayed forward, no_grad.

One topological sort, with no recursion, serves all of them and the drawing and the step
player too, so a chain of 100,000 nodes works. The graph is never torn down by backward:
it can be drawn, replayed and stepped through afterwards.
"""

import contextlib
import contextvars
import operator

import numpy as np

from .errors import NonFiniteError, SeedError

_grad_enabled = contextvars.ContextVar("minigraph_grad_enabled", default=True)
serial_number = operator.attrgetter("serial")


def is_grad_enabled():
    """False inside `no_grad()`: ops then return plain constants and record no edges."""
    return _grad_enabled.get()


@contextlib.contextmanager
def no_grad():
    """Build values without recording the graph (prediction, evaluation)."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def topological_order(output):
    """Every node `output` depends on, each after all of its inputs, `output` last.

    Nodes are numbered as they are created (`Node.serial`), and an input always exists
    before the node that uses it, so sorting the reachable nodes by that number is a
    topological order: the order the graph was built in. Finding them is a plain
    iterative walk (no recursion), telling nodes apart by identity, so `x * x` is one
    node with two edges.
    """
    reachable = {id(output): output}
    stack = [output]
    while stack:
        for child in stack.pop().inputs:
            if id(child) not in reachable:
                reachable[id(child)] = child
                stack.append(child)
    return sorted(reachable.values(), key=serial_number)


def unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:  # np.add.reduce: np.sum without its Python wrapper
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
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
    seed = np.asarray(seed, dtype=output.value.dtype)
    if seed.shape != output.shape:
        raise SeedError(
            f"backward() seed has shape {seed.shape} but {output.label!r} has shape {output.shape}"
        )
    return seed


def format_range(value):
    """'in [-3, 2.5]' (or 'holding NaN'): enough to see why an op misbehaved."""
    value = np.asarray(value)
    if not np.isfinite(value).all():
        return "holding NaN/inf"
    return f"in [{value.min():.4g}, {value.max():.4g}]"


def fit_gradient(node, position, grad):
    """An op's gradient for one input, summed back to that input's shape and checked."""
    inp = node.inputs[position]
    grad = unbroadcast(grad, inp.value.shape)
    if grad.shape != inp.value.shape:
        raise ValueError(
            f"{node.op.name} {node.label!r}: local gradient for input {position} "
            f"({inp.label!r}) has shape {grad.shape}, expected {inp.value.shape}"
        )
    return grad


def as_graph(target):
    """A Graph as is; a Node becomes the Graph of everything it depends on."""
    return target if isinstance(target, Graph) else Graph(target)


class Graph:
    """The nodes `output` depends on, sorted once, to run backward and replay forward on.

    `Graph(cost).forward()` recomputes every value from the leaves' current values without
    building new nodes; training loops call it after each update.
    """

    def __init__(self, output):
        self.output = output
        self.nodes = topological_order(output)
        self.parameters = [n for n in self.nodes if n.op is None and n.requires_grad]
        self._op_nodes = [n for n in self.nodes if n.op is not None]

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return (
            f"<Graph of {self.output.label!r}: {len(self.nodes)} nodes, "
            f"{len(self.parameters)} parameters>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows a Graph as its drawing."""
        from .render import draw  # render draws Graphs, so it imports this module

        return draw(self)._repr_mimebundle_(include=include, exclude=exclude)

    def forward(self):
        """Recompute every op node's value in order; return the output's value.

        Raises NonFiniteError naming the first node that turned NaN or infinite (a replay
        skips the build-time domain checks, so a step too far shows up here).
        """
        for _ in self.forward_steps():
            pass
        value = self.output.value
        if not np.isfinite(value).all():
            raise NonFiniteError(self._first_non_finite())
        return value

    def _first_non_finite(self):
        node = next(n for n in self._op_nodes if not np.isfinite(n.value).all())
        inputs = ", ".join(f"{inp.label!r} {format_range(inp.value)}" for inp in node.inputs)
        return (
            f"replay: {node.op} {node.label!r} produced NaN or inf from {inputs}; "
            f"the output {self.output.label!r} is {self.output.value!r}"
        )

    def forward_steps(self):
        """Recompute op nodes one at a time, yielding each node once its value is new."""
        for node in self._op_nodes:
            node.value = node.op.forward(*[inp.value for inp in node.inputs])
            yield node

    def backward(self, seed=None):
        """Fill in `grad` on every node that needs one, from the output back to the leaves.

        Op nodes get this pass's gradient (the previous one is replaced). Leaves accumulate,
        as in PyTorch: call `zero_grad()` between steps, or gradients add up across calls.
        A node used by several ops gets the sum of their contributions.
        """
        for _ in self.backward_steps(seed):
            pass

    def backward_steps(self, seed=None):
        """Run backward one op node at a time, yielding what each step did.

        Yields (node, sent) per op node in reverse topological order, where sent lists
        (position, input, gradient sent, gradient the input held before, gradient after)
        for each input that takes a gradient; "before" is None when this is its first.
        """
        seed = seed_gradient(self.output, seed)
        for node in self._op_nodes:
            node.grad = None
        output = self.output
        output.grad = seed if output.grad is None else output.grad + seed
        for node in reversed(self._op_nodes):
            upstream = node.grad
            if upstream is None or not node.requires_grad:
                continue
            inputs = node.inputs
            grads = node.op.backward(upstream, node.value, *[inp.value for inp in inputs])
            sent = []
            for position, inp in enumerate(inputs):
                grad = grads[position]
                if grad is None or not inp.requires_grad:
                    continue  # constants get no gradient (and ops may skip computing it)
                if grad.shape != inp.value.shape:
                    grad = fit_gradient(node, position, grad)
                before = inp.grad
                # A new array, never `+=`: the first contribution may be another node's grad.
                inp.grad = grad if before is None else before + grad
                sent.append((position, inp, grad, before, inp.grad))
            yield node, sent

    def zero_grad(self):
        """Clear every node's gradient (leaves included)."""
        for node in self.nodes:
            node.grad = None
