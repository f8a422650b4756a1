"""Fitting the width a drawing is shown in: left to right if Graphviz reports that it fits,
else top to bottom, with a long chain turned without a trial layout. Widths are CSS pixels;
Graphviz measures in points, 4/3 px each.
"""

import json
import shutil

from .dot import digraph, pipe

# The narrowest place a drawing is shown in, in CSS pixels: the docs site's column (a
# notebook cell is about 850, a window 1,300). Graphviz measures in points, 4/3 px each.
FIT_WIDTH = 700
PX_PER_PT = 4 / 3
# Each rank of a left-to-right drawing takes at least this many points (a box and the gap
# after it): with more ranks than fit, the picture is turned without laying it out first.
MIN_RANK_PT = 60


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
