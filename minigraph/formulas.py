"""An op's local-gradient templates, filled in with one graph's labels or with its numbers.

Beside `formula`, an op class says, per input, how its local gradient reads in words:
`derivatives` (elementwise ops) is ∂out/∂input, e.g. Mul's ("{b}", "{a}"); `sends` (the
others) is the gradient the op sends back, e.g. MatMul's ("{grad} @ {b.mT}", "{a.mT} @
{grad}"). The placeholders are the op's inputs by the names of its `forward` parameters,
`{out}` (its output), `{grad}` (the gradient arriving at the output), `{n}` (how many
elements of the first input make each element of the output: the n of a mean) and
`{op.<attribute>}` (a constant of the op, such as Power's exponent). `.T` reverses a
placeholder's axes and `.mT` swaps its last two, as numpy's do.

The same template gives the formula (`∂cost/∂matmul @ xᵀ`) and, with each placeholder's
value in its place, the arithmetic (`[[0.17 -0.17]] @ [[0.2 0.7] [0.9 0.1]]`). A transposed
placeholder shows its transposed numbers, ready to multiply by hand, except when it is the
whole arithmetic (a transpose's gradient): then the flip is the point, and it shows the
numbers before it and a ᵀ.
"""

import inspect
import string

import numpy as np

from .display import format_block
from .errors import OpContractError


class Term:
    """A placeholder of a template: how it is written (`label`) and what it holds (`value`)."""

    def __init__(self, label, value, literal=False, flipped=None):
        self.label = label
        self.value = np.asarray(value)
        self.literal = literal  # a number written as itself (n): the same in both faces
        self.flipped = flipped  # the Term this one is the transpose of

    @property
    def T(self):  # noqa: N802 (numpy's name)
        return Term(_transposed(self.label), self.value.T, self.literal, self)

    @property
    def mT(self):  # noqa: N802 (numpy's name)
        value = self.value if self.value.ndim < 2 else np.swapaxes(self.value, -1, -2)
        return Term(_transposed(self.label), value, self.literal, self)


def _transposed(label):
    """'xᵀ', or '(∂cost/∂z)ᵀ' where a bare ᵀ would bind to part of the label only."""
    plain = not any(char in label for char in " /∂+−-·×@()")
    return f"{label}ᵀ" if plain else f"({label})ᵀ"


def input_names(op, count):
    """The names the templates use for an op's inputs: its forward's parameter names."""
    parameters = list(inspect.signature(type(op).forward).parameters.values())[1:]
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < count:  # forward(self, *values): a, b, c, ...
        names = [chr(ord("a") + i) for i in range(count)]
    return names[:count]


def templates(op, kind, count):
    """The op's `kind` templates ('derivatives' or 'sends'), one per input, or None."""
    found = getattr(op, kind, ())
    if not found:
        return None
    if isinstance(found, str) or len(found) != count:
        raise OpContractError(
            f"{type(op).__name__}.{kind} must be a tuple of {count} template(s), one per input; "
            f"got {found!r}"
        )
    return tuple(found)


def fill(template, terms, op):
    """The template as (formula text, arithmetic pieces): the pieces are strings and Terms,
    each placeholder's value in its place. The arithmetic is None where there is nothing to
    work out: one value and words around it (the narration has already shown that value)."""
    formatter = string.Formatter()
    namespace = dict(terms, op=op)
    text, pieces = [], []
    for literal, field, spec, conversion in formatter.parse(template):
        text.append(literal)
        pieces.append(literal)
        if field is None:
            continue
        try:
            term, _ = formatter.get_field(field, (), namespace)
        except (KeyError, AttributeError, IndexError):
            names = ", ".join(sorted(namespace))
            raise OpContractError(
                f"{type(op).__name__}: the template {template!r} names {{{field}}}; "
                f"the placeholders are {names} (and their .T, .mT)"
            ) from None
        if isinstance(term, Term):
            text.append(term.label)
            pieces.append(term)
        else:  # a constant of the op, written the same in both faces
            shown = format(formatter.convert_field(term, conversion), spec)
            text.append(shown)
            pieces.append(shown)
    terms = [piece for piece in pieces if isinstance(piece, Term)]
    if len(terms) == 1 and terms[0].flipped is not None:
        flip = pieces.index(terms[0])
        pieces[flip:flip + 1] = [terms[0].flipped, TRANSPOSED]
    elif len(terms) < 2 or all(term.literal for term in terms):
        pieces = None
    return "".join(text), pieces


TRANSPOSED = "ᵀ"


def arithmetic(pieces, max_shown):
    """The arithmetic pieces as blocks of lines, or None if a value is too big to print."""
    blocks = []
    for piece in pieces:
        if isinstance(piece, Term):
            if piece.value.size > max_shown:
                return None
            piece = format_block(piece.value, max_shown, minus="−")
        elif piece == TRANSPOSED:  # on the last line of the matrix before it: ]]ᵀ
            piece = [""] * (len(blocks[-1]) - 1) + [piece]
        blocks.append(piece)
    return blocks
