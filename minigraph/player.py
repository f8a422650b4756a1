"""The step player: one self-contained HTML page that walks through forward and backward.

Each frame is the graph drawn by Graphviz at that moment (inline SVG: the active node
highlighted, only the values and gradients known so far) beside the step's arithmetic.
Previous/Next buttons, the arrow keys and a slider move between frames. The page loads
nothing: no network, no CDN; its Content-Security-Policy forbids it.
"""

import html
import json
import pathlib
import re

from .display import MAX_SHOWN, format_array, printable
from .graph import as_graph
from .render import draw, node_ids, pipe
from .steps import backward_steps, forward_steps


def save_steps_html(output, path, max_shown=MAX_SHOWN, title="Backprop, one node at a time"):
    """Write the step player for `output`'s graph to `path` and return the path.

    Runs the forward pass and then backward (leaving gradients in the nodes), drawing a
    frame after every node. Needs Graphviz's `dot`.
    """
    graph = as_graph(output)
    frames = collect_frames(graph, max_shown)
    path = pathlib.Path(path)
    path.write_text(page(frames, title), encoding="utf-8")
    return path


def collect_frames(graph, max_shown=MAX_SHOWN):
    """Dicts of phase, node id, label, text and SVG: one per forward and backward step."""
    ids = node_ids(graph)
    frames = []

    def frame(phase, active, text, known_values, known_grads):
        picture = draw(graph, active=active, known_values=known_values,
                       known_grads=known_grads, max_shown=max_shown)
        svg = pipe(picture, "svg").decode("utf-8")
        frames.append({
            "phase": phase,
            "node": ids[id(active)] if active is not None else "",
            "label": active.label if active is not None else "",
            "text": text,
            "svg": svg[svg.index("<svg"):],  # drop the XML prolog and DOCTYPE
        })

    known_values = set()
    for step in forward_steps(graph):
        known_values.add(id(step.node))
        frame("forward", step.node, step.describe(max_shown), set(known_values), set())

    known_grads = {id(graph.output)}
    for step in backward_steps(graph):
        known_grads.update(id(c.to) for c in step.contributions)
        frame("backward", step.node, step.describe(max_shown), known_values, set(known_grads))

    summary = [f"Backward pass done. Gradients of {graph.output.label}:"] + [
        f"    ∂{graph.output.label}/∂{p.label} = {format_array(p.grad, max_shown)}"
        for p in graph.parameters if p.grad is not None
    ]
    frame("done", None, summary, known_values, known_grads)
    return frames


def page(frames, title):
    """The HTML text of the player, frames embedded as JSON."""
    # "</" inside a <script> would end it early; JSON allows the escaped form.
    data = json.dumps(frames, ensure_ascii=False).replace("</", "<\\/")
    # One pass, so a title that contains "{{frames}}" stays text.
    fills = {"title": html.escape(printable(title)), "frames": data}
    return re.sub(r"\{\{(title|frames)\}\}", lambda match: fills[match.group(1)], TEMPLATE)


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.2rem; color: #222; }
  h1 { font-size: 1.25rem; margin: 0 0 .4rem; }
  .hint { color: #666; font-size: .9rem; margin: 0 0 .8rem; }
  .controls { display: flex; gap: .6rem; align-items: center; margin-bottom: .8rem; }
  .controls input[type=range] { flex: 1; }
  button { font-size: 1rem; padding: .3rem .9rem; }
  #phase { font-weight: 600; min-width: 6rem; }
  #phase.forward { color: #2b6ca3; } #phase.backward { color: #b03a2e; } #phase.done { color: #2e7d32; }
  #picture { overflow-x: auto; border: 1px solid #ddd; padding: .4rem; }
  #picture svg { max-width: 100%; height: auto; }
  #explanation { background: #f7f7f7; padding: .8rem; white-space: pre-wrap;
                 font-family: ui-monospace, monospace; font-size: .9rem; margin-top: .8rem; }
</style>
</head>
<body data-step="0" data-active-node="">
<h1>{{title}}</h1>
<p class="hint">The forward pass computes each node from its inputs; the backward pass sends
each gradient back through the op's local derivative (the chain rule). Next/Previous,
the arrow keys or the slider move one step. The highlighted node is the one at work.</p>
<div class="controls">
  <button id="prev" type="button">&#9664; Previous</button>
  <button id="next" type="button">Next &#9654;</button>
  <input id="slider" type="range" min="0" value="0" aria-label="step">
  <span id="counter"></span>
  <span id="phase"></span>
</div>
<div id="picture"></div>
<div id="explanation"></div>
<script id="frames" type="application/json">{{frames}}</script>
<script>
"use strict";
const frames = JSON.parse(document.getElementById("frames").textContent);
const picture = document.getElementById("picture");
const explanation = document.getElementById("explanation");
const slider = document.getElementById("slider");
const counter = document.getElementById("counter");
const phase = document.getElementById("phase");
const previousButton = document.getElementById("prev");
const nextButton = document.getElementById("next");
const phaseNames = { forward: "forward", backward: "backward", done: "done" };
let current = 0;

function show(index) {
  current = Math.max(0, Math.min(frames.length - 1, index));
  const frame = frames[current];
  picture.innerHTML = frame.svg;
  explanation.textContent = frame.text.join("\\n");
  counter.textContent = "Step " + (current + 1) + " of " + frames.length;
  phase.textContent = phaseNames[frame.phase];
  phase.className = frame.phase;
  slider.value = String(current);
  previousButton.disabled = current === 0;
  nextButton.disabled = current === frames.length - 1;
  document.body.dataset.step = String(current);
  document.body.dataset.activeNode = frame.node;
  document.body.dataset.phase = frame.phase;
}

slider.max = String(frames.length - 1);
previousButton.addEventListener("click", () => show(current - 1));
nextButton.addEventListener("click", () => show(current + 1));
slider.addEventListener("input", () => show(Number(slider.value)));
document.addEventListener("keydown", (event) => {
  if (event.target === slider) return;  // the slider moves itself with the arrow keys
  if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
  if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
  if (event.key === "Home") show(0);
  if (event.key === "End") show(frames.length - 1);
});
show(0);
</script>
</body>
</html>
"""
