"""The step player: one self-contained HTML page that walks through forward and backward.

Graphviz lays the graph out once (`dot -Tjson`); the page draws that layout as SVG and,
from one step to the next, changes only text and colour: the box at work, the values and
gradients known so far, the gradient each edge carries back. So nothing moves, and the
picture is shown at its natural size, with zoom and pan. A scope (`mg.scope("layer1")`)
is stepped through as a whole and can be opened into its nodes' steps. A graph too big to
lay out in seconds, or too broad to read, is drawn with its scopes collapsed, or, without
scopes, as bands of depth. Big arrays are pictures (`minigraph.show.heatmap`), PNGs inside the
page, in the places Graphviz left for them.

The front end is `player.js` and `player.css`, shipped beside this module: the script
defines `minigraphPlayer(element, data, options)`, and `player_data(...)` is its whole
input, so another host (a notebook widget) can reuse it as is. The page loads nothing; its
Content-Security-Policy allows only its own script and style, by their hashes.
"""

import base64
import dataclasses
import hashlib
import html
import importlib.resources
import json
import pathlib
import re

import numpy as np

from ..display import format_array, format_shape, printable
from ..graph import as_graph
from .render import (FIT_WIDTH, PX_PER_PT, SLOT_COLOR, Box, Scene, depth_bands, digraph, edges_between, must_turn,
                     node_detail, pipe, scene, scope_outputs, widest_rank)
from . import heatmap
from .rows import Texts, edge_text, gradient_text, outputs_row, range_text, value_text
from ..assistant import diagnose
from .steps import backward_steps, forward_steps

# The explanation prints arrays of up to 8×8 numbers, as the narration does; it draws bigger ones.
MAX_SHOWN = 64
# Where a frame's text has a picture: PICTURE_START, its index in data["pictures"], PICTURE_END
# (Unicode private-use characters, which `printable` escapes in any name or title).
PICTURE_START, PICTURE_END = "\ue000", "\ue001"

# dot lays out about a thousand boxes in a few seconds; a bigger picture is drawn with its
# scopes collapsed (see `fitting_scene`).
MAX_BOXES = 1000
# More boxes than this side by side make a drawing over four 1,300-px windows wide.
MAX_ABREAST = 50
PAD = 4  # points around the drawing, as Graphviz's own SVG has
BOOT = ('\nminigraphPlayer(document.getElementById("player"), '
        'JSON.parse(document.getElementById("minigraph-data").textContent), {keys: document});\n')


@dataclasses.dataclass
class Frame:
    """One step of either pass: its node (None for the closing summary), its narration and,
    going backward, what it sent: (input node, input position, gradient) per input."""

    phase: str
    node: object
    text: str
    sent: list


class Gallery:
    """The pictures of a player's explanations: each array too big to print becomes, in a
    frame's text, a reference to one entry of `items` (its PNG and its range), made once
    however many frames show it."""

    def __init__(self):
        self.items, self.numbers = [], {}

    def __call__(self, value, image=False):
        drawn = heatmap.picture(value, image=image)
        entry = dict(src=drawn.data_uri(), range=range_text(value), omitted=drawn.omitted.replace("\n", " "))
        key = (entry["src"], entry["range"])
        if key not in self.numbers:
            self.numbers[key] = len(self.items)
            self.items.append(entry)
        return f"{PICTURE_START}{self.numbers[key]}{PICTURE_END}"


def save_steps_html(output, path, max_shown=MAX_SHOWN, title="Backprop, one node at a time",
                    rankdir=None, collapse=None, depth=None, max_boxes=MAX_BOXES, width=FIT_WIDTH):
    """Write the step player for `output`'s graph to `path` and return the path.

    Runs the forward pass and then backward (leaving one pass's gradients in the nodes).
    `rankdir`, `collapse`, `depth` and `width` are as in `draw` (`max_shown` is the
    narration's); with more than `max_boxes` boxes, scopes are collapsed, deepest first.
    Needs Graphviz's `dot`.
    """
    data = player_data(output, max_shown, title, rankdir, collapse, depth, max_boxes, width)
    path = pathlib.Path(path)
    path.write_text(page(data), encoding="utf-8")
    return path


