"""A teaching assistant: after backward, what a teacher watching the numbers would say.

`diagnose(output)` looks at a graph's values and gradients (after backward) and returns
`Finding`s, each one sentence naming the nodes it is about:

- saturated units: hidden sigmoid or tanh units whose local derivative is below 1e-3 for
  at least half their elements, so almost nothing flows back through them (an output
  sigmoid that feeds the loss is left out: its loss's derivative makes up for it);
- dead ReLU units: units (rows when samples are columns, as in the course) that are not
  active for any sample of the batch, when at least a fifth of a layer's units are;
- vanishing or exploding gradients: the size (root mean square) of the gradient arriving
  at each layer's matmul, from the last layer back to the first, shrinking below 1e-3 or
  growing past 1e3 times the last's;
- a stalled training: a parameter whose gradient is exactly 0 while the cost is not, so
  gradient descent cannot move it, with the cause when it is the classic one (a sigmoid
  that rounds to exactly 0 or 1 before log_loss; the cure is log_loss_with_logits or
  backward(fuse=True)). `Graph.backward` warns about that cause itself (`stall_warning`).

Healthy graphs get no finding. explain prints the findings after the narration, the step
player shows them, and the models keep them in `diagnosis_` after fit.
"""

import dataclasses
import os
import sys
import warnings

import numpy as np

from .worked import number

SATURATED_DERIVATIVE = 1e-3  # a unit's local derivative below this passes almost nothing back
SATURATED_SHARE = 0.5  # ... for at least this share of its elements
DEAD_SHARE = 0.2  # a layer with at least this share of units never active is worth a word
VANISHING, EXPLODING = 1e-3, 1e3  # first layer's gradient norm / last layer's


class StalledGradientWarning(UserWarning):
    """A parameter's gradient is exactly zero while the cost is not: training cannot move it."""


@dataclasses.dataclass
class Finding:
    kind: str  # 'saturated', 'dead', 'vanishing', 'exploding' or 'stalled'
    sentence: str
    nodes: list  # the labels of the nodes it is about
    fusion_cures: bool = False  # a stall that backward(fuse=True) does not have

    def __str__(self):
        return self.sentence


def diagnose(output):
    """The findings on `output`'s graph (a Node or Graph) after backward, as `Finding`s."""
    from .graph import as_graph  # graph.py calls stall_warning from here: import it late

    graph = as_graph(output)
    findings = []
    for check in (_saturated, _dead, _vanishing_or_exploding, _stalled):
        findings += check(graph)
    return findings


def _users(graph):
    users = {}
    for node in graph.nodes:
        for inp in node.inputs:
            users.setdefault(id(inp), []).append(node)
    return users


def _saturated(graph):
    found = []
    users = _users(graph)
    for node in graph.nodes:
        name = getattr(node.op, "name", None)
        if name not in ("sigmoid", "tanh") or node is graph.output or node.value.size == 0:
            continue
        if any(getattr(user.op, "role", None) == "loss" for user in users.get(id(node), ())):
            continue  # an output unit: log_loss's derivative makes up for σ'
        out = node.value
        local = out * (1 - out) if name == "sigmoid" else 1 - out * out
        share = float(np.mean(local < SATURATED_DERIVATIVE))
        if share >= SATURATED_SHARE:
            label = graph.label(node)
            found.append(Finding("saturated", (
                f"{label} is saturated: {share:.0%} of its {name} values sit where the local derivative "
                f"is below {SATURATED_DERIVATIVE:g}, so almost no gradient flows back through it to "
                f"{_inputs(graph, node)}; smaller initial weights or standardised inputs keep "
                f"{name} in its steep middle."), [label]))
    return found


def _inputs(graph, node):
    return ", ".join(graph.label(inp) for inp in node.inputs)


def sample_axis(node):
    """The axis along which a layer's samples run: 1 when the weights multiply from the
    left (W @ x, samples as columns, the course's layout), 0 for x @ W (samples as rows)."""
    z = node.inputs[0]
    for _ in range(3):  # relu(z), z = matmul + b
        if z.op is None:
            break
        if z.op.name == "matmul":
            left, right = z.inputs
            if right.op is None and right.requires_grad and not (left.op is None and left.requires_grad):
                return 0
            return 1
        z = z.inputs[0]
    return 1 if node.value.ndim == 2 else 0


def _dead(graph):
    found = []
    for node in graph.nodes:
        if getattr(node.op, "name", None) != "relu" or node.value.ndim != 2:
            continue
        axis = sample_axis(node)
        if node.value.shape[axis] < 2:
            continue  # one sample: 'never active' says nothing yet
        active = (node.inputs[0].value > 0).any(axis=axis)
        dead = int(np.count_nonzero(~active))
        if dead and dead / active.size >= DEAD_SHARE:
            label = graph.label(node)
            found.append(Finding("dead", (
                f"{label} has {dead} dead ReLU units of {active.size} ({dead / active.size:.0%}): "
                f"their input is ≤ 0 for every one of the {node.value.shape[axis]} samples, so they "
                f"pass no gradient and their weights stop learning; standardised inputs, He "
                f"initialisation, a smaller learning rate or leaky_relu revive them."), [label]))
    return found


