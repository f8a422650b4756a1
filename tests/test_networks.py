"""The networks of lessons 2 and 3: TwoLayerNetwork and MLPClassifier, and their data.

The reference loops here are written out in numpy from the course's equations, on purpose
not imported from the package: they are what the graph must reproduce.
"""

import pickle

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import minigraph as mg
from minigraph.models import TwoLayerNetwork
from minigraph.models.datasets import lesson_split, ten_digits_split


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def course_initial_parameters(seed, n_x, n_h):
    """The course's initialisation, 0.01 × standard normal, biases 0, W1 drawn before W2."""
    rng = np.random.default_rng(seed)
    W1 = 0.01 * rng.standard_normal((n_h, n_x))
    W2 = 0.01 * rng.standard_normal((1, n_h))
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((1, 1))}


def hand_written_two_layer_network(X, Y, parameters, learning_rate, iterations):
    """The course's loop for one tanh hidden layer and a sigmoid output; X is (n_x, m).

    Returns the cost before each update and the parameters after each update.
    """
    W1, b1, W2, b2 = (parameters[name] for name in ("W1", "b1", "W2", "b2"))
    m = X.shape[1]
    costs, history = [], []
    for _ in range(iterations):
        A1 = np.tanh(W1 @ X + b1)
        A2 = sigmoid(W2 @ A1 + b2)
        costs.append(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m)
        dZ2 = A2 - Y
        dW2 = dZ2 @ A1.T / m
        db2 = np.sum(dZ2, axis=1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1**2)
        dW1 = dZ1 @ X.T / m
        db1 = np.sum(dZ1, axis=1, keepdims=True) / m
        W1, b1 = W1 - learning_rate * dW1, b1 - learning_rate * db1
        W2, b2 = W2 - learning_rate * dW2, b2 - learning_rate * db2
        history.append({"W1": W1, "b1": b1, "W2": W2, "b2": b2})
    return np.array(costs), history


def assert_same_parameters(found, expected, rtol=1e-9):
    assert found.keys() == expected.keys()
    for name in expected:
        scale = np.abs(expected[name]).max()
        np.testing.assert_allclose(found[name], expected[name], rtol=0, atol=rtol * scale, err_msg=name)


@pytest.fixture(scope="module")
def zeros_and_ones():
    """The first lesson's bundled digits: 306 train / 54 test images of 64 pixels."""
    return lesson_split()[1]


# TwoLayerNetwork ----------------------------------------------------------------------------


@pytest.mark.parametrize("learning_rate, iterations", [(0.1, 300), (1.2, 300)])
def test_two_layer_network_matches_the_hand_written_loop_at_every_iteration(zeros_and_ones, learning_rate,
                                                                             iterations):
    X_train, _, y_train, _ = zeros_and_ones
    model = TwoLayerNetwork(hidden_units=4, learning_rate=learning_rate, iterations=iterations,
                            random_state=3).fit(X_train, y_train)
    costs, history = hand_written_two_layer_network(
        X_train.T, y_train[np.newaxis, :].astype(float), course_initial_parameters(3, 64, 4),
        learning_rate, iterations,
    )
    np.testing.assert_allclose(model.cost_history_, costs, rtol=1e-9, atol=0)
    assert_same_parameters(model.parameters_, history[-1])
    assert costs[-1] < costs[0] / 5  # it learned: the comparison is not between two stalls


def test_two_layer_network_parameters_match_the_hand_written_loop_after_each_step(zeros_and_ones):
    X_train, _, y_train, _ = zeros_and_ones
    _, history = hand_written_two_layer_network(
        X_train.T, y_train[np.newaxis, :].astype(float), course_initial_parameters(5, 64, 3), 1.2, 25,
    )
    model = TwoLayerNetwork(hidden_units=3, learning_rate=1.2, iterations=1, random_state=5, warm_start=True)
    for step, expected in enumerate(history):
        model.fit(X_train, y_train)
        assert_same_parameters(model.parameters_, expected)


def test_two_layer_network_on_sign_language_matches_the_hand_written_loop(sign_language_dir):
    _, (X_train, X_test, y_train, y_test) = lesson_split(sign_language_dir)
    model = TwoLayerNetwork(learning_rate=0.01, iterations=60, random_state=1).fit(X_train, y_train)
    costs, history = hand_written_two_layer_network(
        X_train.T, y_train[np.newaxis, :].astype(float), course_initial_parameters(1, 4096, 4), 0.01, 60,
    )
    np.testing.assert_allclose(model.cost_history_, costs, rtol=1e-9, atol=0)
    assert_same_parameters(model.parameters_, history[-1])