def player_data(output, max_shown=MAX_SHOWN, title="Backprop, one node at a time", rankdir=None,
                collapse=None, depth=None, max_boxes=MAX_BOXES, width=FIT_WIDTH):
    """Everything the front end needs, as JSON-ready data: the layout (boxes, edges,
    clusters, in points; `scale` CSS pixels to the point at natural size), when each text
    row and picture changes and to what, the frames and the runs of frames that a scope
    steps through as one."""
    graph = as_graph(output)
    picture, note = fitting_scene(graph, collapse, depth, max_boxes)
    gallery = Gallery()
    frames = run_passes(graph, max_shown, gallery)
    runs = scope_runs(picture, frames, max_shown, gallery)
    run_of = {index: number for number, run in enumerate(runs) for index in range(run["start"], run["end"] + 1)}
    insides = {}
    for run in runs:  # a scope drawn as one box: its inside, drawn to open in its place
        if run["mark"] == picture.box_of[id(frames[run["start"]].node)].id:
            path = frames[run["start"]].node.scope[:1]
            if path not in insides:
                inner = inside_scene(picture, path)
                insides[path] = (len(insides), inner, drawing(inner, frames, rankdir, width))
            number, inner, _ = insides[path]
            run["inside"] = number
            run["steps"] = [{key: value for key, value in _frame_data(inner, frames[index], -1).items()
                             if key in ("box", "edges")} for index in range(run["start"], run["end"] + 1)]
    main = drawing(picture, frames, rankdir, width)
    return dict(
        title=printable(title), note=note, scale=PX_PER_PT, **main,
        frames=[_frame_data(picture, frame, run_of.get(index, -1), main["boxes"])
                for index, frame in enumerate(frames)],
        runs=runs, insides=[data for _, _, data in insides.values()], pictures=gallery.items,
    )


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


