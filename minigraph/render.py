"""Drawing a graph with Graphviz: each node's name, op, shape, value and gradient.

`to_dot` needs only the `graphviz` Python package; `draw` returns a `graphviz.Digraph`
(shown inline in Jupyter); `render` writes SVG, PNG or PDF and needs Graphviz's `dot`.
Parameters, constants and op results are drawn differently, and each edge says which
argument it feeds and the shape that flows along it.
"""

import html
import pathlib

import graphviz

from .display import MAX_SHOWN, format_array, format_shape
from .errors import DotNotFoundError
from .graph import as_graph

# Graphviz lays out a few hundred nodes in about a second; past that the picture is
# unreadable anyway, so the nodes nearest the output are drawn and the rest summarised.
MAX_DRAWN = 200
STYLES = {
    "parameter": {"fillcolor": "#fff2cc", "color": "#b58900", "style": "filled,rounded"},
    "constant": {"fillcolor": "#eeeeee", "color": "#777777", "style": "filled,dashed"},
    "op": {"fillcolor": "#dbe9f6", "color": "#2b6ca3", "style": "filled,rounded"},
}
ACTIVE = {"color": "#d62728", "penwidth": "3"}
ORDINALS = ("1st", "2nd", "3rd")
INSTALL_HINT = (
    "Graphviz's 'dot' program is not installed, so the graph cannot be rendered. "
    "Install it (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz), "
    "or use minigraph.to_dot(...) for the DOT text, which needs no binary."
)


def node_ids(graph):
    """The DOT id of each node ('n0', 'n1', ... in topological order), keyed by id(node)."""
    return {id(node): f"n{index}" for index, node in enumerate(graph.nodes)}


def draw(target, rankdir="LR", max_nodes=MAX_DRAWN, max_shown=MAX_SHOWN, active=None,
         known_values=None, known_grads=None):
    """A `graphviz.Digraph` of a Node's graph (or of a `Graph`).

    `active` is a node to highlight. `known_values` and `known_grads`, sets of id(node),
    limit which values and gradients are shown (the step player uses them to show what is
    known at each step); None shows every value and every gradient computed so far.
    """
    graph = as_graph(target)
    ids = node_ids(graph)
    shown = graph.nodes[-max_nodes:]
    shown_ids = {id(node) for node in shown}
    dot = graphviz.Digraph(
        "minigraph",
        graph_attr={"rankdir": rankdir, "nodesep": "0.3", "ranksep": "0.45"},
        node_attr={"shape": "box", "fontname": "Helvetica", "fontsize": "11", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"},
    )
    hidden = len(graph.nodes) - len(shown)
    if hidden:
        dot.node(
            "hidden", shape="note", style="filled", fillcolor="#ffffff",
            label=f"{hidden} earlier nodes not drawn\n(max_nodes={max_nodes})",
        )
    for node in shown:
        value_known = known_values is None or id(node) in known_values
        grad_known = node.grad is not None and (known_grads is None or id(node) in known_grads)
        label = node_label(node, value_known, grad_known, max_shown)
        style = dict(STYLES[node.kind], **(ACTIVE if node is active else {}))
        dot.node(ids[id(node)], label=label, **style)
    for node in shown:
        for position, source in enumerate(node.inputs):
            tail = ids[id(source)] if id(source) in shown_ids else "hidden"
            dot.edge(tail, ids[id(node)], label=edge_label(node, position, source))
    return dot


def node_label(node, value_known=True, grad_known=True, max_shown=MAX_SHOWN):
    """An HTML-like Graphviz label: name, kind or op, shape, value, gradient."""
    title = node.label if node.name is not None else (str(node.op) if node.op else node.kind)
    kind = str(node.op) if node.op is not None else node.kind
    rows = [f"<B>{_escape(title)}</B>"]
    detail = f"{kind} · {format_shape(node.shape)}" if title != kind else format_shape(node.shape)
    rows.append(f'<FONT POINT-SIZE="9" COLOR="#555555">{_escape(detail)}</FONT>')
    if value_known:
        rows.append(_escape(f"value {format_array(node.value, max_shown)}"))
    else:  # a placeholder keeps the box's size, so the picture does not jump between steps
        rows.append('<FONT COLOR="#999999">value ?</FONT>')
    if grad_known:
        rows.append(f'<FONT COLOR="#b03a2e">{_escape(f"grad {format_array(node.grad, max_shown)}")}</FONT>')
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def edge_label(node, position, source):
    """'2nd · 4096×348' on a binary op's edge; just the shape on a unary op's."""
    shape = format_shape(source.shape)
    if len(node.inputs) == 1:
        return shape
    return f"{ORDINALS[position] if position < len(ORDINALS) else f'#{position + 1}'} · {shape}"


def _escape(text):
    """Text safe inside an HTML-like label: <, >, &, quotes escaped, newlines as breaks."""
    return html.escape(str(text), quote=True).replace("\n", "<BR/>")


def to_dot(target, **options):
    """The DOT source of `draw(target, **options)`; needs no Graphviz binary."""
    return draw(target, **options).source


def render(target, path, **options):
    """Write the drawing to `path`; the format (svg, png, pdf, ...) comes from its suffix."""
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"render: cannot tell the format of {path}: give it a suffix such as .svg")
    path.write_bytes(pipe(draw(target, **options), fmt))
    return path


def pipe(dot, fmt):
    """Run `dot` on a Digraph and return the output bytes, with an install hint if missing."""
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DotNotFoundError(INSTALL_HINT) from None
    except ValueError as exc:
        raise ValueError(f"render: Graphviz cannot write the format {fmt!r} ({exc})") from None
