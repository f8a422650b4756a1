"""Build the lesson's graph by hand on 2 features × 3 samples and watch backprop run.

    python examples/step_through.py [OUTPUT_FOLDER]

Prints every forward and backward step, then writes graph.svg (needs Graphviz's dot) and
backprop.html, a page that steps through both passes one node at a time.
"""

import pathlib
import sys

import numpy as np

import minigraph as mg

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "minigraph-out")
out.mkdir(parents=True, exist_ok=True)

x = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]], name="x")  # 2 features, 3 samples
y = mg.constant([[0.0, 1.0, 1.0]], name="y")
w = mg.parameter(np.full((2, 1), 0.01), name="w")
b = mg.parameter(0.0, name="b")
z = mg.add(w.T @ x, b, name="z")
y_hat = mg.sigmoid(z, name="ŷ")
cost = mg.mean(mg.log_loss(y_hat, y, name="loss"), name="cost")

mg.explain(cost)  # runs backward too
mg.render(cost, out / "graph.svg")
mg.save_steps_html(cost, out / "backprop.html")
print(f"wrote {out / 'graph.svg'} and {out / 'backprop.html'}")
