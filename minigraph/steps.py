"""Forward and backward passes as data, one record per node, and their narration.

`forward_steps(output)` recomputes the graph one node at a time; `backward_steps(output)`
runs backward one op at a time. Each record holds what a learner needs to follow the chain
rule: what flows in, the local-derivative formula (the op class's own `formula`) and its
numbers, the upstream gradient, what is sent to each input and whether it was added to a
gradient already there. `explain(output)` prints both passes as numbered sentences.
"""

import dataclasses
import sys

import numpy as np

from .display import MAX_SHOWN, format_array, format_shape
from .graph import as_graph


@dataclasses.dataclass
class ForwardStep:
    """One node's value becoming known: a leaf read, or an op computed from its inputs."""

    number: int
    node: object
    input_values: list
    value: np.ndarray
    formula: str

    def describe(self, max_shown=MAX_SHOWN):
        node = self.node
        if node.op is None:
            return [f"{node.label} is a {node.kind} ({format_shape(node.shape)}): "
                    f"{format_array(self.value, max_shown)}"]
        arguments = ", ".join(inp.label for inp in node.inputs)
        lines = [f"{node.label} = {node.op}({arguments})"]
        for inp, value in zip(node.inputs, self.input_values):
            lines.append(f"    in:  {inp.label} = {format_array(value, max_shown)}")
        lines.append(f"    out: {node.label} = {format_array(self.value, max_shown)}")
        return lines


@dataclasses.dataclass
class Contribution:
    """The gradient one op sends to one of its inputs."""

    position: int
    to: object
    local: object  # ∂out/∂input element by element (elementwise ops), else None
    sent: np.ndarray  # upstream × local, summed back to the input's shape
    before: object  # the gradient `to` already held (it is used more than once), else None
    total: np.ndarray  # `to`'s gradient after this step

    @property
    def added(self):
        """True when this contribution was added to a gradient already there."""
        return self.before is not None


@dataclasses.dataclass
class BackwardStep:
    """One op node passing its gradient back to its inputs (the chain rule, once)."""

    number: int
    node: object
    output: object
    upstream: np.ndarray
    formula: str
    input_values: list
    contributions: list

    def describe(self, max_shown=MAX_SHOWN):
        node, out = self.node, self.output.label
        arguments = ", ".join(inp.label for inp in node.inputs)
        lines = [
            f"{node.label} = {node.op}({arguments}): upstream ∂{out}/∂{node.label} = "
            f"{format_array(self.upstream, max_shown)}",
            f"    local: {self.formula}",
        ]
        for c in self.contributions:
            target = f"∂{out}/∂{c.to.label}"
            if c.local is not None:
                lines.append(f"    to {c.to.label}: local ∂{node.label}/∂{c.to.label} = "
                             f"{format_array(c.local, max_shown)}")
                summed = "" if c.sent.shape == c.local.shape else (
                    f", summed back to {c.to.label} ({format_shape(c.sent.shape)})")
                lines.append(f"        upstream × local{summed} = {format_array(c.sent, max_shown)}")
            else:
                lines.append(f"    to {c.to.label}: sends {format_array(c.sent, max_shown)}")
            if c.added:
                lines.append(f"        {c.to.label} is used more than once, so this adds to the "
                             f"gradient it already had: {target} = {format_array(c.before, max_shown)} + "
                             f"{format_array(c.sent, max_shown)} = {format_array(c.total, max_shown)}")
            else:
                lines.append(f"        {target} = {format_array(c.total, max_shown)}")
        return lines


def forward_steps(output):
    """Recompute `output`'s graph node by node, yielding a `ForwardStep` for each node."""
    graph = as_graph(output)
    recomputed = graph.forward_steps()
    for number, node in enumerate(graph.nodes, start=1):
        if node.op is not None:
            next(recomputed)  # computes this node (op nodes come in the same order)
        formula = node.op.formula if node.op is not None else ""
        yield ForwardStep(number, node, [inp.value for inp in node.inputs], node.value, formula)


def backward_steps(output, seed=None, start=1):
    """Run backward from `output`, yielding a `BackwardStep` per op node as it happens.

    Leaves the gradients in the nodes exactly as `output.backward(seed)` would.
    """
    graph = as_graph(output)
    for number, (node, sent) in enumerate(graph.backward_steps(seed), start=start):
        values = [inp.value for inp in node.inputs]
        local = _local_derivatives(node, values)
        contributions = [
            Contribution(position, inp, local[position], grad, before, after)
            for position, inp, grad, before, after in sent
        ]
        yield BackwardStep(number, node, graph.output, node.grad, node.op.formula, values, contributions)


def _local_derivatives(node, values):
    """∂node/∂input element by element, for elementwise ops; None for the others."""
    if not node.op.elementwise:
        return [None] * len(values)
    ones = np.ones_like(node.value)
    local = node.op.backward(ones, node.value, *values)
    return [
        None if d is None else np.broadcast_to(d, node.value.shape) for d in local
    ]


def explain(output, file=None, max_shown=MAX_SHOWN):
    """Print a numbered narration of the forward pass, then the backward pass.

    Small arrays are printed in full; larger ones (more than `max_shown` elements) as
    shape, mean, min and max. Runs backward, so gradients are left in the nodes.
    """
    file = sys.stdout if file is None else file
    graph = as_graph(output)
    print(f"Forward pass: {len(graph.nodes)} nodes, each after its inputs", file=file)
    number = 0
    for step in forward_steps(graph):
        number = step.number
        _print_step(step, max_shown, file)
    print(f"\nBackward pass: from ∂{graph.output.label}/∂{graph.output.label} = 1 back to "
          f"the parameters, one op at a time", file=file)
    for step in backward_steps(graph, start=number + 1):
        _print_step(step, max_shown, file)
    gradients = [f"∂{graph.output.label}/∂{p.label} = {format_array(p.grad, max_shown)}"
                 for p in graph.parameters if p.grad is not None]
    if gradients:
        print("\nGradients of the parameters:", file=file)
        for line in gradients:
            print(f"    {line}", file=file)


def _print_step(step, max_shown, file):
    first, *rest = step.describe(max_shown)
    print(f"{step.number:3d}. {first}", file=file)
    for line in rest:
        print(f"     {line}", file=file)

