"""How arrays are shown to a person: the numbers when there are few, a summary otherwise.

The drawing, the narration and the step player all use these, so a value reads the same
everywhere.
"""

import unicodedata

import numpy as np

# Up to this many elements are shown as numbers; larger arrays as shape, mean, min, max.
MAX_SHOWN = 6


def format_array(value, max_shown=MAX_SHOWN, precision=4):
    """'0.5' for a scalar, '[0.1 0.2]' for a small array, a summary for a large one."""
    value = np.asarray(value)
    if value.size == 1:
        return f"{value.item():.{precision}g}"
    if value.size <= max_shown:
        text = np.array2string(
            value, precision=precision, separator=" ", suppress_small=False,
            formatter={"float_kind": lambda v: f"{v:.{precision}g}"},
        )
        return " ".join(text.split())
    return summarize(value, precision)


def summarize(value, precision=4):
    """'mean 0.01, min -0.2, max 0.3' for an array too big to print."""
    return (
        f"mean {value.mean():.{precision}g}, min {value.min():.{precision}g}, "
        f"max {value.max():.{precision}g}"
    )


def format_shape(shape):
    return "scalar" if shape == () else "×".join(str(side) for side in shape)


def printable(text):
    """`text` with control and invisible formatting characters written as escapes (\\x00,
    \\u202e), so a name can neither break a drawing nor hide or reorder the text around it.

    Newlines are kept: drawings show them as line breaks.
    """
    return "".join(
        char if char == "\n" or unicodedata.category(char)[0] != "C" else _escaped(char)
        for char in str(text)
    )


def _escaped(char):
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def unique_labels(nodes):
    """A short label for each node (keyed by id(node)), unique within `nodes`.

    A node's name, prefixed by its scopes ('layer1/z'); an unnamed op is called by its op
    and an unnamed leaf by its kind, numbered in graph order when several share the label
    ('matmul₁', 'matmul₂'); an unnamed one-element constant is shown as its number ('2').
    """
    base = {}
    for node in nodes:
        if node.name is None and node.op is None and not node.requires_grad and node.value.size == 1:
            base[id(node)] = format_array(node.value)  # the 2 in `2 * x`: its value says it all
            continue
        scope = "".join(f"{printable(part)}/" for part in node.scope)
        base[id(node)] = scope + node.label
    counts = {}
    for node in nodes:
        if node.name is not None or node.op is not None or node.requires_grad or node.value.size != 1:
            counts[base[id(node)]] = counts.get(base[id(node)], 0) + 1
    seen = {}
    labels = {}
    for node in nodes:
        label = base[id(node)]
        if counts.get(label, 0) > 1:
            seen[label] = seen.get(label, 0) + 1
            label += str(seen[label]).translate(SUBSCRIPTS)
        labels[id(node)] = label
    return labels
