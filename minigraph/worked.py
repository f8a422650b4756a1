"""Worked elements: one element of an op's result computed by hand, with its numbers.

An op can say how one representative element of its output is made from its inputs
(`Op.worked_forward(labels, out, *values)`) and how one element of each input's gradient is
made from the gradient arriving, g (`Op.worked_backward(labels, grad, out, *values)`), as
lines of text such as

    matmul[0, 2] = row 0 of wᵀ · column 2 of x = 0.01·0.4 + 0.01·0.5 = 0.009

`labels` are the inputs' labels in input order followed by the output's. The narration
(narration.explain) prints these lines under each step; an op without them just shows its
arrays. This module holds the pieces ops build those lines from: numbers written with one
minus sign (U+2212), indices, sums and dot products shortened to their first and last terms
and their count when long, and the generic worked element of an elementwise op, filled in
from its `element_formula` (the forward) and its `derivatives` (the local gradient).
"""

import string

import numpy as np

from .display import format_number
from .formulas import _transposed as formulas_transposed

MINUS = "−"
# A sum of more terms than this is written by its first two terms, its last, and its count.
LONGEST_SUM = 6


def number(value):
    """'0.5022', '−0.1658', '1e−05': four significant digits, the narration's minus sign."""
    return format_number(float(np.asarray(np.real(value)).item())).replace("-", MINUS)


def operand(value):
    """A number as a factor or term inside an expression: negative ones in parentheses."""
    text = number(value)
    return f"({text})" if text.startswith(MINUS) else text


def index(position):
    """'[0, 2]' for (0, 2); '' for a scalar's ()."""
    return "" if not position else "[" + ", ".join(str(int(i)) for i in position) + "]"


def at(label, position):
    """'z[0, 2]', or 'b' for a scalar."""
    return f"{label}{index(position)}"


def last(shape):
    """The worked element: the last one ([0, 2] of a 1×3 row), the same in every op."""
    return tuple(side - 1 for side in shape)


def source(position, shape):
    """Where element `position` of a broadcast result reads an input of `shape`."""
    offset = len(position) - len(shape)
    return tuple(0 if side == 1 else position[offset + axis] for axis, side in enumerate(shape))


def addition(values):
    """'0.1674 − 0.1658 − 0.1659', shortened to 'a + b + … + z (n terms)' when long."""
    values = list(np.ravel(values))
    shown = values if len(values) <= LONGEST_SUM else values[:2] + [None] + values[-1:]
    text = number(shown[0])
    for value in shown[1:]:
        if value is None:
            text += " + …"
        elif number(value).startswith(MINUS):
            text += f" − {number(value)[1:]}"
        else:
            text += f" + {number(value)}"
    return text if len(values) <= LONGEST_SUM else f"{text} ({len(values)} terms)"


def dot(left, right):
    """'0.01·0.2 + 0.01·0.7', shortened to its first two terms, its last and its count."""
    pairs = list(zip(np.ravel(left), np.ravel(right)))
    terms = [f"{operand(a)}·{operand(b)}" for a, b in pairs]
    if len(terms) > LONGEST_SUM:
        return " + ".join(terms[:2]) + f" + … + {terms[-1]} ({len(terms)} terms)"
    return " + ".join(terms)


def transposed(label):
    """wᵀ for w and w for wᵀ, as the narration's templates write them (formulas)."""
    if label.endswith("ᵀ") and not label.endswith(")ᵀ"):
        return label[:-1]
    return formulas_transposed(label)


def row(values):
    """'[0.1 −0.2 0.3]': a short vector, shortened to its ends when long."""
    values = list(np.ravel(values))
    shown = [number(v) for v in values] if len(values) <= LONGEST_SUM else (
        [number(v) for v in values[:3]] + ["…"] + [number(v) for v in values[-2:]])
    return "[" + " ".join(shown) + "]"


def along(position, axis, length):
    """The index tuple picking the slice through `position` along `axis`."""
    return tuple(slice(None) if a == axis else p for a, p in enumerate(position))


