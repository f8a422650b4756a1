"""Forward and backward passes as data, one record per node, and their narration.

`forward_steps(output)` recomputes the graph one node at a time; `backward_steps(output)`
runs backward one op at a time. Each record holds what a learner needs to follow the chain
rule: what flows in, the local derivative (the op's own templates, in the graph's labels,
and its numbers), the upstream gradient, what is sent to each input and, for an input used
more than once in the pass, which of its contributions this is. `describe()` gives a
step's lines, as `narration.explain` prints them and the step player shows them; nodes are
called by `Graph.label` ('matmul₂', 'layer1.z') so two nodes never share a name, and each
op step works out one element with its numbers (the op's worked_forward / worked_backward,
see `worked`).
"""

import dataclasses

import numpy as np

from ..display import MAX_SHOWN, format_block, format_shape, side_by_side, text_width
from ..formulas import Term, arithmetic, fill, input_names, templates
from ..graph import as_graph
from ..quiet import quiet
from ..worked import MINUS, addition as worked_addition, elementwise_backward as worked_element, number

# An equation whose parts all fit on one line stays on one line up to this width.
LINE_WIDTH = 100
ORDINALS = ("1st", "2nd", "3rd")


@dataclasses.dataclass
class ForwardStep:
    """One node's value becoming known: a leaf read, or an op computed from its inputs."""

    number: int
    node: object
    input_values: list
    value: np.ndarray
    formula: str
    graph: object

    def describe(self, max_shown=MAX_SHOWN, big=None):
        """The step's lines: a leaf and its value; an op as written in Python, the worked
        element its op shows (every input's value was printed at its own step), its value.
        An array of more than `max_shown` elements is written by `big(value, image)` (see
        `block`)."""
        node, label = self.node, self.graph.label
        if node.op is None:
            image = node.kind == "constant" and bool(np.all(np.asarray(self.value) >= 0))
            return side_by_side(f"{label(node)} is a {node.kind} ({format_shape(node.shape)}): ",
                                block(self.value, max_shown, big, image))
        labels = [label(inp) for inp in node.inputs]
        lines = [f"{label(node)} = {node.op.expression(*labels)}"]
        empty = nothing_to_work_out(labels + [label(node)], [*self.input_values, self.value])
        if empty:
            worked = [empty]
        else:
            with quiet():
                worked = node.op.worked_forward(labels + [label(node)], self.value, *self.input_values)
        lines += [f"    {line}" for line in worked or ()]
        lines += shown(f"    out: {label(node)}", self.value, max_shown, big)
        return lines


