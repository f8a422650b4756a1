"""Build the lesson's graph by hand on 2 features × 3 samples and watch backprop run.

    python examples/step_through.py [OUTPUT_FOLDER]

Prints every forward and backward step, then the lesson's closed-form gradients worked out
by hand to compare, and writes graph.svg (needs Graphviz's dot) and backprop.html, a page
that steps through both passes one node at a time.
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

cost.backward()  # not needed first, and harmless: every backward is one pass of its own
mg.explain(cost)  # narrates one backward pass; afterwards w.grad and b.grad hold its gradients

# The lesson's closed form, by hand: the narration's last lines must say the same.
m = x.value.shape[1]
error = y_hat.value - y.value  # ŷ − y
dw = " ".join(f"{v:.4g}" for v in (x.value @ error.T / m).ravel())
print(f"by hand: dw = x(ŷ−y)ᵀ/m = [{dw}], db = mean(ŷ−y) = {error.mean():.4g}")
mg.render(cost, out / "graph.svg")
mg.save_steps_html(cost, out / "backprop.html")
print(f"wrote {out / 'graph.svg'} and {out / 'backprop.html'}")