def slice_name(label, position, axis, ndim):
    """'column 2 of z' (axis 0 of a matrix), 'row 4 of scores' (axis 1), or 'z[:, 2]'."""
    if ndim == 2:
        other = position[1 - axis]
        return f"{'column' if axis == 0 else 'row'} {other} of {label}"
    return label + "[" + ", ".join(":" if a == axis else str(p) for a, p in enumerate(position)) + "]"


def shape_text(shape):
    return "a scalar" if shape == () else "×".join(map(str, shape))


def broadcast_sentence(label, shape, out_shape, verb="is paired with"):
    """How an input smaller than the output is repeated to fit it (broadcasting), or None:
    'b, a scalar, is added to each of the 3 columns'."""
    if tuple(shape) == tuple(out_shape):
        return None
    if int(np.prod(shape)) == 1:
        if len(out_shape) == 2 and out_shape[0] == 1:
            return f"{label}, a scalar, {verb} each of the {out_shape[1]} columns"
        return f"{label}, a scalar, {verb} each of the {int(np.prod(out_shape))} elements"
    if len(shape) == 2 and len(out_shape) == 2 and shape[1] == 1 and shape[0] == out_shape[0]:
        return f"{label}, a column ({shape_text(shape)}), {verb} each of the {out_shape[1]} columns"
    if len(shape) in (1, 2) and len(out_shape) == 2 and shape[0 if len(shape) == 1 else 1] == out_shape[1] \
            and int(np.prod(shape)) == out_shape[1]:
        return f"{label}, a row ({shape_text(shape)}), {verb} each of the {out_shape[0]} rows"
    return f"{label} ({shape_text(shape)}), repeated to the output's shape {shape_text(out_shape)}, {verb} it"


def fill(template, names, texts):
    """The template with each {name} replaced by texts[name]."""
    return string.Formatter().vformat(template, (), dict(zip(names, texts)))


def fill_numbers(template, values):
    """The template with each {name} replaced by the number values[name]: a negative one
    in parentheses, except where it stands alone as a function's argument ('max(−1, 0)')."""
    parts = list(string.Formatter().parse(template))
    text = ""
    for k, (literal, field, _, _) in enumerate(parts):
        text += literal
        if field is None:
            continue
        if field not in values:
            text += "{" + field + "}"
            continue
        after = parts[k + 1][0] if k + 1 < len(parts) else ""
        alone = (literal == "" or literal.endswith(("(", ", "))) and (after == "" or after.startswith((")", ",")))
        text += number(values[field]) if alone else operand(values[field])
    return text


def elementwise_forward(op, names, labels, out, values):
    """The lines of an elementwise op's worked element: how its inputs are broadcast, then
    out[i] = formula in labels = formula in numbers = value."""
    position = last(out.shape)
    verbs = getattr(op, "broadcast_verbs", ()) or ("is paired with",) * len(values)
    lines = [s for s in (broadcast_sentence(label, np.shape(value), out.shape, verb)
                         for label, value, verb in zip(labels, values, verbs)) if s]
    shapes = [np.shape(value) for value in values]
    where = [source(position, shape) for shape in shapes]
    symbols = fill(op.element_formula, names, [at(label, w) for label, w in zip(labels, where)])
    numbers = fill_numbers(op.element_formula, {name: np.asarray(value)[w] for name, value, w in zip(names, values, where)})
    lines.append(f"{at(labels[-1], position)} = {symbols} = {numbers} = {number(out[position])}")
    return lines


def elementwise_backward(template, names, label, grad, out, values, local):
    """The line for one input of an elementwise op at the worked element: g × the local
    derivative (its `derivatives` template, in numbers) = what is sent to that input."""
    position = last(out.shape)
    g = np.broadcast_to(grad, out.shape)[position]
    local = np.broadcast_to(local, out.shape)[position]
    numbers = {name: np.broadcast_to(value, out.shape)[position] for name, value in zip(names, values)}
    numbers["out"] = out[position]
    shown = number(local) if template is None else fill_numbers(template, numbers)
    where = f"at {index(position)}" if position else "here"
    if shown == number(local):
        return f"{where}: g × local = {operand(g)} × {operand(local)} = {number(g * local)}"
    return (f"{where}: local = {shown} = {number(local)}, "
            f"g × local = {operand(g)} × {operand(local)} = {number(g * local)}")