@dataclasses.dataclass
class Contribution:
    """The gradient one op sends to one of its inputs."""

    position: int
    to: object
    local: object  # ∂out/∂input element by element (elementwise ops), else None
    product: np.ndarray  # what the op's backward gives, before summing back to the input's shape
    sent: np.ndarray  # the product summed back to the input's shape
    before: object  # the sum of this pass's earlier contributions to `to`, else None
    total: np.ndarray  # `to`'s gradient after this step
    index: int  # this is contribution `index` of `uses` that `to` receives in this pass
    uses: int

    @property
    def added(self):
        """True when this contribution was added to earlier ones of this pass."""
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
    graph: object
    of: str  # what the gradients are of: the output's label, or L when backward had a seed

    def describe(self, max_shown=MAX_SHOWN, repeat_upstream=True, big=None):
        """The step's lines. With repeat_upstream=False (a narration read top to bottom) an
        upstream gradient of several lines is not printed again: the step that sent it did.
        An array of more than `max_shown` elements is written by `big(value, image)` (see
        `block`)."""
        node, label = self.node, self.graph.label
        labels = [label(inp) for inp in node.inputs]
        head = f"{label(node)} = {node.op.expression(*labels)}: upstream g = {self._d(node)}"
        if _drawn(self.upstream, max_shown):
            lines = shown(head, self.upstream, max_shown, big)
        else:
            upstream = block(self.upstream, max_shown)
            if len(upstream) > 1 and not repeat_upstream and node is not self.output:
                upstream = ["as worked out above"]
            lines = side_by_side(f"{head} = ", upstream)
        names = input_names(node.op, len(node.inputs))
        kind = "derivatives" if node.op.elementwise else "sends"
        words = templates(node.op, kind, len(node.inputs))
        worked = self._worked(labels + [label(node)])
        if words is None and node.op.formula and not worked:
            lines.append(f"    local: {node.op.formula}")
        lines += [f"    {line}" for line in worked]
        terms = self._terms(names)
        sent = {c.position: c for c in self.contributions}
        for position, inp in enumerate(node.inputs):
            head = f"    to {label(inp)}{self._ordinal(position)}: "
            if position not in sent:
                body = [f"{label(inp)} {_why_no_gradient(inp)}, so it needs no gradient"]
            else:
                template = None if words is None else words[position]
                body = self._contribution(sent[position], template, terms, max_shown, big)
            lines += side_by_side(head, body)
        return lines

    def _d(self, node):
        return f"∂{self.of}/∂{self.graph.label(node)}"

    def _worked(self, labels):
        """The op's worked element of each input's gradient (g: the upstream gradient),
        leaving out the lines for inputs that take none (they begin 'to <label>')."""
        node = self.node
        empty = nothing_to_work_out(labels + [f"g = {self._d(node)}"], [*self.input_values, self.upstream])
        if empty:
            return [empty]
        if node.op.elementwise:
            return []  # worked out per input from its local derivative (see _contribution)
        with quiet():
            lines = node.op.worked_backward(labels, self.upstream, node.value, *self.input_values) or []
        idle = [label for label, needed in zip(labels, node.needs) if not needed]
        return [line for line in lines if not any(_about(line, label) for label in idle)]

    def _ordinal(self, position):
        """' (2nd input)' where the op takes the same node twice, as in x * x."""
        inputs = self.node.inputs
        if sum(inp is inputs[position] for inp in inputs) < 2:
            return ""
        return f" ({ORDINALS[position] if position < 3 else f'{position + 1}th'} input)"

    def _terms(self, names):
        label, node = self.graph.label, self.node
        terms = {name: Term(label(inp), inp.value) for name, inp in zip(names, node.inputs)}
        count = node.inputs[0].value.size // max(node.value.size, 1) if node.inputs else 1
        terms.update(out=Term(label(node), node.value), grad=Term(self._d(node), self.upstream),
                     n=Term(str(count), count, literal=True))
        return terms

    def _contribution(self, c, template, terms, max_shown, big):
        """The lines for one input: the local derivative, what is sent, and where it adds up."""
        node, inp = self.graph.label(self.node), self.graph.label(c.to)
        # An input used several times gets one contribution from each use; they add up.
        lhs = self._d(c.to) if c.uses == 1 else f"contribution {c.index} of {c.uses}"
        lines = []
        if c.local is not None:  # elementwise: the local derivative, then upstream × local
            formula = "" if template is None else fill(template, terms, self.node.op)[0]
            lines += _equation(f"local ∂{node}/∂{inp}", formula, None, _compact(c.local), max_shown, big)
            names = input_names(self.node.op, len(self.node.inputs))
            if c.local.size:  # else the step said there is no element to work out
                lines.append(worked_element(template, names, inp, self.upstream, self.node.value,
                                            self.input_values, c.local))
            product = f"{self._d(self.node)} × ∂{node}/∂{inp}"
            # g × 1 is g: a matrix is not printed again where the local derivative is 1.
            unchanged = (_drawn(c.product, max_shown) or len(block(c.product, max_shown)) > 1) and np.array_equal(
                c.product, self.upstream)
            if c.product.shape == c.sent.shape:
                lines += [f"{lhs} = {product} = g × 1 = g"] if unchanged else _equation(
                    lhs, product, None, c.sent, max_shown, big)
            else:
                lines += [f"{product} = g × 1 = g"] if unchanged else _equation(
                    product, "", None, c.product, max_shown, big)
                lines += self._summed_back(c, lhs, max_shown, big)
        elif template is not None:  # matmul, sums, transposes: the product, with its factors
            formula, pieces = fill(template, terms, self.node.op)
            lines += _equation(lhs, formula, pieces, c.product, max_shown, big)
            if c.product.shape != c.sent.shape:
                lines += self._summed_back(c, lhs, max_shown, big)
        else:  # an op without templates: what its backward sent
            lines += _equation(lhs, "", None, c.sent, max_shown, big)
        return lines + self._adding_up(c, max_shown, big)

    def _summed_back(self, c, lhs, max_shown, big):
        """The product summed over the axes the input was broadcast along."""
        reason = (f"{self.graph.label(c.to)} ({format_shape(c.sent.shape)}) was broadcast to "
                  f"{format_shape(c.product.shape)}, so the product is summed back:")
        addition = None
        if c.sent.size == 1 and c.product.size <= max_shown:  # a scalar: show the addition
            addition = [worked_addition(c.product.ravel())]
        return [reason] + _equation(lhs, "", addition, c.sent, max_shown, big)

    def _adding_up(self, c, max_shown, big):
        """For an input used more than once in the pass: which contribution, and the sum."""
        if c.uses == 1:
            return []
        target = self._d(c.to)
        if c.index == 1:
            return [f"{self.graph.label(c.to)} is used {c.uses} times in this pass: "
                    f"{target} is the sum of its {c.uses} contributions"]
        said = "the sum is now complete" if c.index == c.uses else "the sum so far"
        addition = [Term("", c.before), " + ", Term("", c.sent)]
        equation = _equation(target, "", addition, c.total, max_shown, big)
        return [f"{said}: {equation[0]}"] if len(equation) == 1 else [f"{said}:"] + equation


