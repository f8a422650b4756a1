"""Models written with minigraph, and the data loaders their lessons use."""

from .cnn import CNNClassifier, cnn_network, tiny_conv_example
from .logistic_regression import LogisticRegression, logistic_regression_graph, tiny_example
from .mlp import MLPClassifier, mlp_cost, tiny_mlp_example
from .two_layer_network import TwoLayerNetwork, tiny_two_layer_example, two_layer_network_graph

__all__ = [
    "CNNClassifier", "LogisticRegression", "MLPClassifier", "TwoLayerNetwork", "logistic_regression_graph", "mlp_cost",
    "cnn_network", "tiny_conv_example", "tiny_example", "tiny_mlp_example", "tiny_two_layer_example", "two_layer_network_graph",
]
