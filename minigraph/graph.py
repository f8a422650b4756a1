"""Walking a recorded graph: topological order, backward, replayed forward, no_grad.

One iterative depth-first sort serves all of them (and the drawing and the step player), so
a chain of 100,000 nodes needs no recursion. The graph is never torn down by backward: it
can be drawn, replayed and stepped through afterwards.
"""

import contextlib
import contextvars

import numpy as np

from .errors import SeedError

_grad_enabled = contextvars.ContextVar("minigraph_grad_enabled", default=True)


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

    Iterative post-order depth-first search. Nodes are told apart by identity, and inputs
    keep their order, so `x * x` keeps both of its edges.
    """
    order = []
    visited = {id(output)}
    stack = [(output, iter(output.inputs))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, iter(child.inputs)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
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
        return np.ones_like(output.value)
    seed = np.asarray(seed, dtype=output.value.dtype)
    if seed.shape != output.shape:
        raise SeedError(
            f"backward() seed has shape {seed.shape} but {output.label!r} has shape {output.shape}"
        )
    return seed


def accumulate(node, grad):
    """Add one contribution to node.grad, making a new array so no caller's array changes."""
    node.grad = grad if node.grad is None else node.grad + grad


def local_gradients(node):
    """Run node's op backward and return one gradient per input, summed to input shapes.

    Inputs that need no gradient (constants) get None; the op may skip computing them.
    """
    grads = node.op.backward(node.grad, node.value, *[inp.value for inp in node.inputs])
    shaped = []
    for index, (inp, grad) in enumerate(zip(node.inputs, grads)):
        if not inp.requires_grad or grad is None:
            shaped.append(None)
            continue
        grad = unbroadcast(grad, inp.value.shape)
        if grad.shape != inp.value.shape:
            raise ValueError(
                f"{node.op.name} {node.label!r}: local gradient for input {index} "
                f"({inp.label!r}) has shape {grad.shape}, expected {inp.value.shape}"
            )
        shaped.append(grad)
    return shaped


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
        """Recompute every op node's value in order; return the output's value."""
        for _ in self.forward_steps():
            pass
        return self.output.value

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
        (position, input, gradient sent, gradient the input held before) for each input
        that takes a gradient; the last is None unless the input is used more than once.
        """
        seed = seed_gradient(self.output, seed)
        for node in self._op_nodes:
            node.grad = None
        accumulate(self.output, seed)
        for node in reversed(self._op_nodes):
            if node.grad is None or not node.requires_grad:
                continue
            sent = []
            for position, (inp, grad) in enumerate(zip(node.inputs, local_gradients(node))):
                if grad is not None:
                    sent.append((position, inp, grad, inp.grad))
                    accumulate(inp, grad)
            yield node, sent

    def zero_grad(self):
        """Clear every node's gradient (leaves included)."""
        for node in self.nodes:
            node.grad = None
