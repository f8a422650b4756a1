"""How arrays are shown to a person: the numbers when there are few, a summary otherwise.

The drawing, the narration and the step player all use these, so a value reads the same
everywhere. `format_array` gives one line (a drawing's box); `format_block` gives the lines
of a matrix, row by row with aligned columns, and `side_by_side` sets such blocks next to
each other, so the narration can print `[[..]] @ [[..]] = [[..]]` as a reader would write it.
"""

import unicodedata

import numpy as np

# Up to this many elements are shown as numbers; larger arrays as shape, mean, min, max.
MAX_SHOWN = 6
PRECISION = 4  # significant digits


def format_array(value, max_shown=MAX_SHOWN, precision=4):
    """'0.5' for a scalar, '[0.1 0.2]' for a small array, a summary for a large one."""
    value = np.asarray(value)
    if value.size == 1:
        return format_number(value.item(), precision)
    if value.size <= max_shown:
        text = np.array2string(
            value, precision=precision, separator=" ", suppress_small=False,
            formatter={"float_kind": lambda v: format_number(v, precision)},
        )
        return " ".join(text.split())
    return summarize(value, precision)


def summarize(value, precision=4):
    """'mean 0.01, min -0.2, max 0.3' for an array too big to print."""
    return (
        f"mean {format_number(value.mean(), precision)}, min {format_number(value.min(), precision)}, "
        f"max {format_number(value.max(), precision)}"
    )


def format_shape(shape):
    return "scalar" if shape == () else "×".join(str(side) for side in shape)


def format_number(number, precision=PRECISION):
    """'0.1674', '-0.01765', '3', '1e-05': `precision` significant digits, never '-0'."""
    return f"{number + 0:.{precision}g}"  # + 0 turns -0.0 into 0.0


def format_block(value, max_shown=MAX_SHOWN, precision=PRECISION, shape=True, minus="-"):
    """The lines that show `value`: a number, a row, or a matrix one row per line.

    Columns are aligned on their decimal points, as numpy prints them. An array of more
    than `max_shown` elements is one line of summary ('2×348: mean …, min …, max …'; without
    the shape when `shape` is False): the narration (`show.steps.block`) and the drawings
    (`show.rows`) never call it that way, and show a picture or the range instead. `minus`
    is the sign negative numbers are written with (the narration's is U+2212).
    """
    value = np.asarray(value)
    if value.size == 1:
        return [format_number(value.item(), precision).replace("-", minus)]
    if value.size == 0:
        return [f"empty {format_shape(value.shape)}"]
    if value.size > max_shown:
        summary = summarize(value, precision)
        return [f"{format_shape(value.shape)}: {summary}" if shape else summary]
    cells = np.array([format_number(v, precision).replace("-", minus) for v in value.ravel()]).reshape(value.shape)
    return _nested_rows(_aligned_columns(cells))


def _aligned_columns(cells):
    """Pad the cells of each column (last axis) so their decimal points line up."""
    columns = cells.reshape(-1, cells.shape[-1])
    padded = np.empty(columns.shape, dtype=object)
    for j in range(columns.shape[1]):
        whole, point, fraction = zip(*(cell.partition(".") for cell in columns[:, j]))
        left = max(map(len, whole))
        right = max(len(p + f) for p, f in zip(point, fraction))
        for i, (w, p, f) in enumerate(zip(whole, point, fraction)):
            padded[i, j] = w.rjust(left) + (p + f).ljust(right)
    return padded.reshape(cells.shape)


def _nested_rows(cells):
    """numpy's layout: one bracketed row per line, inner rows indented under their '['."""
    if cells.ndim == 1:
        return ["[" + " ".join(cells) + "]"]
    lines = []
    for index, part in enumerate(cells):
        rows = _nested_rows(part)
        lines += [("[" if index == 0 and number == 0 else " ") + row for number, row in enumerate(rows)]
    lines[-1] += "]"
    return lines


def text_width(text):
    """How many columns `text` takes in a terminal (combining accents take none)."""
    return sum(not unicodedata.combining(char) for char in text)


