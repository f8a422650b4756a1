"""Models written with minigraph, and the data loaders their lessons use."""

from .logistic_regression import LogisticRegression, logistic_regression_graph, tiny_example
from .two_layer_network import TwoLayerNetwork, two_layer_network_graph

__all__ = [
    "LogisticRegression", "TwoLayerNetwork", "logistic_regression_graph", "tiny_example",
    "two_layer_network_graph",
]
