"""Optimizers: how parameters move once their gradients are known."""


class SGD:
    """Plain gradient descent: every parameter takes a step of −learning_rate × gradient."""

    def __init__(self, parameters, learning_rate=0.01):
        self.parameters = list(parameters)
        self.learning_rate = learning_rate

    def step(self):
        """Update each parameter in place; replay the graph (forward) before the next backward."""
        for node in self.parameters:
            if node.grad is not None:
                node.subtract_in_place(self.learning_rate * node.grad)

    def zero_grad(self):
        for node in self.parameters:
            node.grad = None
