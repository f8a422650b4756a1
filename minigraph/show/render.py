"""Drawing a graph with Graphviz, as a learner calls it: `draw` gives a `graphviz.Digraph`
holding the numbers as they are now (Jupyter shows it inline), `to_dot` its DOT text without
the Graphviz binary, `render` writes SVG, PNG or PDF and needs Graphviz's `dot`.

A drawing is built in three steps, a module each: what is drawn (`minigraph.show.scene`:
boxes, scopes as clusters or collapsed blocks, copies of shared leaves), the rows of numbers
in it (`minigraph.show.rows`: arrays of up to about 8×8 in full, bigger ones as pictures
with their range beside them), and the DOT text (`minigraph.show.dot`), laid out for the
width it is shown in (`minigraph.show.fitting`: `width` CSS pixels, 700 by default, the docs'
column; left to right if it fits, else top to bottom). The step player
(`minigraph.show.player`) lays the same scene out once and changes only its text between
frames.
"""

import pathlib

from ..graph import as_graph
from .dot import digraph, pipe
from .fitting import FIT_WIDTH, fitting_rankdir
from .rows import PRINTED, current_texts
from .scene import GHOST_AFTER, MAX_DRAWN, scene


def draw(target, rankdir=None, max_nodes=MAX_DRAWN, max_shown=PRINTED, collapse=None, depth=None,
         ghost_after=GHOST_AFTER, width=FIT_WIDTH):
    """A `graphviz.Digraph` of a Node's graph (or of a `Graph`), with the values and
    gradients the nodes hold now and, after backward, the gradient on every edge.

    The picture is made to fit `width` CSS pixels at its natural size: left to right when
    that fits, else top to bottom (see `fitting_rankdir`); `rankdir` 'LR', 'TB', 'RL' or
    'BT' forces a direction. `collapse` (scopes as labels write them: 'layer1' or
    'layer1.linear') and `depth` (levels of scopes left open) draw scopes as one box each.
    A leaf feeding more than `ghost_after` edges is drawn once per use. Raises
    StaleGraphError if a leaf was given a new value since the values were computed.
    """
    graph = as_graph(target)
    # A leaf given a new value after the pass would be drawn beside results of its old one.
    graph.check_fresh("draw", "drawing it")
    picture = scene(graph, collapse, depth, max_nodes, ghost_after)
    texts = current_texts(picture, max_shown)
    return digraph(picture, texts, rankdir or fitting_rankdir(picture, texts, width))


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
