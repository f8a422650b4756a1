"""Drawing a graph with Graphviz: every node's label, op, shape, value and gradient, and on
every edge the gradient it carries back.

`scene` decides what is drawn: a box per node; a nested cluster per scope (`with
mg.scope("layer1")`), labelled with the shapes that leave it; one box for a collapsed scope
(`collapse={"layer1"}`, or `depth=1` for everything deeper than one level), showing its
output's value and gradient; and, for a leaf used many times (one weight shared by 75
layers), a dashed copy per use, so that no edge spans the whole graph: such edges are what
made dot's layout take minutes. `draw` turns a scene into a `graphviz.Digraph` holding the
numbers as they are now (Jupyter shows it inline); `to_dot` gives its DOT text without the
Graphviz binary; `render` writes SVG, PNG or PDF and needs Graphviz's `dot`. The step
player lays the same scene out once and changes only its text between frames.

A drawing is made for the width it is shown in (`width`, CSS pixels; 700 by default, the
docs' column): left to right if Graphviz reports that it fits, else top to bottom
(`fitting_rankdir`). Arrays of up to about 8×8 numbers print in full, row by row; bigger
ones are drawn as pictures (`minigraph.show.heatmap`) with their range beside them, and a
summary of an array is never added up or equated as if it were a number.
"""

import base64
import dataclasses
import hashlib
import html
import json
import pathlib
import re
import shutil
import tempfile

import graphviz

from ..display import format_shape, printable, scope_path
from ..errors import DotNotFoundError
from ..graph import as_graph
from .rows import NBSP, PRINTED, current_texts

# Graphviz lays out a few hundred boxes in about a second; past that a static picture is
# unreadable anyway, so the nodes nearest the output are drawn and the rest summarised.
MAX_DRAWN = 200
# A leaf feeding more edges than this is drawn once per use ("same as w" copies).
GHOST_AFTER = 3
RANKDIRS = ("LR", "TB", "RL", "BT")
# The narrowest place a drawing is shown in, in CSS pixels: the docs site's column (a
# notebook cell is about 850, a window 1,300). Graphviz measures in points, 4/3 px each.
FIT_WIDTH = 700
PX_PER_PT = 4 / 3
# Each rank of a left-to-right drawing takes at least this many points (a box and the gap
# after it): with more ranks than fit, the picture is turned without laying it out first.
MIN_RANK_PT = 60
STYLES = {
    "parameter": {"fillcolor": "#fff2cc", "color": "#b58900", "style": "filled,rounded"},
    "constant": {"fillcolor": "#eeeeee", "color": "#777777", "style": "filled,dashed"},
    "op": {"fillcolor": "#dbe9f6", "color": "#2b6ca3", "style": "filled,rounded"},
    "ghost": {"fillcolor": "#ffffff", "color": "#b58900", "style": "filled,dashed,rounded"},
    "scope": {"fillcolor": "#e3efdc", "color": "#4d7c3a", "style": "filled,bold"},
    "hidden": {"fillcolor": "#ffffff", "color": "#777777", "style": "filled", "shape": "note"},
}
CLUSTER_STYLE = {"style": "rounded,dashed", "color": "#6b9a55", "fontname": "Helvetica",
                 "fontsize": "10", "fontcolor": "#4d7c3a", "labeljust": "l"}
GRAD_COLOR = "#b03a2e"
ORDINALS = ("1st", "2nd", "3rd")
INSTALL_HINT = (
    "Graphviz's 'dot' program is not installed, so the graph cannot be rendered. "
    "Install it (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz), "
    "or use minigraph.to_dot(...) for the DOT text, which needs no binary."
)


