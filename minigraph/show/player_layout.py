"""The step player's drawing: the scene to draw, laid out once by Graphviz and read back.

`fitting_scene` folds scopes (or draws bands of depth) until the graph fits `max_boxes`;
`drawing` lays a scene out (`fitted_layout`: left to right if it fits the width, else top
to bottom) and gives the front end its boxes, edges and clusters with where their text and
pictures go and when each changes; `layout` reads `dot -Tjson` back in SVG coordinates;
`inside_scene` is what a scope drawn as one box holds, drawn to open in its place.
"""

import json

from ..display import printable
from .dot import SLOT_COLOR, digraph, pipe
from .fitting import PX_PER_PT, must_turn, widest_rank
from .scene import Box, Scene, depth_bands, edges_between, node_detail, scene, scope_outputs
from .rows import Texts
from .player_frames import timelines

# dot lays out about a thousand boxes in a few seconds; a bigger picture is drawn with its
# scopes collapsed (see `fitting_scene`).
MAX_BOXES = 1000
# More boxes than this side by side make a drawing over four 1,300-px windows wide.
MAX_ABREAST = 50
PAD = 4  # points around the drawing, as Graphviz's own SVG has


def fitting_scene(graph, collapse, depth, max_boxes):
    """The scene to lay out, and a note saying what was folded to make it fit: as asked,
    then with scopes collapsed one level at a time, deepest first, while it has more than
    `max_boxes` boxes (or more than MAX_ABREAST side by side), and as a last resort as bands
    of depth (`scene.depth_bands`)."""
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, int) or max_boxes < 1:
        raise ValueError(f"max_boxes must be a whole number ≥ 1, got {max_boxes!r}")

    def size(picture):  # the dashed copies of shared leaves cost dot next to nothing
        return sum(box.kind != "ghost" for box in picture.boxes)

    def too_big(picture):  # too many boxes to lay out, or too many side by side to read
        return size(picture) > max_boxes or widest_rank(picture) > MAX_ABREAST

    everything = len(graph.nodes)
    picture = scene(graph, collapse, depth, everything)
    level = max((len(node.scope) for node in graph.nodes), default=0) if depth is None else depth
    note = ""
    while too_big(picture) and level > 0:
        level -= 1
        picture = scene(graph, collapse, level, everything)
        folded = "every scope" if level == 0 else f"every scope nested deeper than {level} level(s)"
        note = (f"To stay under max_boxes={max_boxes} boxes, {folded} is drawn as one box; open "
                f"a scope's steps to follow its nodes.")
    if too_big(picture):
        bands = depth_bands(graph)
        picture = scene(graph, max_nodes=everything, bands=bands)
        note = (f"The graph has {everything} nodes, too many to draw one box each (max_boxes={max_boxes}, "
                f"at most {MAX_ABREAST} side by side): "
                f"each box stands for a band of depth ({len(set(bands.values()))} bands), and each step "
                f"marks its node's band. To see layers instead, build each one inside "
                f"`with mg.scope(\"layer1\"):` and so on: a scope is drawn as a block whose steps open.")
    return picture, note


def drawing(picture, frames, rankdir, width):
    """A scene laid out for the front end: its size, and its boxes, edges and clusters with
    where their text and pictures go and when each changes."""
    values, value_at, grads, edge_grads, pictures = timelines(picture, frames)
    widest = Texts(
        {box_id: _widest(["value ?", text]) for box_id, text in values.items()},
        {box_id: _widest([row[1] for row in rows]) for box_id, rows in grads.items()},
        {edge_id: _widest([text for _, text in rows]) for edge_id, rows in edge_grads.items()},
        pictures,
    )
    geometry = fitted_layout(picture, widest, rankdir, width)
    return dict(
        width=geometry["width"], height=geometry["height"],
        boxes=[_box_data(box, geometry["boxes"][box.id], widest, values, value_at, grads) for box in picture.boxes],
        edges=[_edge_data(edge, geometry["edges"][edge.id], widest, edge_grads) for edge in picture.edges],
        clusters=[_cluster_data(f"c{number}", label, geometry["clusters"][f"c{number}"])
                  for number, label in enumerate(picture.clusters.values())],
    )


