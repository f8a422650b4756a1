"""The rows of a drawing that hold numbers: values and gradients of boxes, gradients of
edges, as `draw` and the step player show them.

An array of up to about 8×8 numbers prints in full, row by row, columns aligned; a bigger
one is a Picture (`minigraph.show.heatmap`) with its range beside it. Where several uses send a
node a gradient, a row shows the sum arriving for a few small terms, else how many have
come; a summary of an array is never added up or equated as if it were a number.
`current_texts` gives every row of a scene from the values and gradients its nodes hold.
"""

import dataclasses
import math

import numpy as np

from . import heatmap
from ..display import MAX_SHOWN, format_array, format_block, format_number
from ..graph import local_gradients
from ..quiet import quiet

# A fan-in of up to this many gradients is written out as a sum; a larger one as a count.
SUM_TERMS = 3
# A box prints an array of up to this many elements (8×8) in full, in at most TALLEST_PRINTED
# lines of at most WIDEST_PRINTED characters; a bigger one is drawn as a picture, its range
# beside it.
PRINTED = 64
WIDEST_PRINTED = 60
TALLEST_PRINTED = 8
EDGE_PRINTED = 9  # an edge's label prints up to 3×3 numbers
NBSP = "\u00a0"  # Graphviz and browsers keep it, where they would fold plain spaces


@dataclasses.dataclass
class Texts:
    """The changing rows of a drawing, by box or edge id: value and gradient rows of boxes,
    gradient rows of edges. A missing id has no such row. `pictures`, by (box id, 'value'
    or 'grad'), holds the heatmap drawn beside a row (None or absent: the row prints it)."""

    values: dict
    grads: dict
    edge_grads: dict
    pictures: dict = dataclasses.field(default_factory=dict)


def array_lines(value, max_shown=PRINTED):
    """The lines that print `value` in full, columns aligned, or None if it is too big to
    print (more than `max_shown` elements, more than TALLEST_PRINTED lines or wider than
    WIDEST_PRINTED characters)."""
    value = np.asarray(value)
    if value.size > max_shown:
        return None
    lines = format_block(value, max_shown=value.size)
    return lines if len(lines) <= TALLEST_PRINTED and max(map(len, lines)) <= WIDEST_PRINTED else None


def array_row(word, value, max_shown=PRINTED, image=False):
    """A row of a box ('value …' or 'grad …') and the Picture beside it, or None where the
    array prints in full. A drawn array's row says its range, never a mean."""
    lines = array_lines(value, max_shown)
    if lines is not None:
        return _block(word, lines), None
    drawn = heatmap.picture(value, image=image and bool(np.all(np.asarray(value) >= 0)))
    return "\n".join([word, stacked_range(value), drawn.omitted]).strip(), drawn


def range_text(value):
    """'from -0.01276 to 0.5302' ('all 0.5' if every element is), with the NaN and infinite
    elements counted if any."""
    value = np.asarray(value, dtype=float)
    finite = np.isfinite(value)
    if not finite.any():
        text = "no finite element"
    else:
        low, high = value[finite].min(), value[finite].max()
        text = f"all {format_number(low)}" if low == high else f"from {format_number(low)} to {format_number(high)}"
    return text + (f" ({int((~finite).sum())} not finite)" if not finite.all() else "")


def stacked_range(value):
    """`range_text` in lines narrow enough to stand beside a picture: 'from -1.6' over 'to 1.6'."""
    return range_text(value).replace(" to ", "\nto ")


def _block(word, lines):
    """`word` before a printed array's first line, the others indented under it, spaces
    made unbreakable: drawn left-aligned in a fixed-width face, its columns line up."""
    if len(lines) == 1:
        return f"{word} {lines[0]}"
    lines = [f"{word} {lines[0]}"] + [" " * (len(word) + 1) + line for line in lines[1:]]
    return "\n".join(line.replace(" ", NBSP) for line in lines)


def one_line(value, max_shown=MAX_SHOWN):
    """An array on one line (a term of a sum, an output of a collapsed scope), or its range
    if big."""
    value = np.asarray(value)
    return format_array(value, max_shown) if value.size <= max_shown else range_text(value)


def edge_text(value):
    """What an edge says it carries back: a few numbers row by row, or their range."""
    lines = array_lines(value, EDGE_PRINTED)
    return _block("grad", lines) if lines is not None else f"grad {range_text(value)}"


def value_text(picture, box, max_shown=PRINTED):
    """A box's value row and its Picture (None if printed): its node's value, or the range
    of each output value of a collapsed scope."""
    outputs = box.outputs
    if len(outputs) == 1:
        return array_row("value", outputs[0].value, max_shown, image=outputs[0].kind == "constant")
    return outputs_row("value", [node.value for node in outputs], [picture.graph.label(node) for node in outputs])