@dataclasses.dataclass(eq=False)
class Box:
    """One box of a drawing: a node, a dashed copy of a shared leaf, a collapsed scope, or
    the note standing for the nodes not drawn.

    `cluster` is the open scope it is drawn in (() at the top); `nodes` are the nodes it
    stands for; `outputs` are those whose value and gradient it shows.
    """

    id: str
    kind: str  # 'parameter', 'constant', 'op', 'ghost', 'scope' or 'hidden'
    title: str
    detail: str
    cluster: tuple
    nodes: list
    outputs: list


@dataclasses.dataclass(eq=False)
class Edge:
    """One arrow: `uses` lists the (consumer node, input position) pairs it stands for, more
    than one where several inputs of a collapsed scope come from the same box."""

    id: str
    tail: Box
    head: Box
    label: str
    uses: list


@dataclasses.dataclass
class Scene:
    """What a drawing shows: boxes, edges, open scopes (path -> cluster label, outer first),
    the box each node shows in (`box_of`, by id(node)) and the edge drawn for each input
    (`edge_of`, by (id(consumer), position); absent inside a collapsed scope)."""

    graph: object
    boxes: list
    edges: list
    clusters: dict
    box_of: dict
    edge_of: dict


def scene(target, collapse=None, depth=None, max_nodes=MAX_DRAWN, ghost_after=GHOST_AFTER, bands=None):
    """What to draw for a Node's graph (or a `Graph`): see the module's docstring.

    `bands` (from `depth_bands`) draws a graph as one box per band of depth instead, its
    scopes ignored: the structure of a big graph built without scopes."""
    graph = as_graph(target)
    if bands is None:
        fold, group, kind = scope_folding(graph, collapse, depth), None, "scope"
    else:
        fold, group, kind = (lambda path: path), (lambda node: (bands[id(node)],)), "depth band"
    leaving = scope_outputs(graph, group)
    boxes, box_of, folded_boxes = [], {}, {}
    cut = max(len(graph.nodes) - max_nodes, 0)
    if cut:
        boxes.append(Box("hidden", "hidden", f"{cut} earlier nodes not drawn",
                         f"(max_nodes={max_nodes})", (), graph.nodes[:cut], []))
    for index, node in enumerate(graph.nodes):
        if index < cut:
            box_of[id(node)] = boxes[0]
            continue
        folded = fold(node.scope if group is None else group(node))
        if folded is None:
            box = Box(f"n{index}", node.kind, graph.label(node), node_detail(graph, node), node.scope, [node], [node])
            boxes.append(box)
        else:
            box = folded_boxes.get(folded)
            if box is None:
                out = leaving.get(folded, [])
                box = Box(f"s{len(folded_boxes)}", "scope", scope_path(folded), "",
                          folded[:-1], [], out)
                folded_boxes[folded] = box
                boxes.append(box)
            box.nodes.append(node)
        box_of[id(node)] = box
    for box in folded_boxes.values():
        box.detail = f"{kind} · {len(box.nodes)} nodes · out {_shapes(box.outputs)}"
    edges, edge_of = edges_between(graph.nodes[cut:], box_of)
    boxes += _ghosts(edges, ghost_after)
    clusters = {}
    for box in boxes:
        for length in range(1, len(box.cluster) + 1):
            path = box.cluster[:length]
            if path not in clusters:
                clusters[path] = f"{printable(path[-1])} · out {_shapes(leaving.get(path, []))}"
    return Scene(graph, boxes, edges, clusters, box_of, edge_of)