def fitted_layout(picture, texts, rankdir, width):
    """The layout of the scene, left to right if it fits `width` px, else top to bottom (as
    `fitting.fitting_rankdir` chooses), or in the `rankdir` asked for. A trial layout that
    fits is the one used, so a small graph is laid out at most twice and a big one once."""
    if rankdir is not None:
        return layout(digraph(picture, texts, rankdir, slots=True))
    if must_turn(picture, width):
        return layout(digraph(picture, texts, "TB", slots=True))
    wide = layout(digraph(picture, texts, "LR", slots=True))
    if wide["width"] * PX_PER_PT <= width:
        return wide
    tall = layout(digraph(picture, texts, "TB", slots=True))
    return tall if tall["width"] <= wide["width"] else wide


def inside_scene(picture, path):
    """What a scope drawn as one box holds, to draw in its place when its steps are opened:
    a box per node inside (a box per scope nested in it), and a dashed box per value that
    comes in from outside."""
    graph = picture.graph
    inside = [node for node in graph.nodes if node.scope[:len(path)] == path]
    leaving = scope_outputs(graph)
    boxes, box_of, nested = [], {}, {}
    for node in inside:
        if len(node.scope) > len(path):
            sub = node.scope[:len(path) + 1]
            if sub not in nested:
                nested[sub] = Box(f"i{len(boxes)}", "scope", printable(sub[-1]), "", (), [], leaving.get(sub, []))
                boxes.append(nested[sub])
            box = nested[sub]
            box.nodes.append(node)
        else:
            box = Box(f"i{len(boxes)}", node.kind, graph.label(node), node_detail(graph, node), (), [node], [node])
            boxes.append(box)
        box_of[id(node)] = box
    for box in nested.values():
        box.detail = f"scope · {len(box.nodes)} nodes"
    for node in inside:
        for source in node.inputs:
            if id(source) not in box_of:
                box_of[id(source)] = Box(f"i{len(boxes)}", "ghost", graph.label(source), "from outside", (),
                                         [source], [])
                boxes.append(box_of[id(source)])
    edges, edge_of = edges_between(inside, box_of)
    return Scene(graph, boxes, edges, {}, box_of, edge_of)


def _box_data(box, place, widest, values, value_at, grads):
    """A box for the front end. `slots` are the places Graphviz left for its pictures, in
    row order: `valuePicture` and `gradPicture` say which is whose."""
    lines = [box.title, box.detail, widest.values.get(box.id), widest.grads.get(box.id)]
    slots = list(place["slots"])
    value_picture = widest.pictures.get((box.id, "value"))
    value_slot = slots.pop(0) if value_picture is not None and slots else None
    grad_slot = slots.pop(0) if widest.pictures.get((box.id, "grad")) is not None and slots else None
    return dict(id=box.id, kind=box.kind, x=place["x"], y=place["y"], w=place["w"], h=place["h"],
                rows=_rows(place, lines), title=box.title, detail=box.detail,
                value=values.get(box.id), valueAt=value_at.get(box.id), grads=grads.get(box.id, []),
                valuePicture=value_picture.data_uri() if value_slot else None,
                valueSlot=value_slot, gradSlot=grad_slot)


def _edge_data(edge, place, widest, edge_grads):
    return dict(id=edge.id, tail=edge.tail.id, head=edge.head.id, d=place["d"], arrow=place["arrow"],
                rows=_rows(place, [edge.label, widest.edge_grads.get(edge.id)]),
                label=edge.label, grads=edge_grads.get(edge.id, []))


def _cluster_data(cluster_id, label, place):
    return dict(id=cluster_id, x=place["x"], y=place["y"], w=place["w"], h=place["h"],
                rows=_rows(place, [label]), label=label)