def outputs_row(word, arrays, labels, count=None):
    """The row of a box standing for several values (a collapsed scope's outputs): each
    named with its value for up to SUM_TERMS of them; for more, how many and their range,
    with every element drawn as one square picture (nothing a box must list in a line).
    `count`: how many there will be, where only some have come (gradients arriving)."""
    count = len(arrays) if count is None else count
    if count <= SUM_TERMS:
        return f"{word} " + "; ".join(f"{label} {one_line(value)}" for label, value in zip(labels, arrays)), None
    flat = np.concatenate([np.ravel(value) for value in arrays]).astype(float)
    side = math.ceil(math.sqrt(flat.size))
    square = np.full(side * side, np.nan)  # the cells past the last value are left blank
    square[:flat.size] = flat
    how_many = f"{len(arrays)} outputs" if len(arrays) == count else f"{len(arrays)} of {count} outputs"
    return f"{word}: {how_many}\n{stacked_range(flat)}", heatmap.picture(square.reshape(side, side))


def gradient_text(arrived, total, expected, max_shown=PRINTED):
    """A gradient row and its Picture (None if printed). Where several uses send a node a
    gradient it shows the sum arriving ('grad 0.2 + 0.3 = 0.5', small arrays one term a
    line), or how many of them have arrived so far. A bigger array is printed or drawn
    whole, with the count beside it: a summary is never added up as if it were a number."""
    if np.size(total) > MAX_SHOWN:
        row, drawn = array_row("grad", total, max_shown)
        if expected <= 1:
            return row, drawn
        so_far = f"so far, {len(arrived)} of {expected} contributions" if len(arrived) < expected else ""
        return f"{row}\n{so_far or f'the sum of {expected} contributions'}", drawn
    if expected <= 1:
        return array_row("grad", total, max_shown)
    shown = format_array(total, MAX_SHOWN)
    if len(arrived) < expected:
        return f"grad {shown} so far ({len(arrived)} of {expected} contributions)", None
    if expected <= SUM_TERMS:
        # Arrays one to a line, so that the sum does not make the box a metre wide.
        space = " " if np.size(total) == 1 else "\n"
        terms = f"{space}+ ".join(format_array(part, MAX_SHOWN) for part in arrived)
        return f"grad {terms}{space}= {shown}", None
    return f"grad Σ of {expected} contributions = {shown}", None


def current_texts(picture, max_shown=PRINTED):
    """The rows of a drawing from the values and gradients the nodes hold now.

    What each edge carries is recomputed from its consumer's gradient through the op's
    backward, as the last backward pass sent it.
    """
    graph = picture.graph
    sent, arrived = {}, {}
    with quiet():  # backward already ran on these values and checked them
        for node in reversed(graph.nodes):  # as backward runs, so sums add up in its order
            if node.op is None or node.grad is None or not node.requires_grad:
                continue
            for position, grad in enumerate(local_gradients(node, node.grad)):
                if grad is not None:
                    sent[(id(node), position)] = grad
                    arrived.setdefault(id(node.inputs[position]), []).append(grad)

    def grad_row(node):
        parts = arrived.get(id(node), [])
        if len(parts) > 1 and not np.allclose(sum(parts), node.grad, rtol=1e-9, atol=0):
            # backward(accumulate=True) added this pass to what the leaf held before
            row, drawn = array_row("grad", node.grad, max_shown)
            space = "\n" if "\n" in row else " "
            return f"{row}{space}(this pass sent {one_line(sum(parts))}, added to earlier ones)", drawn
        return gradient_text(parts, node.grad, len(parts), max_shown)

    texts = Texts({}, {}, {}, {})
    for box in picture.boxes:
        if box.kind in ("ghost", "hidden"):
            continue
        texts.values[box.id], texts.pictures[(box.id, "value")] = value_text(picture, box, max_shown)
        with_grad = [node for node in box.outputs if node.grad is not None]
        if len(box.outputs) == 1 and with_grad:
            texts.grads[box.id], texts.pictures[(box.id, "grad")] = grad_row(with_grad[0])
        elif with_grad:
            texts.grads[box.id], texts.pictures[(box.id, "grad")] = outputs_row(
                "grad", [node.grad for node in with_grad], [graph.label(node) for node in with_grad])
    for edge in picture.edges:
        parts = [sent[(id(node), position)] for node, position in edge.uses if (id(node), position) in sent]
        if parts:
            texts.edge_grads[edge.id] = edge_text(sum(parts))
    return texts