def depth_bands(graph, count=12):
    """About `count` bands of depth for a graph without scopes: id(node) -> 'depth 4–7'.

    An op's depth is the length of the longest path to it from a leaf; a leaf sits in the
    band of its first user, so that each weight is drawn beside what it feeds."""
    depth = {}
    for node in graph.nodes:
        if node.op is not None:
            depth[id(node)] = 1 + max((depth.get(id(source), 0) for source in node.inputs), default=0)
    deepest = max(depth.values(), default=0)
    for node in graph.nodes:  # leaves: the depth of their first user, in graph order
        for source in node.inputs:
            if source.op is None and id(source) not in depth:
                depth[id(source)] = depth.get(id(node), 1)
    width = max(1, -(-deepest // count))
    bands = {}
    for node in graph.nodes:
        start = (max(depth.get(id(node), 1), 1) - 1) // width * width + 1
        bands[id(node)] = f"depth {start}" if width == 1 else f"depth {start}–{min(start + width - 1, deepest)}"
    return bands


def scope_folding(graph, collapse, depth):
    """A function from a node's scope to the collapsed scope it is drawn in, or None.

    `collapse` names scopes ('layer1', 'layer1/linear'); `depth` collapses every scope
    nested deeper than that many levels (0: every scope is one box).
    """
    known = {node.scope[:length] for node in graph.nodes for length in range(1, len(node.scope) + 1)}
    wanted = set()
    for name in [collapse] if isinstance(collapse, str) else (collapse or ()):
        if not isinstance(name, (str, tuple)):
            raise TypeError(f"collapse: name scopes as strings such as 'layer1' or 'layer1/linear', got {name!r}")
        path = tuple(name.split("/")) if isinstance(name, str) else name
        if path not in known:
            names = ", ".join(sorted("/".join(map(printable, p)) for p in known)) or "none"
            raise ValueError(f"collapse: the graph has no scope {name!r}; its scopes are: {names}")
        wanted.add(path)
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number ≥ 0 (how many scope levels stay open), got {depth!r}")

    def fold(scope):
        for length in range(1, len(scope) + 1):
            if scope[:length] in wanted or (depth is not None and length > depth):
                return scope[:length]
        return None
    return fold


def scope_outputs(graph, group=None):
    """For each scope path, the nodes inside it whose values leave it (used outside it, or
    the graph's output), in graph order: its computed values, or its leaves if it computes
    nothing that leaves (a parameter also used by a regulariser elsewhere is no output).
    `group(node)` gives the path to use instead of node.scope (a depth band's)."""
    path = (lambda node: node.scope) if group is None else group
    leaving = {}
    for node in graph.nodes:
        for source in node.inputs:
            for length in range(1, len(path(source)) + 1):
                if path(node)[:length] != path(source)[:length]:
                    leaving.setdefault(path(source)[:length], {})[id(source)] = source
    output = graph.output
    for length in range(1, len(path(output)) + 1):
        leaving.setdefault(path(output)[:length], {})[id(output)] = output
    outputs = {}
    for path, nodes in leaving.items():
        computed = [node for node in nodes.values() if node.op is not None]
        outputs[path] = computed or list(nodes.values())
    return outputs


def edges_between(nodes, box_of):
    """The edges into the boxes of `nodes`: one per input, except inside a collapsed scope
    (none) and into a collapsed scope or out of the note of undrawn nodes (one per pair of
    boxes). Returns them and the edge of each (id(consumer), input position)."""
    edges, edge_of, merged = [], {}, {}
    for node in nodes:
        head = box_of[id(node)]
        for position, source in enumerate(node.inputs):
            tail = box_of[id(source)]
            if tail is head:
                continue
            key = (tail.id, head.id) if head.kind == "scope" or tail.kind == "hidden" else None
            edge = merged.get(key)
            if edge is None:
                label = format_shape(source.shape) if key else edge_label(node, position, source)
                edge = Edge(f"e{len(edges)}", tail, head, label, [])
                edges.append(edge)
                if key:
                    merged[key] = edge
            edge.uses.append((node, position))
            edge_of[(id(node), position)] = edge
    return edges, edge_of


def _ghosts(edges, ghost_after):
    """Dashed copies of each leaf (or of the note of undrawn nodes) that feeds more than
    `ghost_after` edges: the first use keeps the leaf's own box, every other box it feeds
    gets a copy beside it."""
    feeding = {}
    for edge in edges:
        if edge.tail.kind in ("parameter", "constant", "hidden"):
            feeding.setdefault(edge.tail.id, []).append(edge)
    ghosts = []
    for leaf_edges in feeding.values():
        if len(leaf_edges) <= ghost_after:
            continue
        leaf = leaf_edges[0].tail
        copies = {leaf_edges[0].head.id: leaf}
        for edge in leaf_edges[1:]:
            copy = copies.get(edge.head.id)
            if copy is None:
                title, detail = (("earlier nodes", "not drawn") if leaf.kind == "hidden"
                                 else (leaf.title, f"same as {leaf.title}"))
                copy = Box(f"{leaf.id}g{len(copies)}", "ghost", title, detail, edge.head.cluster, leaf.nodes, [])
                copies[edge.head.id] = copy
                ghosts.append(copy)
            edge.tail = copy
    return ghosts


def node_detail(graph, node):
    kind = str(node.op) if node.op is not None else node.kind
    shape = format_shape(node.shape)
    return f"{kind} · {shape}" if graph.label(node) != kind else shape


def _shapes(nodes):
    return ", ".join(format_shape(node.shape) for node in nodes) if len(nodes) <= 3 else f"{len(nodes)} values"


def edge_label(node, position, source):
    """'2nd · 4096×348' on a binary op's edge; just the shape on a unary op's."""
    shape = format_shape(source.shape)
    if len(node.inputs) == 1:
        return shape
    return f"{ORDINALS[position] if position < len(ORDINALS) else f'#{position + 1}'} · {shape}"


def draw(target, rankdir=None, max_nodes=MAX_DRAWN, max_shown=PRINTED, collapse=None, depth=None,
         ghost_after=GHOST_AFTER, width=FIT_WIDTH):
    """A `graphviz.Digraph` of a Node's graph (or of a `Graph`), with the values and
    gradients the nodes hold now and, after backward, the gradient on every edge.

    The picture is made to fit `width` CSS pixels at its natural size: left to right when
    that fits, else top to bottom (see `fitting_rankdir`); `rankdir` 'LR', 'TB', 'RL' or
    'BT' forces a direction. `collapse` (scope names such as 'layer1' or 'layer1/linear')
    and `depth` (levels of scopes left open) draw scopes as one box each. A leaf feeding
    more than `ghost_after` edges is drawn once per use.
    """
    picture = scene(target, collapse, depth, max_nodes, ghost_after)
    texts = current_texts(picture, max_shown)
    return digraph(picture, texts, rankdir or fitting_rankdir(picture, texts, width))


def fitting_rankdir(picture, texts, width=FIT_WIDTH):
    """'LR' if the drawing laid out left to right is at most `width` px wide, else 'TB'
    (or 'LR' again if top to bottom is wider still).

    A chain of more ranks than can fit is turned without a trial layout, so a big graph is
    laid out once; without Graphviz's `dot` (`to_dot` needs none) the answer is 'TB', which
    fits a page's width for every graph that is longer than it is broad.
    """
    if must_turn(picture, width):
        return "TB"
    wide = natural_width(digraph(picture, texts, "LR", slots=True))
    if wide <= width:
        return "LR"
    return "TB" if natural_width(digraph(picture, texts, "TB", slots=True)) <= wide else "LR"


def must_turn(picture, width):
    """Whether the drawing is drawn top to bottom without a trial: `dot` is missing, or its
    longest chain is too long to fit `width` px left to right."""
    if not isinstance(width, (int, float)) or isinstance(width, bool) or width <= 0:
        raise ValueError(f"width is the width in pixels the picture must fit, a positive number; got {width!r}")
    return shutil.which("dot") is None or ranks(picture) * MIN_RANK_PT * PX_PER_PT > width


def ranks(picture):
    """How many boxes the longest path of the drawing passes through (its ranks in dot)."""
    return max(box_depths(picture).values(), default=0)


def widest_rank(picture):
    """The most boxes that share a rank: a lower bound on how broad a drawing is."""
    counts = {}
    for depth in box_depths(picture).values():
        counts[depth] = counts.get(depth, 0) + 1
    return max(counts.values(), default=0)


def box_depths(picture):
    """Each box's rank, by id: 1 + the deepest box with an edge into it (an estimate where a
    collapsed box comes before one of its inputs)."""
    depth = {}
    incoming = {}
    for edge in picture.edges:
        incoming.setdefault(edge.head.id, []).append(edge.tail.id)
    for box in picture.boxes:  # boxes come in graph order, inputs before their users
        depth[box.id] = 1 + max((depth.get(tail, 0) for tail in incoming.get(box.id, ())), default=0)
    for box in picture.boxes:  # a leaf is ranked next to what it feeds, as dot does
        if box.id not in incoming:
            users = [depth[e.head.id] for e in picture.edges if e.tail is box]
            depth[box.id] = min(users, default=2) - 1 if users else depth[box.id]
    return depth


def natural_width(dot):
    """The width in CSS pixels of the SVG Graphviz draws for `dot` (its margin included)."""
    box = json.loads(pipe(dot, "json0"))["bb"]
    return (float(box.split(",")[2]) + 8) * PX_PER_PT


def digraph(picture, texts, rankdir, slots=False):
    """The `graphviz.Digraph` of a scene with the given rows; the player lays it out too,
    with `slots`: each picture's place left empty, marked by its colour (see `box_label`)."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be 'LR' (left to right) or 'TB' (top to bottom), "
                         f"or 'RL' or 'BT'; got {rankdir!r}")
    dot = Drawing(
        "minigraph",
        graph_attr={"rankdir": rankdir, "nodesep": "0.3", "ranksep": "0.45"},
        node_attr={"shape": "box", "fontname": "Helvetica", "fontsize": "11", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"},
    )
    inside = {}
    for box in picture.boxes:
        inside.setdefault(box.cluster, []).append(box)
    clusters = {(): dot}
    for number, (path, label) in enumerate(picture.clusters.items()):
        clusters[path] = graphviz.Digraph(
            f"cluster_c{number}", graph_attr=dict(CLUSTER_STYLE, id=f"c{number}", label=_html(label)))
    # Innermost first: a cluster's text is copied into its parent when it is attached.
    for path in sorted(clusters, key=len, reverse=True):
        for box in inside.get(path, []):
            clusters[path].node(box.id, id=box.id, label=box_label(box, texts, slots), **STYLES[box.kind])
        if path:
            clusters[path[:-1]].subgraph(clusters[path])
    for edge in picture.edges:
        rows = [_escape(edge.label)]
        grad = texts.edge_grads.get(edge.id)
        if grad is not None:
            rows.append(f'<FONT COLOR="{GRAD_COLOR}">{_text(grad)}</FONT>')
        dot.edge(edge.tail.id, edge.head.id, id=edge.id, label=_table(rows, padding=0))
    return dot


# The colour that marks a picture's empty place in the player's layout (see `box_label`).
SLOT_COLOR = "#fffffe"


def box_label(box, texts, slots=False):
    """An HTML-like Graphviz label: title, kind or op and shape, value, gradient.

    A big array's row is its picture with its range beside it. The picture is a PNG file
    (`picture_file`), or with `slots` an empty cell of its size filled with SLOT_COLOR,
    which `dot -Tjson` reports as a rectangle where the player puts the picture itself.
    """
    rows = [f"<B>{_escape(box.title)}</B>",
            f'<FONT POINT-SIZE="9" COLOR="#555555">{_escape(box.detail)}</FONT>']
    for kind, text, colour in (("value", texts.values.get(box.id), None),
                               ("grad", texts.grads.get(box.id), GRAD_COLOR)):
        if text is None:
            continue
        text = _text(text)
        if colour:
            text = f'<FONT COLOR="{colour}">{text}</FONT>'
        drawn = texts.pictures.get((box.id, kind))
        if drawn is not None:
            width, height = drawn.size
            inner = ("" if slots else f'<IMG SRC="{_escape(picture_file(drawn))}" SCALE="FALSE"/>')
            fill = f' BGCOLOR="{SLOT_COLOR}"' if slots else ""
            text = (f'<TABLE BORDER="0" CELLSPACING="4" CELLPADDING="0"><TR>'
                    f'<TD FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}"{fill}>{inner}</TD>'
                    f'<TD{_LEFT if "Courier" in text else ""}>{text}</TD></TR></TABLE>')
        rows.append(text)
    return _table(rows)


_pictures = None


def picture_file(drawn):
    """The path of a PNG file holding the picture: Graphviz reads pictures from files. They
    are kept, one per content, in a folder removed when Python exits (so `to_dot`'s text is
    good while the process runs); `Drawing.pipe` puts them into the SVG itself."""
    global _pictures
    if _pictures is None:
        _pictures = tempfile.TemporaryDirectory(prefix="minigraph-pictures-")
    data = drawn.png()
    path = pathlib.Path(_pictures.name) / f"{hashlib.sha256(data).hexdigest()[:20]}.png"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


class Drawing(graphviz.Digraph):
    """A Digraph whose SVG holds its pictures (as data: URIs) instead of naming their files,
    so it stands alone: in a notebook, a page, or a file moved elsewhere."""

    def pipe(self, format=None, *args, encoding=None, **kwargs):  # noqa: A002 (graphviz's name)
        out = super().pipe(format, *args, **kwargs)
        if (format or self.format) == "svg":
            out = inline_pictures(out)
        return out.decode(encoding) if encoding else out


PICTURE_LINK = re.compile(rb'<image xlink:href="([^"]+\.png)"')


def inline_pictures(svg):
    """SVG bytes with each picture file it names put inside it, drawn without smoothing."""
    def inline(match):
        path = pathlib.Path(html.unescape(match.group(1).decode("utf-8")))
        if _pictures is None or path.parent != pathlib.Path(_pictures.name):
            return match.group(0)
        data = base64.b64encode(path.read_bytes())
        return b'<image style="image-rendering:pixelated" xlink:href="data:image/png;base64,' + data + b'"'
    return PICTURE_LINK.sub(inline, svg)


_LEFT = ' BALIGN="LEFT"'


def _text(text):
    """A row's text as label markup; a printed matrix (its spaces unbreakable, several
    lines) in a fixed-width face, so that its columns line up (its cell aligns lines left)."""
    aligned = NBSP in text and "\n" in text
    text = _escape(text)
    return f'<FONT FACE="Courier" POINT-SIZE="10">{text}</FONT>' if aligned else text


def _table(rows, padding=1):
    cells = "".join(f'<TR><TD{_LEFT if "Courier" in row else ""}>{row}</TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="{padding}">{cells}</TABLE>>'


def _html(text):
    return f"<{_escape(text)}>"


def _escape(text):
    """Text safe inside an HTML-like label: <, >, &, quotes escaped, newlines as breaks."""
    return html.escape(str(text), quote=True).replace("\n", "<BR/>")


def to_dot(target, **options):
    """The DOT source of `draw(target, **options)`; needs no Graphviz binary."""
    return draw(target, **options).source


def render(target, path, **options):
    """Write the drawing to `path`; the format (svg, png, pdf, ...) comes from its suffix.

    Takes the options of `draw` (rankdir, collapse, depth, ...).
    """
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"render: cannot tell the format of {path}: give it a suffix such as .svg")
    path.write_bytes(pipe(draw(target, **options), fmt))  # SVG with its pictures inside
    return path


def pipe(dot, fmt):
    """Run `dot` on a Digraph and return the output bytes, with an install hint if missing."""
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DotNotFoundError(INSTALL_HINT) from None
    except ValueError as exc:
        raise ValueError(f"render: Graphviz cannot write the format {fmt!r} ({exc})") from None
