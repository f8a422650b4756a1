"""The DOT text of a scene, and Graphviz's `dot` run on it: boxes with their rows as HTML-like
labels, scopes as nested clusters, the gradient on every edge, and pictures of big arrays
as PNG files that the SVG then holds inside itself (`Drawing`), so that it stands alone.
"""

import base64
import hashlib
import html
import pathlib
import re
import tempfile

import graphviz

from ..errors import DotNotFoundError
from .rows import NBSP

RANKDIRS = ("LR", "TB", "RL", "BT")
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
# Top to bottom, the leaves that feed one box only stand at most this many to a row.
LEAVES_PER_ROW = 3
INSTALL_HINT = (
    "Graphviz's 'dot' program is not installed, so the graph cannot be rendered. "
    "Install it (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz), "
    "or use minigraph.to_dot(...) for the DOT text, which needs no binary."
)


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
    if rankdir in ("TB", "BT"):
        for number, (before, leaf, gap) in enumerate(leaves_below(picture)):
            dot.edge(before.id, leaf.id, id=f"order{number}", style="invis", minlen=str(gap))
    return dot


def leaves_below(picture):
    """For a drawing that runs top to bottom: (box, leaf, ranks) triples, each saying that
    the leaf is ranked that many ranks below the box, so that the drawing stays one column.

    dot ranks a leaf beside the other inputs of its user: W beside the activation that
    W multiplies, a bias beside the matmul it is added to, and when they are in different
    scopes, layer2's cluster beside layer1's, as wide as both. Instead each leaf comes
    below the other inputs of its user that are computed, or that come from outside the
    leaf's scope (X above layer1's W): one rank below, or two where the leaf's scope begins
    there, so that the label of the edge coming into the scope has a rank of its own
    between the scopes instead of standing beside the scope's cluster. A two-layer
    network on 4096-pixel images is then 805 px wide instead of 1,301, lesson 3's MLP on
    3 features 596 instead of 849. And the leaves that feed one box only stand in rows of
    LEAVES_PER_ROW, each row below the one before it."""
    incoming, uses = {}, {}
    for edge in picture.edges:
        incoming.setdefault(edge.head.id, []).append(edge.tail)
        uses[edge.tail.id] = uses.get(edge.tail.id, 0) + 1
    triples = []
    for tails in incoming.values():
        for leaf in tails:
            if leaf.id in incoming:
                continue  # computed: dot ranks it below its inputs already
            for before in tails:
                inside = before.cluster[:len(leaf.cluster)] == leaf.cluster
                outside_leaf = before.id not in incoming and len(before.cluster) < len(leaf.cluster) and not inside
                if before is not leaf and (before.id in incoming or outside_leaf):
                    triples.append((before, leaf, 1 if inside else 2))
        # Twelve scalar inputs of a layer drawn as one block: 1,773 px side by side, 1,128 in rows.
        own = list({id(leaf): leaf for leaf in tails if leaf.id not in incoming and uses[leaf.id] == 1}.values())
        triples += [(own[index - LEAVES_PER_ROW], own[index], 1) for index in range(LEAVES_PER_ROW, len(own))]
    return triples


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


def pipe(dot, fmt):
    """Run `dot` on a Digraph and return the output bytes, with an install hint if missing."""
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DotNotFoundError(INSTALL_HINT) from None
    except ValueError as exc:
        raise ValueError(f"render: Graphviz cannot write the format {fmt!r} ({exc})") from None
