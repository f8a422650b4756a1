"""The step player's frames: what each step of both passes says, and when each row of the
drawing changes.

`run_passes` narrates forward node by node and backward op by op (the records of `steps`),
one `Frame` each, then a summary; an array too big to print is a picture of the `Gallery`
in the text. `timelines` says from which frame each box's value and gradient rows and each
edge's gradient row read what; `scope_runs` groups the frames a scope steps through as one;
`frame_data` is a frame as the front end reads it, with the windows a conv's worked element
reads (`worked_windows`), marked on the pictures.
"""

import dataclasses

import numpy as np

from ..assistant import diagnose
from ..display import format_block, format_shape, printable, side_by_side
from ..worked import MINUS
from . import heatmap
from .scene import scope_outputs
from .rows import edge_text, gradient_text, outputs_row, range_text, value_text
from .steps import backward_steps, forward_steps

# The explanation prints arrays of up to 8×8 numbers, as the narration does; it draws bigger ones.
MAX_SHOWN = 64
# Where a frame's text has a picture: PICTURE_START, its index in data["pictures"], PICTURE_END
# (Unicode private-use characters, which `printable` escapes in any name or title).
PICTURE_START, PICTURE_END = "\ue000", "\ue001"


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
        line for p in graph.parameters if p.grad is not None
        for line in _equals(f"    ∂{output}/∂{graph.label(p)}", p.grad, max_shown, gallery)
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
    first_lines = [f"    {_heading(graph, frame.node)}" for frame in members]
    if phase == "forward":
        return "\n".join([f"{name}: forward through its {len(members)} nodes (↓ or Open: one at a time)",
                          *first_lines, f"{name} passes on:",
                          *(line for node in outputs
                            for line in _equals(f"    {graph.label(node)}", node.value, max_shown, gallery))])
    sent = {}
    for frame in members:
        for to, _, grad in frame.sent:
            if to.op is None or to.scope[:1] != path:  # what leaves the scope, and its parameters
                sent[id(to)] = (to, grad if id(to) not in sent else sent[id(to)][1] + grad)
    return "\n".join([f"{name}: backward through its {len(members)} ops (↓ or Open: one at a time)",
                      *first_lines, f"{name} sends back:",
                      *(line for node, grad in sent.values()
                        for line in _equals(f"    to {graph.label(node)}", grad, max_shown, gallery, ": "))])


def _heading(graph, node):
    """What a node's step is about, without its numbers (the run's summary gives those of
    what leaves the scope): 'W is a parameter (2×2)', 'z = W @ x'."""
    if node.op is None:
        return f"{graph.label(node)} is a {node.kind} ({format_shape(node.shape)})"
    return f"{graph.label(node)} = {node.op.expression(*(graph.label(inp) for inp in node.inputs))}"


def _equals(name, value, max_shown, gallery, joiner=" = "):
    """The lines 'name = [[0.1 0.2]' … ']]' of an array small enough to print, as a node's
    step prints it (`joiner` after the name); of a bigger one 'name (4×6): ' and its picture:
    a summary is never written as if it were the value."""
    value = np.asarray(value)
    if value.size <= max_shown:
        return side_by_side(f"{name}{joiner}", format_block(value, max_shown, minus=MINUS))
    return [f"{name} ({format_shape(value.shape)}): {gallery(value)}"]


def frame_data(picture, frame, run, boxes=None):
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
