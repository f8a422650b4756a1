"""The narration: `explain(output)` prints the forward pass and one backward pass as
numbered steps (the records of `steps`), every op working out one element with its
numbers, scopes folded to a line each where asked, then the parameters' gradients and what
the teaching assistant (`assistant`) notices.
"""

import numbers
import sys

import numpy as np

from ..assistant import diagnose
from ..display import format_shape, scope_path
from ..errors import SeedError
from ..graph import as_graph, seed_gradient
from .steps import ForwardStep, backward_steps, block, forward_steps, shown

# The narration prints arrays of up to 64 elements (8×8) in full; of larger ones, their range.
NARRATED = 64
# Above this many nodes, explain folds every scope (layer) into one line a pass by default.
FOLD_ABOVE = 40


def explain(output, seed=None, *, file=None, max_shown=NARRATED, collapse=None):
    """Print a numbered narration of the forward pass, then of one backward pass.

    Forward replays the graph from its leaves' current values. Backward starts from 1 for a
    scalar output; a non-scalar one needs `seed`, the gradient to start from (the narration
    then calls it ∂L/∂output, L being Σ seed·output). The seed is checked before anything
    is printed: a bad one raises SeedError.

    One pass, one answer: the narration shows a single backward pass, the same whether
    backward ran before or not, and afterwards every node, leaves included, holds this
    pass's gradients (as after `output.backward(seed)`), never a sum over earlier calls.
    Where a node feeds several ops its contributions are numbered ("1 of 2") and the last
    one shows the completed sum.

    Every op works out one element with its numbers (see `Op.worked_forward`); in backward,
    g is the gradient arriving at the op. Arrays of up to `max_shown` elements are printed
    in full, matrices row by row (the CLI's `minigraph trace --max-shown N`); a larger one
    by its smallest and largest elements and how many are 0, labelled as such: the worked
    element shows the numbers one of its elements is made of.

    Scopes fold: `collapse` names the top-level scopes (`mg.scope("layer1")`) to narrate as
    one line in each pass (True: every scope; False: none). By default every scope folds
    when the graph has more than 40 nodes; pass collapse=False to unfold them.

    After the gradients, the teaching assistant (`minigraph.assistant`) says what it notices.
    """
    if isinstance(max_shown, bool) or not isinstance(max_shown, numbers.Integral):
        raise TypeError(f"explain: max_shown must be a whole number, got {max_shown!r}")
    if max_shown < 0:
        raise ValueError(f"explain: max_shown must be 0 or more, got {max_shown}")
    file = sys.stdout if file is None else file
    graph = as_graph(output)
    graph.forward()  # values from the current leaves, so the seed is checked against them
    try:
        seed_gradient(graph.output, seed)
    except SeedError as exc:
        raise SeedError(f"explain: {exc}") from None
    out = graph.label(graph.output)
    summed = {graph.label(p): p.passes for p in graph.parameters
              if p.grad is not None and getattr(p, "passes", 1) > 1}
    if summed:
        held = ", ".join(f"{label} the sum of {passes}" for label, passes in summed.items())
        print(f"Before this narration the parameters held gradients summed over several passes "
              f"(backward(accumulate=True)): {held}. This narrates one pass, and leaves that one "
              f"pass's gradients in .grad.\n", file=file)
    folded = _folded_scopes(graph, collapse)
    print(f"Forward pass: {len(graph.nodes)} nodes, each after its inputs", file=file)
    number = 0
    last = {node.scope[:1]: node for node in graph.nodes if node.scope[:1] in folded}
    for step in forward_steps(graph):
        number = step.number
        scope = step.node.scope[:1]
        if scope not in folded:
            _print_step(step, max_shown, file)
        elif last[scope] is step.node:
            _print_folded(graph, scope, number, "forward", max_shown, file)
    if seed is None:
        print(f"\nBackward pass: from ∂{out}/∂{out} = 1 back to the parameters, one op at a time",
              file=file)
    else:
        print(f"\nBackward pass: from the seed ∂L/∂{out}, where L = Σ seed·{out}, back to the "
              f"parameters, one op at a time", file=file)
    of = out if seed is None else "L"
    first = {}
    for node in graph.nodes:
        if node.op is not None and node.requires_grad and node.scope[:1] in folded:
            first.setdefault(node.scope[:1], node)
    for step in backward_steps(graph, seed, start=number + 1):
        scope = step.node.scope[:1]
        if scope not in folded:
            _print_step(step, max_shown, file)
        elif first[scope] is step.node:
            _print_folded(graph, scope, step.number, "backward", max_shown, file, of)
    parameters = [p for p in graph.parameters if p.grad is not None]
    if parameters:
        print("\nGradients of the parameters, now in their .grad:", file=file)
        for p in parameters:
            for line in shown(f"    ∂{of}/∂{graph.label(p)}", p.grad, max_shown):
                print(line, file=file)
    findings = diagnose(graph)
    if findings:
        print("\nThe teaching assistant notices:", file=file)
        for finding in findings:
            print(f"  - {finding}", file=file)


def _folded_scopes(graph, collapse):
    """The top-level scopes (1-tuples) explain folds: see `explain`'s `collapse`."""
    scopes = {node.scope[:1] for node in graph.nodes if node.scope}
    if collapse is None:
        collapse = len(graph.nodes) > FOLD_ABOVE
    if collapse is True or collapse is False:
        return scopes if collapse else set()
    names = {collapse} if isinstance(collapse, str) else set(collapse)
    unknown = names - {scope[0] for scope in scopes}
    if unknown:
        known = ", ".join(sorted(scope[0] for scope in scopes)) or "none"
        raise ValueError(f"explain: collapse names no scope {sorted(unknown)!r} of this graph; its "
                         f"top-level scopes are: {known}")
    return {(name,) for name in names}


def _print_folded(graph, scope, number, phase, max_shown, file, of=None):
    """One line for a folded scope: what leaves it (forward) or what it sends back and
    which of its parameters get gradients (backward)."""
    inside = [node for node in graph.nodes if node.scope[:1] == scope]
    members = {id(node) for node in inside}
    name = scope_path(scope)
    if phase == "forward":
        leaving = [node for node in inside if node is graph.output or any(
            id(inp) in members and id(user) not in members
            for user in graph.nodes for inp in user.inputs if inp is node)]
        shown = "; ".join(f"{graph.label(node)} = {_one_line(node.value, max_shown)}" for node in leaving)
        print(f"{number:3d}. {name} ({len(inside)} nodes, folded: collapse=False unfolds it): {shown}", file=file)
        return
    entering = [inp for node in inside for inp in node.inputs if id(inp) not in members and inp.grad is not None]
    parameters = [graph.label(node) for node in inside if node.op is None and node.requires_grad]
    sent = ", ".join(dict.fromkeys(f"∂{of}/∂{graph.label(inp)}" for inp in entering)) or "nothing further"
    print(f"{number:3d}. {name} (folded): sends {sent} back; its parameters "
          f"{', '.join(parameters) or '(none)'} get their gradients", file=file)


def _one_line(value, max_shown):
    lines = block(value, max_shown)
    return lines[0] if len(lines) == 1 else f"a {format_shape(np.shape(value))} array"


def _print_step(step, max_shown, file):
    first, *rest = step.describe(max_shown) if isinstance(step, ForwardStep) else step.describe(
        max_shown, repeat_upstream=False)
    print(f"{step.number:3d}. {first}", file=file)
    for line in rest:
        print(f"     {line}", file=file)