def test_two_layer_network_graph_has_one_scope_per_layer(zeros_and_ones):
    X_train, _, y_train, _ = zeros_and_ones
    graph = TwoLayerNetwork(iterations=2, random_state=0).fit(X_train, y_train).graph_
    labels = {graph.label(node) for node in graph.nodes}
    assert {"layer1/W", "layer1/b", "layer1/z", "layer1/tanh", "layer2/W", "layer2/z", "layer2/sigmoid",
            "cost"} <= labels
    assert {node.scope for node in graph.nodes} == {(), ("layer1",), ("layer2",)}
    # Consistent with the final parameters: drawn or stepped through, it shows the trained model.
    W1 = next(node for node in graph.parameters if graph.label(node) == "layer1/W")
    assert W1.grad is not None


def test_two_layer_network_predicts_from_its_parameters(zeros_and_ones):
    X_train, X_test, y_train, y_test = zeros_and_ones
    model = TwoLayerNetwork(learning_rate=1.2, iterations=200, random_state=0).fit(X_train, y_train)
    p = model.parameters_
    A2 = sigmoid(p["W2"] @ np.tanh(p["W1"] @ X_test.T + p["b1"]) + p["b2"]).ravel()
    np.testing.assert_allclose(model.predict_proba(X_test)[:, 1], A2, rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(X_test), (A2 > 0.5).astype(int))
    assert model.score(X_test, y_test) == 1.0


def test_two_layer_network_is_seeded_and_warm_start_continues(zeros_and_ones):
    X_train, _, y_train, _ = zeros_and_ones
    a = TwoLayerNetwork(iterations=20, random_state=7).fit(X_train, y_train)
    b = TwoLayerNetwork(iterations=20, random_state=7).fit(X_train, y_train)
    c = TwoLayerNetwork(iterations=20, random_state=8).fit(X_train, y_train)
    np.testing.assert_array_equal(a.parameters_["W1"], b.parameters_["W1"])
    assert not np.array_equal(a.parameters_["W1"], c.parameters_["W1"])
    warm = TwoLayerNetwork(iterations=10, random_state=7, warm_start=True)
    first = list(warm.fit(X_train, y_train).cost_history_)
    second = list(warm.fit(X_train, y_train).cost_history_)
    np.testing.assert_allclose(first + second, a.cost_history_, rtol=1e-12)


def test_two_layer_network_in_float32_stays_float32_and_uses_the_fused_loss(zeros_and_ones):
    X_train, X_test, y_train, y_test = zeros_and_ones
    model = TwoLayerNetwork(learning_rate=1.2, iterations=200, random_state=0).fit(X_train.astype(np.float32),
                                                                                   y_train)
    assert model.parameters_["W1"].dtype == np.float32 and model.graph_.output.dtype == np.float32
    assert "log_loss_with_logits" in [node.op.name for node in model.graph_.nodes if node.op is not None]
    assert model.score(X_test.astype(np.float32), y_test) == 1.0


def test_a_pickled_two_layer_network_leaves_its_training_set_out(zeros_and_ones):
    X_train, X_test, y_train, _ = zeros_and_ones
    model = TwoLayerNetwork(iterations=30, random_state=0).fit(X_train, y_train)
    data = pickle.dumps(model)
    assert len(data) < 10_000  # the parameters are 4×64 + 4 + 4 + 1 numbers; X_train is 306×64
    assert X_train[0].tobytes() not in data
    loaded = pickle.loads(data)
    assert not hasattr(loaded, "graph_") and hasattr(model, "graph_")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


@pytest.mark.parametrize("settings", [
    {"hidden_units": 0}, {"hidden_units": 2.5}, {"learning_rate": 0}, {"learning_rate": "0.1"},
    {"iterations": None}, {"init": "glorot"}, {"loss": "hinge"}, {"random_state": -1},
    {"random_state": "seed"}, {"progress": 3},
])
def test_two_layer_network_refuses_bad_settings(settings, zeros_and_ones):
    X_train, _, y_train, _ = zeros_and_ones
    with pytest.raises(InvalidParameterError, match=next(iter(settings))):
        TwoLayerNetwork(**settings).fit(X_train, y_train)


def test_two_layer_network_refuses_other_than_two_classes_and_a_warm_start_that_does_not_fit(zeros_and_ones):
    X_train, _, y_train, _ = zeros_and_ones
    with pytest.raises(ValueError, match="exactly two classes; got 3"):
        TwoLayerNetwork().fit(np.ones((3, 2)), [0, 1, 2])
    model = TwoLayerNetwork(iterations=2, warm_start=True).fit(X_train, y_train)
    with pytest.raises(ValueError, match="classes"):
        model.fit(X_train, np.where(y_train == 1, 5, 0))
    model.set_params(hidden_units=5)
    with pytest.raises(ValueError, match=r"warm_start: the previous fit's W1 is \(4, 64\), this one needs \(5, 64\)"):
        model.fit(X_train, y_train)


@parametrize_with_checks([TwoLayerNetwork(learning_rate=0.5, iterations=100, random_state=0)])
def test_two_layer_network_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)
