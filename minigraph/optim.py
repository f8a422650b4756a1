"""Optimizers: how parameters move once their gradients are known."""

import numpy as np


class SGD:
    """Plain gradient descent: every parameter takes a step of −learning_rate × gradient."""

    def __init__(self, parameters, learning_rate=0.01):
        self.parameters = list(parameters)
        self.learning_rate = learning_rate

    def step(self):
        """Update each parameter in place (nodes that hold it see the new value)."""
        for node in self.parameters:
            if node.grad is not None:
                np.subtract(node.value, self.learning_rate * node.grad, out=node.value)

    def zero_grad(self):
        for node in self.parameters:
            node.grad = None