def layer_gradient_norms(graph):
    """[(label, size of the gradient)] for each layer, first layer first: a layer is a
    matmul by a weight matrix, and the size is the root mean square of the gradient that
    arrives at its output (‖∂cost/∂z‖/√n), which is what it passes on to the layers below."""
    users = _users(graph)
    norms = []
    for p in graph.parameters:
        if p.value.ndim < 2 or min(p.value.shape) < 2:
            continue
        for user in users.get(id(p), ()):
            if user.op.name == "matmul" and user.grad is not None and user.grad.size:
                norms.append((graph.label(user), float(np.sqrt(np.mean(np.square(user.grad))))))
                break
    return norms


def _vanishing_or_exploding(graph):
    norms = layer_gradient_norms(graph)
    if len(norms) < 2:
        return []
    (first, first_norm), (last, last_norm) = norms[0], norms[-1]
    if last_norm == 0 or first_norm == 0:
        return []  # a zero gradient is a stall, reported as one
    ratio = first_norm / last_norm
    cost = graph.label(graph.output)
    listed = ", ".join(f"{label} {number(norm)}" for label, norm in reversed(norms))
    listed = f"the size (root mean square) of ∂{cost} at each layer's output, last layer first: {listed}"
    labels = [label for label, _ in norms]
    if ratio < VANISHING:
        return [Finding("vanishing", (
            f"The gradient vanishes on its way back: {listed}; {first} gets {number(ratio)} of "
            f"what {last} gets, so the first layers barely learn (saturating units or too small "
            f"weights shrink it at every layer; ReLU and Xavier/He initialisation keep it level)."), labels)]
    if ratio > EXPLODING:
        return [Finding("exploding", (
            f"The gradient explodes on its way back: {listed}; {first} gets {number(ratio)} times "
            f"what {last} gets, so a step that suits the last layer throws the first ones far off "
            f"(smaller initial weights, Xavier/He initialisation or a smaller learning rate)."), labels)]
    return []


def _stalled(graph):
    stuck = stalled_parameters(graph)
    if not stuck:
        return []
    labels = [graph.label(p) for p in stuck]
    sentence, curable = stall_sentence(graph, labels)
    return [Finding("stalled", sentence, labels, curable)]


def stalled_parameters(graph):
    """The parameters whose gradient is exactly zero while the output (the cost) is not."""
    if graph.output.value.size != 1 or graph.output.value.item() == 0:
        return []
    return [p for p in graph.parameters if p.grad is not None and p.grad.size
            and np.count_nonzero(p.grad) == 0]


def stall_sentence(graph, labels):
    """(The sentence about the stalled parameters, whether its cause is a sigmoid rounding
    to 0 or 1 before log_loss, which log_loss_with_logits or fuse=True cures.)"""
    cost = graph.label(graph.output)
    said = (f"The gradient of {cost} with respect to {', '.join(labels)} is exactly 0 while {cost} = "
            f"{number(graph.output.value)}, so gradient descent cannot move "
            f"{'it' if len(labels) == 1 else 'them'}: training has stalled.")
    for node in graph.nodes:
        if getattr(node.op, "name", None) == "log_loss" and getattr(node.inputs[0].op, "name", None) == "sigmoid":
            p = node.inputs[0]
            rounded = float(np.mean((p.value == 0) | (p.value == 1)))
            if rounded > 0:
                return (f"{said} {graph.label(p)} = sigmoid({_inputs(graph, p)}) rounds to exactly 0 or 1 in "
                        f"{p.value.dtype} for {rounded:.0%} of its elements, where its local derivative "
                        f"ŷ·(1−ŷ) is 0 and {graph.label(node)} only sees its clipped value; use "
                        f"log_loss_with_logits(z, y), or backward(fuse=True), whose gradient is "
                        f"exactly σ(z) − y."), True
    return (f"{said} Every path back to {'it' if len(labels) == 1 else 'them'} passes a zero local "
            f"derivative or a zero input (a dead or saturated unit, all-zero data or weights)."), False


def stall_warning(graph):
    """Warn (StalledGradientWarning) if a parameter's gradient is exactly zero while the
    cost is not because a sigmoid rounded to 0 or 1 before log_loss: the silent stall of
    the float32 lesson, which log_loss_with_logits or fuse=True cures. (A zero gradient
    from all-zero data or weights is left to `diagnose`: it is often meant.)

    Called by Graph.backward after a pass that can have this stall (a log_loss fed by a
    sigmoid, not fused) whose first parameter's gradient sums to 0; it looks at that one
    parameter only (such a stall cuts every path back from the loss, so it zeroes them all)."""
    first = graph.parameters[0].grad if graph.parameters else None
    if first is None or np.count_nonzero(first):
        return
    stuck = stalled_parameters(graph)
    if stuck:
        sentence, curable = stall_sentence(graph, [graph.label(p) for p in stuck])
        if curable:
            warnings.warn(sentence, StalledGradientWarning, stacklevel=_callers_level())


def _callers_level():
    """The stacklevel of the first frame outside minigraph, so the warning points at the
    user's line that called backward (Python 3.12's skip_file_prefixes, by hand)."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
