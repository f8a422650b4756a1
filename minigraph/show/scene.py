"""What a drawing shows, before any Graphviz: a box per node; a nested cluster per scope
(`with mg.scope("layer1")`), labelled with the shapes that leave it; one box for a collapsed
scope (`collapse={"layer1"}`, or `depth=1` for everything deeper than one level), showing its
output's value and gradient; bands of depth for a big graph built without scopes; and, for a
leaf used many times (one weight shared by 75 layers), a dashed copy per use, so that no edge
spans the whole graph: such edges are what made dot's layout take minutes.

`draw` (minigraph.show.render) and the step player both start from a `scene`.
"""

import dataclasses

from ..display import format_shape, printable, scope_path
from ..graph import as_graph

# Graphviz lays out a few hundred boxes in about a second; past that a static picture is
# unreadable anyway, so the nodes nearest the output are drawn and the rest summarised.
MAX_DRAWN = 200
# A leaf feeding more edges than this is drawn once per use ("same as w" copies).
GHOST_AFTER = 3
ORDINALS = ("1st", "2nd", "3rd")


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

    `collapse` names scopes as drawings and narration write them ('layer1',
    'layer1.linear'), or as tuples of names (('layer1', 'linear')); `depth` collapses
    every scope nested deeper than that many levels (0: every scope is one box).
    """
    known = {node.scope[:length] for node in graph.nodes for length in range(1, len(node.scope) + 1)}
    wanted = {scope_named(graph, known, name) for name in ([collapse] if isinstance(collapse, str) else (collapse or ()))}
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number ≥ 0 (how many scope levels stay open), got {depth!r}")

    def fold(scope):
        for length in range(1, len(scope) + 1):
            if scope[:length] in wanted or (depth is not None and length > depth):
                return scope[:length]
        return None
    return fold


def scope_named(graph, known, name):
    """The scope path (a tuple) that `name` names: 'layer1.linear' as labels write it, or
    a tuple of names; a clear error for anything else, listing the graph's scopes."""
    if isinstance(name, tuple) and name in known:
        return name
    if not isinstance(name, (str, tuple)):
        raise TypeError(f"collapse: name scopes as strings such as 'layer1' or 'layer1.linear', got {name!r}")
    # A scope's dotted path as printed and as typed (they differ for names printable() escapes);
    # scope() refuses dots in a name, so a path is written one way.
    written = {text: path for path in known for text in (scope_path(path), ".".join(path))}
    if isinstance(name, str) and name in written:
        return written[name]
    names = ", ".join(sorted(scope_path(path) for path in known)) or "none"
    hint = ""
    if isinstance(name, str) and name.replace("/", ".") in written:
        hint = f" (nested scopes are written with dots, as drawings show them: {name.replace('/', '.')!r})"
    elif any(graph.label(node) == name for node in graph.nodes):
        hint = f" ({name!r} is a node; collapse takes the scopes around nodes)"
    raise ValueError(f"collapse: the graph has no scope {name!r}{hint}; its scopes are: {names}")


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
