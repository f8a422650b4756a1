"""The step player inside a Jupyter notebook: a widget (anywidget) that runs the page
player's own front end on the same data, with the frame it shows synced both ways.

    import minigraph as mg
    mg.notebook.show_steps(cost)            # a player below the cell, for cost's graph

    player = mg.notebook.StepPlayer(cost)   # or keep one to drive from Python:
    player                                  # (a cell's last line displays it)
    player.step = 10                        # the player in the page moves to frame 10;
    player.step                             # a click on Next there makes this 11

The widget's front end is `player.js` and `player.css` (the files `save_steps_html` puts in
its page) plus `notebook.js`, a few lines that mount the player in the widget's element
and keep `step` in sync; its `data` is `minigraph.show.player.player_data(...)`. So the page
and the notebook show the same steps, drawn by the same code.

`step` counts frames: the forward steps, then the backward steps, then the closing
summary, in the order of `mg.forward_steps` and `mg.backward_steps`. A scope that the
player shows as one step reports its last frame; setting `step` to a frame inside a scope
opens that scope. Values out of range are clamped to the first or last frame.

Needs the optional anywidget: `pip install 'minigraph[notebook]'`. `import minigraph` does
not import this module (nor anywidget); `mg.notebook` imports it on first use.
"""

import html
import numbers

try:
    import anywidget
    import traitlets
except ImportError as error:  # the extra is optional: say how to get it
    raise ImportError(
        "minigraph.show.notebook needs anywidget, which minigraph's `notebook` extra installs: "
        "pip install 'minigraph[notebook]'"
    ) from error

from IPython.display import display  # ipywidgets, and so anywidget, depends on IPython

from ..errors import DotNotFoundError
from ..graph import Graph
from ..node import Node
from .player import asset, player_data
from .render import draw


class _FrameIndex(traitlets.Int):
    """A frame of the player's data: a whole number, clamped into range as the player does."""

    def validate(self, obj, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"StepPlayer.step is a frame number (a whole number), got {value!r}")
        last = len(obj.data["frames"]) - 1
        return max(0, min(last, int(value)))


class StepPlayer(anywidget.AnyWidget):
    """A step player for `output`'s graph (a Node or a Graph), as a notebook widget.

    `options` are those of `save_steps_html`: max_shown, title, rankdir, collapse, depth,
    max_boxes. Like it, this runs the forward pass and then backward (leaving one pass's
    gradients in the nodes) and needs Graphviz's `dot` to lay the graph out, once.

    Traitlets, synced with the browser: `data` (read-only: the layout, texts and frames
    from `player_data`) and `step` (the frame shown, see the module's docstring).
    """

    _esm = asset("player.js") + "\n" + asset("notebook.js")
    _css = asset("player.css")
    data = traitlets.Dict(read_only=True).tag(sync=True)
    step = _FrameIndex(0).tag(sync=True)

    def __init__(self, output, *, step=0, **options):
        if not isinstance(output, (Node, Graph)):
            raise TypeError(f"StepPlayer steps through a graph: give it a Node or a Graph, "
                            f"not {type(output).__name__}")
        # Set before the widget opens its channel to the front end, which sends every synced
        # trait: so the first message carries the data and the step, and a bad option or
        # step fails before any message.
        self.set_trait("data", player_data(output, **options))
        self.step = step
        self._graph = output
        super().__init__()

    def __repr__(self):
        return (f"<minigraph StepPlayer: {self.data['title']}, {self.frames} frames, at frame {self.step}. "
                f"It is a notebook widget: display it in JupyterLab or Jupyter Notebook 7 (with anywidget); "
                f"elsewhere, mg.save_steps_html(output, 'steps.html') writes the same player as a page.>")

    def _repr_mimebundle_(self, **kwargs):
        """The widget for front ends that run widgets; for those that do not (nbconvert, a
        static viewer), a note that says what this is and how to see it, above a drawing of
        the graph after its backward pass."""
        bundle = super()._repr_mimebundle_(**kwargs)  # anywidget's: (data, metadata) or None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return {**data, "text/plain": repr(self), "text/html": fallback_html(self)}, metadata

    @property
    def frames(self):
        """How many frames `step` can show: len(data["frames"])."""
        return len(self.data["frames"])


def fallback_html(player):
    """What a front end without widgets shows for `player`: what it is, how to see it, and
    the graph drawn with the values and gradients of its last frame."""
    note = (f"<p><b>{html.escape(player.data['title'])}</b>: a step player of {player.frames} frames, "
            f"a notebook widget. This front end does not run widgets: open the notebook in JupyterLab "
            f"or Jupyter Notebook 7 with anywidget installed, or write the same player as a page with "
            f"<code>mg.save_steps_html(output, \"steps.html\")</code> and open it in a browser. "
            f"The graph after its backward pass:</p>")
    try:
        drawing = draw(player._graph).pipe(format="svg").decode("utf-8")
    except DotNotFoundError:
        drawing = "<p>(Graphviz's dot is not installed, so the graph is not drawn here.)</p>"
    return note + drawing


def show_steps(output, **options):
    """Display a `StepPlayer` for `output`'s graph below the running cell.

    For a player to drive from Python (`player.step = 5`), make a StepPlayer and display it.
    """
    display(StepPlayer(output, **options))