def nothing_to_work_out(labels, arrays):
    """'no element to work out: x is empty (0×3)' when one of a step's arrays has no
    elements, else None. The passes run (an empty sum is 0), but an op's worked element
    picks an element of each array, and an empty one has none."""
    for text, array in zip(labels, arrays):
        if np.size(array) == 0:
            return f"no element to work out: {text} is empty ({format_shape(np.shape(array))})"
    return None


def _about(line, label):
    """Whether a worked line is about the input called `label` ('to x[0, 1]: …', or the
    element of its gradient a conv works out, '∂L/∂x[0, 0, 2, 2] = …')."""
    return line.startswith((f"to {label}[", f"to {label}:", f"to {label} ", f"∂L/∂{label}[")) or any(
        line.startswith(f"to {side} ") and f" of {label}:" in line.split(":")[0] + ":" for side in ("row", "column"))


def block(value, max_shown, big=None, image=False):
    """A value as the narration shows it: in full up to `max_shown` elements, negative numbers
    with the minus sign (U+2212) the worked lines use; a bigger array as the one line
    `big(value, image)` gives (`image`: an input that is a picture, pixels ≥ 0). The terminal's
    `big` is `too_big`; the step player's puts a picture of the array there."""
    if _drawn(value, max_shown):
        return [(big or too_big)(np.asarray(value), image)]
    return format_block(value, max(max_shown, 1), minus=MINUS)


def _drawn(value, max_shown):
    """Whether `value` is too big to print in full (a single number always prints)."""
    return np.size(value) > max(max_shown, 1)


def too_big(value, image=False):
    """What the terminal says of an array too big to print, where no picture fits and its
    corners would be mostly the zeros of a background: its smallest and largest elements,
    labelled as such, and how many of its elements are 0 (a ReLU's or a max-pool's zeros
    are the point). The worked element's lines give the numbers one element is made of."""
    value = np.asarray(value, dtype=float)
    finite = np.isfinite(value)
    low, high = (value[finite].min(), value[finite].max()) if finite.any() else (None, None)
    if low is not None and low == high and finite.all():
        return f"too big to print: all of its {value.size} elements are {number(low)}"
    parts = [f"min {number(low)}, max {number(high)}"] if low is not None else ["no finite element"]
    zeros = int(np.count_nonzero(value == 0))
    if zeros:
        parts.append(f"{zeros} of its {value.size} elements {'is' if zeros == 1 else 'are'} 0")
    if not finite.all():
        parts.append(f"{int(np.count_nonzero(~finite))} not finite")
    return "too big to print: " + "; ".join(parts)


def shown(prefix, value, max_shown, big=None):
    """'prefix = [[0.1 0.2]]', or for an array too big to print 'prefix (shape): …' with
    `big`'s line: a picture or a description is never written as if it were the number."""
    if _drawn(value, max_shown):
        return [f"{prefix} ({format_shape(np.shape(value))}): {block(value, max_shown, big)[0]}"]
    return side_by_side(f"{prefix} = ", block(value, max_shown))


def _why_no_gradient(node):
    if node.op is None:
        return "is a constant"
    return "is computed from constants only"


def _compact(local):
    """A local derivative equal at every element (1 for add) as that one number."""
    flat = np.ravel(local)
    return flat[:1].reshape(()) if flat.size > 1 and (flat == flat[0]).all() else local


