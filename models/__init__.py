"""Models written with minigraph, and the data loaders their lessons use."""

from .logistic_regression import LogisticRegression, logistic_regression_graph, tiny_example
from .mlp import MLPClassifier, mlp_cost
from .two_layer_network import TwoLayerNetwork, two_layer_network_graph

__all__ = [
    "LogisticRegression", "MLPClassifier", "TwoLayerNetwork", "logistic_regression_graph", "mlp_cost",
    "tiny_example", "two_layer_network_graph",
]