def fitted_layout(picture, texts, rankdir, width):
    """The layout of the scene, left to right if it fits `width` px, else top to bottom (as
    `render.fitting_rankdir` chooses), or in the `rankdir` asked for. A trial layout that
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


def _edge_data(edge, place, widest, edge_grads):
    return dict(id=edge.id, tail=edge.tail.id, head=edge.head.id, d=place["d"], arrow=place["arrow"],
                rows=_rows(place, [edge.label, widest.edge_grads.get(edge.id)]),
                label=edge.label, grads=edge_grads.get(edge.id, []))


def _cluster_data(cluster_id, label, place):
    return dict(id=cluster_id, x=place["x"], y=place["y"], w=place["w"], h=place["h"],
                rows=_rows(place, [label]), label=label)


def _frame_data(picture, frame, run, boxes=None):
    """A frame for the front end: the box at work and the edges it reads (forward) or sends
    gradients along (backward), and the `windows` its worked element reads, to mark on the
    pictures of `boxes` (see `worked_windows`)."""
    if frame.node is None:
        return dict(phase=frame.phase, box="", edges=[], text=frame.text, run=run)
    positions = range(len(frame.node.inputs)) if frame.phase == "forward" else [p for _, p, _ in frame.sent]
    keys = [(id(frame.node), position) for position in positions]
    edges = sorted({picture.edge_of[key].id for key in keys if key in picture.edge_of})
    box = picture.box_of.get(id(frame.node))
    data = dict(phase=frame.phase, box=box.id if box else "", edges=edges, text=frame.text, run=run)
    windows = worked_windows(picture, frame, boxes) if boxes is not None else []
    return {**data, "windows": windows} if windows else data


def worked_windows(picture, frame, boxes):
    """Where the pictures of the drawing show the elements the frame's worked element reads
    (an op's `worked_cells`, as conv2d's window): [box id, "value" or "grad", [left, top,
    width, height] as fractions of that picture] each. Only boxes that draw exactly that
    node and draw its array as a picture are marked."""
    node = frame.node
    cells = getattr(node.op, "worked_cells", None)
    if cells is None:
        return []
    drawn = {box["id"]: box for box in boxes}
    found = []
    for target, row, index in cells(frame.phase, node.value.shape, *(inp.value.shape for inp in node.inputs)):
        marked = node if target == "out" else node.inputs[target]
        box = picture.box_of.get(id(marked))
        if box is None or box.outputs != [marked] or box.id not in drawn:
            continue
        if drawn[box.id]["valueSlot" if row == "value" else "gradSlot"] is None:
            continue  # printed as numbers, not drawn
        found += [[box.id, row, [round(v, 5) for v in place]] for place in heatmap.locate(marked.value.shape, index)]
    return found


def fitting_scene(graph, collapse, depth, max_boxes):
    """The scene to lay out, and a note saying what was folded to make it fit: as asked,
    then with scopes collapsed one level at a time, deepest first, while it has more than
    `max_boxes` boxes (or more than MAX_ABREAST side by side), and as a last resort as bands
    of depth (`render.depth_bands`)."""
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


def run_passes(graph, max_shown=MAX_SHOWN, gallery=None):
    """Forward node by node, then backward op by op, then a summary: one Frame each. An
    array too big to print is a picture of `gallery` (a `Gallery`) in the text."""
    gallery = Gallery() if gallery is None else gallery
    frames = [Frame("forward", step.node, "\n".join(step.describe(max_shown, big=gallery)), [])
              for step in forward_steps(graph)]
    for step in backward_steps(graph):
        frames.append(Frame("backward", step.node, "\n".join(step.describe(max_shown, big=gallery)),
                            [(c.to, c.position, c.sent) for c in step.contributions]))
    output = graph.label(graph.output)
    summary = [f"Backward pass done. Gradients of {output}:"] + [
        f"    ∂{output}/∂{graph.label(p)}{_equals(p.grad, max_shown, gallery)}"
        for p in graph.parameters if p.grad is not None
    ]
    findings = diagnose(graph)  # sentences and the labels they name (minigraph.assistant)
    if findings:
        summary += ["", "The teaching assistant notices:"] + [f"  - {finding}" for finding in findings]
    frames.append(Frame("done", None, "\n".join(summary), []))
    return frames


def timelines(picture, frames):
    """What the changing rows show, by box or edge id: the value of each box and the frame
    from which it is known, [frame, text] lists of the gradient rows of boxes ([frame, text,
    picture] where the row draws its array: a data: URI of the PNG) and [frame, text] lists
    of those of edges (a row shows the last entry whose frame has come); and the pictures,
    by (box id, 'value' or 'grad'), whose sizes the layout must leave room for."""
    graph = picture.graph
    computed = {id(frame.node): index for index, frame in enumerate(frames) if frame.phase == "forward"}
    values, value_at, pictures = {}, {}, {}
    for box in picture.boxes:
        if box.kind not in ("ghost", "hidden"):
            values[box.id], pictures[(box.id, "value")] = value_text(picture, box)
            value_at[box.id] = max(computed[id(node)] for node in box.outputs)

    expected = {}
    for frame in frames:
        for to, _, _ in frame.sent:
            expected[id(to)] = expected.get(id(to), 0) + 1
    arrived, running, edge_sums = {}, {}, {}
    start = next(i for i, frame in enumerate(frames) if frame.phase != "forward")
    if graph.output.grad is not None:  # the seed, there from the first backward step
        arrived[id(graph.output)], running[id(graph.output)] = [], graph.output.grad

    def box_grad(box):
        shown = [node for node in box.outputs if id(node) in running]
        if box.kind in ("ghost", "hidden") or not shown:
            return None, None
        if len(box.outputs) == 1:
            node = shown[0]
            return gradient_text(arrived[id(node)], running[id(node)], expected.get(id(node), 0))
        return outputs_row("grad", [running[id(n)] for n in shown], [graph.label(n) for n in shown],
                           len(box.outputs))

    grads, edge_grads = {}, {}
    for index in range(start, len(frames)):
        frame = frames[index]
        output_box = picture.box_of.get(id(graph.output))  # (a scope's inside may not hold it)
        boxes = {id(output_box): output_box} if index == start and output_box else {}  # the seed first
        edges = {}
        for to, position, grad in frame.sent:
            arrived.setdefault(id(to), []).append(grad)
            running[id(to)] = grad if id(to) not in running else running[id(to)] + grad
            box = picture.box_of.get(id(to))
            if box is not None:
                boxes[id(box)] = box
            edge = picture.edge_of.get((id(frame.node), position))
            if edge is not None:
                edge_sums[edge.id] = grad if edge.id not in edge_sums else edge_sums[edge.id] + grad
                edges[edge.id] = edge
        for box in boxes.values():
            text, drawn = box_grad(box)
            rows = grads.setdefault(box.id, [])
            if text is not None and (not rows or rows[-1][1] != text):
                rows.append([index, text] if drawn is None else [index, text, drawn.data_uri()])
                if drawn is not None:
                    pictures[(box.id, "grad")] = drawn
        for edge_id in edges:
            edge_grads.setdefault(edge_id, []).append([index, edge_text(edge_sums[edge_id])])
    return values, value_at, {key: rows for key, rows in grads.items() if rows}, edge_grads, pictures


def scope_runs(picture, frames, max_shown=MAX_SHOWN, gallery=None):
    """Runs of consecutive frames of one pass inside one top-level scope: the player steps
    through each as one step, with a summary, until it is opened."""
    runs = []
    for index, frame in enumerate(frames):
        path = frame.node.scope[:1] if frame.node is not None else ()
        last = runs[-1] if runs else None
        if path and last and last["path"] == path and last["phase"] == frame.phase:
            last["end"] = index
        elif path:
            runs.append(dict(path=path, phase=frame.phase, start=index, end=index))
    clusters = {path: f"c{number}" for number, path in enumerate(picture.clusters)}
    leaving = scope_outputs(picture.graph)
    found = []
    for run in runs:
        members = frames[run["start"]:run["end"] + 1]
        if run["end"] == run["start"] or all(frame.node.op is None for frame in members):
            # A scope of one node is just that node's step; a run of leaves (parameters made
            # before the scope's ops run) computes nothing the scope passes on: its leaves
            # step one by one, and the scope's step comes with its ops.
            continue
        path = run["path"]
        mark = clusters.get(path) or picture.box_of[id(members[0].node)].id
        found.append(dict(start=run["start"], end=run["end"], scope=printable(path[0]), mark=mark,
                          text=_run_summary(picture, path, run["phase"], members, leaving.get(path, []), max_shown,
                                            gallery or Gallery())))
    return found


def _run_summary(picture, path, phase, members, outputs, max_shown, gallery):
    graph, name = picture.graph, printable(path[0])
    first_lines = [f"    {frame.text.splitlines()[0]}" for frame in members]
    if phase == "forward":
        return "\n".join([f"{name}: forward through its {len(members)} nodes (↓ or Open: one at a time)",
                          *first_lines, f"{name} passes on:",
                          *(f"    {graph.label(node)}{_equals(node.value, max_shown, gallery)}" for node in outputs)])
    sent = {}
    for frame in members:
        for to, _, grad in frame.sent:
            if to.op is None or to.scope[:1] != path:  # what leaves the scope, and its parameters
                sent[id(to)] = (to, grad if id(to) not in sent else sent[id(to)][1] + grad)
    return "\n".join([f"{name}: backward through its {len(members)} ops (↓ or Open: one at a time)",
                      *first_lines, f"{name} sends back:",
                      *(f"    to {graph.label(node)}{_equals(grad, max_shown, gallery, ': ')}"
                        for node, grad in sent.values())])


def _equals(value, max_shown, gallery, joiner=" = "):
    """' = [[0.1 0.2]]' for an array small enough to print (`joiner` before it); for a bigger
    one ' (4×6): ' and its picture: a summary is never written as if it were the value."""
    value = np.asarray(value)
    if value.size <= max_shown:
        return f"{joiner}{format_array(value, max_shown)}"
    return f" ({format_shape(value.shape)}): {gallery(value)}"


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


def asset(name):
    """The text of a front-end file shipped in the package (player.js, player.css)."""
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def page(data):
    """The HTML of the player: the data as JSON, the script and style inline and allowed by
    their hashes. The template is filled in one pass, so nothing filled in is read again."""
    script, style = asset("player.js") + BOOT, asset("player.css")
    policy = (f"default-src 'none'; script-src '{_digest(script)}'; style-src '{_digest(style)}'; "
              f"img-src data:")  # the heatmaps are PNGs inside the page
    fills = {"title": html.escape(data["title"]), "policy": policy, "style": style, "script": script,
             "data": script_json(data)}
    return re.sub(r"\{\{(title|policy|style|script|data)\}\}", lambda match: fills[match.group(1)], TEMPLATE)


def script_json(data):
    """JSON that can sit inside a `<script>` element: `<`, `>` and `&` appear only inside its
    strings, where the escapes `\\u003c`, `\\u003e` and `\\u0026` mean the same."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _digest(text):
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{policy}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>{{style}}</style>
</head>
<body>
<div id="player"></div>
<script id="minigraph-data" type="application/json">{{data}}</script>
<script>{{script}}</script>
</body>
</html>
"""