def _same(shown, result):
    """Whether a part reads as the result ('−1' and '-1' do)."""
    return [line.replace("−", "-") for line in shown] == result


def _equation(lhs, formula, pieces, result, max_shown, big=None):
    """'lhs = formula = arithmetic = result': one line when it fits, else one '=' a line.

    `formula` is text (or ""), `pieces` the arithmetic (strings and Terms, or None), `result`
    an array. A part that would say nothing new is left out: arithmetic with a value too big
    to print, a result that reads the same as the part before it. A result too big to print
    follows a colon, as `big` writes it (see `shown`).
    """
    parts = [[formula]] if formula else []
    worked = None if pieces is None else arithmetic(pieces, max_shown)
    if worked is not None:
        parts.append(side_by_side(*worked))
    if _drawn(result, max_shown):
        lines = _chain(lhs, parts)
        lines[-1] += f" ({format_shape(np.shape(result))}): {block(result, max_shown, big)[0]}"
        return lines
    result = block(result, max_shown)
    if not parts or not _same(parts[-1], result):
        parts.append(result)
    return _chain(lhs, parts)


def _chain(lhs, parts):
    """'lhs = part = part' on one line if it fits, else one '=' a line ([lhs] for none)."""
    if not parts:
        return [lhs]
    if all(len(part) == 1 for part in parts):
        line = " = ".join([lhs] + [part[0] for part in parts])
        if text_width(line) <= LINE_WIDTH:
            return [line]
    lines = side_by_side(f"{lhs} = ", parts[0])
    indent = " " * text_width(lhs)
    for part in parts[1:]:
        lines += side_by_side(f"{indent} = ", part)
    return lines


def forward_steps(output):
    """Recompute `output`'s graph node by node, yielding a `ForwardStep` for each node."""
    graph = as_graph(output)
    recomputed = graph.forward_steps()
    for index, node in enumerate(graph.nodes, start=1):
        if node.op is not None:
            next(recomputed)  # computes this node (op nodes come in the same order)
        formula = node.op.formula if node.op is not None else ""
        # Copies: a parameter's array moves in place with the optimizer; a record keeps its numbers.
        yield ForwardStep(index, node, [inp.value.copy() for inp in node.inputs], node.value.copy(), formula,
                          graph)
    next(recomputed, None)  # lets the replay finish its checks


def backward_steps(output, seed=None, start=1):
    """Run backward from `output`, yielding a `BackwardStep` per op node as it happens.

    Leaves the gradients in the nodes exactly as `output.backward(seed)` would: one pass,
    one answer, whatever ran before.
    """
    graph = as_graph(output)
    of = graph.label(graph.output) if seed is None else "L"
    uses = graph.gradient_uses()
    received = {}
    for index, (node, sent) in enumerate(graph.backward_steps(seed), start=start):
        values = [inp.value.copy() for inp in node.inputs]  # copies, as in forward_steps
        local = _local_derivatives(node, values)
        products = _products(node, values, local)
        contributions = []
        for position, inp, grad, before, after in sent:
            received[id(inp)] = received.get(id(inp), 0) + 1
            contributions.append(Contribution(
                position, inp, local[position], products[position], grad.copy(), _copy(before), after.copy(),
                received[id(inp)], uses[id(inp)],
            ))
        yield BackwardStep(index, node, graph.output, node.grad.copy(), node.op.formula, values,
                           contributions, graph, of)


def _copy(array):
    return None if array is None else array.copy()


def _call_backward(node, grad, values):
    op = node.op
    with quiet():  # the engine has already checked these gradients
        if op.takes_needs:
            return op.backward(grad, node.value, *values, needs=node.needs)
        return op.backward(grad, node.value, *values)


def _products(node, values, local):
    """What the op's backward gives each input before it is summed back to the input's
    shape: upstream × local for an elementwise op; the others' backward runs once more."""
    if node.op.elementwise:
        return [None if d is None else node.grad * d for d in local]
    return [None if g is None else np.asarray(g) for g in _call_backward(node, node.grad, values)]


def _local_derivatives(node, values):
    """∂node/∂input element by element, for elementwise ops; None for the others."""
    if not node.op.elementwise:
        return [None] * len(values)
    ones = np.ones_like(node.value)
    return [
        None if d is None else np.broadcast_to(d, node.value.shape)
        for d in _call_backward(node, ones, values)
    ]