def layout(dot):
    """Lay a Digraph out once with `dot -Tjson` and read back, in SVG coordinates (points,
    y downwards): each box's rectangle, each edge's path and arrowhead, each cluster's
    rectangle, where Graphviz put each line of their text ([x, y], or [x, y, "start"] for a
    line aligned left at x) and, for boxes, the places left for pictures (`slots`:
    [x, y, w, h] each, marked by SLOT_COLOR), keyed by DOT id."""
    data = json.loads(pipe(dot, "json"))
    _, _, width, height = (float(v) for v in data["bb"].split(","))

    def point(x, y):
        return [round(x + PAD, 1), round(height - y + PAD, 1)]

    def svg_points(points):
        return " ".join(",".join(map(str, point(*p))) for p in points)

    def lines(operations):
        places, face = [], ""
        for operation in operations or ():
            if operation["op"] == "F":
                face = operation["face"]
            elif operation["op"] == "T":
                x, y = operation["pt"]
                if face == "Courier":  # a printed matrix, aligned left: its lines start at x
                    places.append(point(x, y) + ["start"])
                else:
                    shift = {"l": operation["width"] / 2, "r": -operation["width"] / 2}.get(operation["align"], 0)
                    places.append(point(x + shift, y))
        return places

    def slots(operations):
        found, marked = [], False
        for operation in operations or ():
            if operation["op"] == "C":
                marked = operation["color"].lower() == SLOT_COLOR
            elif operation["op"] == "P" and marked:
                xs, ys = [p[0] for p in operation["points"]], [p[1] for p in operation["points"]]
                found.append(point(min(xs), max(ys)) + [round(max(xs) - min(xs), 1), round(max(ys) - min(ys), 1)])
        return found

    boxes, clusters, edges = {}, {}, {}
    for obj in data.get("objects", []):
        if "id" not in obj:
            continue
        if "bb" in obj:
            left, bottom, right, top = (float(v) for v in obj["bb"].split(","))
            corner = point(left, top)
            clusters[obj["id"]] = dict(x=corner[0], y=corner[1], w=round(right - left, 1),
                                       h=round(top - bottom, 1), lines=lines(obj.get("_ldraw_")))
        else:
            x, y = (float(v) for v in obj["pos"].split(","))
            w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
            corner = point(x - w / 2, y + h / 2)
            boxes[obj["id"]] = dict(x=corner[0], y=corner[1], w=round(w, 1), h=round(h, 1),
                                    lines=lines(obj.get("_ldraw_")), slots=slots(obj.get("_ldraw_")))
    for edge in data.get("edges", []):
        curves = [op["points"] for op in edge.get("_draw_", []) if op["op"] in ("b", "B")]
        heads = [op["points"] for op in edge.get("_hdraw_", []) if op["op"] in ("p", "P")]
        path = " ".join(f"M{svg_points(curve[:1])} C{svg_points(curve[1:])}" for curve in curves)
        x, y = point(*(float(v) for v in edge.get("lp", "0,0").split(",")))  # the label's centre
        edges[edge["id"]] = dict(d=path, arrow=svg_points(heads[0] if heads else []),
                                 lines=lines(edge.get("_ldraw_")), x=x, y=y, w=0, h=0)
    return dict(width=round(width + 2 * PAD), height=round(height + 2 * PAD),
                boxes=boxes, clusters=clusters, edges=edges)


def _rows(place, texts):
    """The positions of each text row's lines ([] for a row that is absent). Graphviz gives
    one text per line, in row order; if it skipped one (an empty line), the lines are
    spread evenly over the box instead."""
    counts = [0 if text is None else text.count("\n") + 1 for text in texts]
    positions = place["lines"]
    if len(positions) != sum(counts):
        step = place["h"] / (sum(counts) + 1)
        centre = place["x"] + place["w"] / 2
        positions = [[round(centre, 1), round(place["y"] + step * (i + 1) + 4, 1)] for i in range(sum(counts))]
    rows, start = [], 0
    for count in counts:
        rows.append(positions[start:start + count])
        start += count
    return rows


def _widest(texts):
    """A text as wide and as tall as the widest of `texts`, line by line: the layout
    leaves that much room, so every frame's text fits in the same place."""
    split = [text.split("\n") for text in texts]
    count = max(len(lines) for lines in split)
    return "\n".join(max((lines[i] for lines in split if i < len(lines)), key=len) for i in range(count))