def side_by_side(*pieces):
    """Lay pieces (a string, or a list of lines) left to right, aligned on their first line.

    `side_by_side("A = ", ["[[1 2]", " [3 4]]"])` gives ['A = [[1 2]', '     [3 4]]'].
    """
    blocks = [[piece] if isinstance(piece, str) else list(piece) for piece in pieces]
    height = max(len(block) for block in blocks)
    lines = [""] * height
    for block in blocks:
        width = max(text_width(line) for line in block)
        for row in range(height):
            line = block[row] if row < len(block) else ""
            lines[row] += line + " " * (width - text_width(line))
    return [line.rstrip() for line in lines]


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
# Joins a scope path and a name: 'layer1.z', as PyTorch's named_parameters writes it. A '/'
# would read as division inside a derivative (∂layer2/z).
SCOPE_SEPARATOR = "."


def scope_path(parts):
    """'layer1.linear' for the scope ('layer1', 'linear')."""
    return SCOPE_SEPARATOR.join(printable(part) for part in parts)


def unique_labels(nodes):
    """A short label for each node (keyed by id(node)), unique within `nodes` (in
    topological order, the output last).

    A named node is called by its name, prefixed by its scopes ('layer1.z'). An unnamed
    node is called by what it is in the lesson's notation (see `role_label`): z, a, ŷ,
    loss, cost, wᵀ, else its op's name or its kind; an unnamed one-element constant is
    shown as its number ('2'). Labels that several nodes share are numbered in graph
    order: z₁, z₂ for the two layers of an unscoped network, matmul₁, matmul₂.
    """
    users = {}
    for node in nodes:
        for inp in node.inputs:
            users.setdefault(id(inp), []).append(node)
    output = nodes[-1] if nodes else None
    base = {}
    for node in nodes:
        if node.name is None and node.op is None and not node.requires_grad and node.value.size == 1:
            base[id(node)] = format_array(node.value)  # the 2 in `2 * x`: its value says it all
            continue
        if node.name is None and node.op is not None and node.op.name == "transpose" \
                and getattr(node.op, "axes", None) is None and node.inputs[0].op is None:
            base[id(node)] = base[id(node.inputs[0])] + "ᵀ"  # wᵀ: its leaf, flipped
            continue
        name = printable(node.name) if node.name is not None else role_label(
            node, users.get(id(node), ()), node is output)
        base[id(node)] = "".join(f"{scope_path([part])}{SCOPE_SEPARATOR}" for part in node.scope) + name
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


def role_label(node, users, is_output):
    """What an unnamed node is, in the course's notation, from its op and its neighbours:

    - 'cost': the graph's scalar output when it is a loss that averages itself
      (softmax_cross_entropy), or a mean, sum or add one of whose inputs is a loss;
    - 'loss': an op whose class says `role = "loss"` (log_loss, log_loss_with_logits,
      softmax_cross_entropy when not the output);
    - 'ŷ': a sigmoid or softmax (`role = "probability"`) whose value is the graph's output
      or goes into a loss; 'a' for one that feeds the next layer;
    - 'a': any other activation (`role = "activation"`: tanh, relu, leaky_relu);
    - 'z': an add or sub one of whose inputs is a matmul (the linear step W·x + b);
    - otherwise the op's name (matmul, exp, ...), and a leaf's kind (parameter, constant).
    """
    if node.op is None:
        return node.kind
    role = getattr(node.op, "role", None)
    of_losses = node.op.name in ("mean", "sum", "add") and any(
        inp.op is not None and getattr(inp.op, "role", None) == "loss" for inp in node.inputs)
    if is_output and node.value.size == 1 and (role == "loss" or of_losses):
        return "cost"
    if role == "loss":
        return "loss"
    if role == "probability":
        into_loss = any(getattr(user.op, "role", None) == "loss" for user in users)
        return "ŷ" if is_output or into_loss else "a"
    if role == "activation":
        return "a"
    if node.op.name in ("add", "sub") and any(
            inp.op is not None and inp.op.name == "matmul" for inp in node.inputs):
        return "z"
    return node.op.name
