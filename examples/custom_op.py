"""Define your own op, check its gradient, and use it like any other.

softplus(x) = ln(1 + eˣ), whose derivative is the sigmoid: ∂softplus/∂x = σ(x).
An op is a class with `forward` and, beside it, `backward` (a vector-Jacobian product:
the upstream gradient times the local derivative), plus the formula as text.
"""

import numpy as np

import minigraph as mg


class Softplus(mg.Op):
    name = "softplus"
    formula = "∂ ln(1+eˣ)/∂x = σ(x)"
    derivatives = ("σ({x})",)  # the local derivative in words, for the narration
    element_formula = "ln(1 + e^{x})"  # one output element from its input's, worked out with numbers
    elementwise = True  # output i depends only on input i: the narration shows the numbers

    def forward(self, x):
        return np.logaddexp(0, x)  # ln(1 + eˣ) without overflow for large x

    def backward(self, grad, out, x):
        return (grad * mg.activations.stable_sigmoid(x),)


def softplus(x, name=None):
    return mg.apply(Softplus(), mg.as_node(x), name=name)


# 1. The op on its own, against central differences (raises GradientCheckError if wrong).
x = np.linspace(-4, 4, 9)
print(mg.check_gradients(softplus, x))

# 2. Inside a bigger graph: a tiny regression with a softplus hidden unit.
rng = np.random.default_rng(0)
w = rng.standard_normal((3, 1))
inputs = rng.standard_normal((3, 5))
print(mg.check_gradients(lambda w: mg.mean(softplus(w.T @ inputs) ** 2), w))

# 3. It works everywhere else too: backward, narration, drawing.
v = mg.parameter([[-1.0, 0.5]], name="v")
cost = mg.sum(softplus(v, name="s"), name="cost")
mg.explain(cost)
print(mg.to_dot(cost).count("softplus"), "softplus box in the drawing")
