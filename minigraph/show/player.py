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

This module assembles the data and the page; `player_layout` lays the drawing out and
`player_frames` writes what each step says and when each row of the drawing changes.
"""

import base64
import hashlib
import html
import importlib.resources
import json
import pathlib
import re

from ..display import printable
from ..graph import as_graph
from .player_frames import MAX_SHOWN, Gallery, frame_data, run_passes, scope_runs
from .player_layout import MAX_BOXES, drawing, fitting_scene, inside_scene
from .fitting import FIT_WIDTH, PX_PER_PT

BOOT = ('\nminigraphPlayer(document.getElementById("player"), '
        'JSON.parse(document.getElementById("minigraph-data").textContent), {keys: document});\n')


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
    steps through as one, and `pictures`: where a frame's text shows an array too big to
    print it holds PICTURE_START, k, PICTURE_END for pictures[k] (its PNG as a data: URI,
    its range); a frame's `windows` mark what its worked element reads (`worked_windows`)."""
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
            run["steps"] = [{key: value for key, value in frame_data(inner, frames[index], -1).items()
                             if key in ("box", "edges")} for index in range(run["start"], run["end"] + 1)]
    main = drawing(picture, frames, rankdir, width)
    return dict(
        title=printable(title), note=note, scale=PX_PER_PT, **main,
        frames=[frame_data(picture, frame, run_of.get(index, -1), main["boxes"])
                for index, frame in enumerate(frames)],
        runs=runs, insides=[data for _, _, data in insides.values()], pictures=gallery.items,
    )


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
