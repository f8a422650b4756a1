"""The networks of lessons 2 and 3: TwoLayerNetwork and MLPClassifier, and their data.

The reference loops here are written out in numpy from the course's equations, on purpose
not imported from the package: they are what the graph must reproduce.
"""

import pickle
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import minigraph as mg
from minigraph import cli
from minigraph.models import LogisticRegression, MLPClassifier, TwoLayerNetwork, tiny_mlp_example, tiny_two_layer_example
from minigraph.models.datasets import lesson_split, ten_digits_split


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0)


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
def ten_digits():
    """The third lesson's bundled digits: 1,527 train / 270 test images of 64 pixels."""
    return ten_digits_split()[1]


@pytest.fixture(scope="module")
def zeros_and_ones():
    """The first lesson's bundled digits: 306 train / 54 test images of 64 pixels."""
    return lesson_split()[1]


# Data -----------------------------------------------------------------------------------------


def test_ten_digits_split_of_the_bundled_digits_is_stratified(ten_digits):
    X_train, X_test, y_train, y_test = ten_digits
    assert X_train.shape == (1527, 64) and X_test.shape == (270, 64)
    assert X_train.min() >= 0 and X_train.max() <= 1
    assert set(y_test) == set(range(10)) and np.bincount(y_test).min() >= 26


def test_ten_digits_split_of_sign_language_takes_all_2062_images(sign_language_dir):
    source, (X_train, X_test, y_train, y_test) = ten_digits_split(sign_language_dir, dtype=np.float32)
    assert "Sign Language Digits" in source
    assert X_train.shape == (1752, 4096) and X_test.shape == (310, 4096) and X_train.dtype == np.float32
    assert list(np.bincount(y_test)) == [31] * 10  # 2,062 images, about 206 per digit, 15 % of each


def test_ten_digits_split_refuses_a_dtype_that_is_not_a_float():
    with pytest.raises(TypeError, match="ten_digits_split: dtype must be a float type"):
        ten_digits_split(dtype=np.int64)


# The worked examples of the lessons' pages -------------------------------------------------------


def test_tiny_two_layer_example_gradients_are_the_courses_formulas():
    cost = tiny_two_layer_example()
    cost.backward()
    graph = mg.Graph(cost)
    node = {graph.label(n): n for n in graph.nodes}
    X, Y = node["X"].value, node["Y"].value
    p = course_initial_parameters(1, 2, 2)
    _, history = hand_written_two_layer_network(X, Y, p, learning_rate=1.0, iterations=1)
    for name in ("W1", "b1", "W2", "b2"):  # with learning rate 1, the step is the gradient
        label = f"layer{name[1]}.{name[0]}"
        np.testing.assert_allclose(node[label].value, p[name], rtol=1e-15)
        np.testing.assert_allclose(node[label].grad, p[name] - history[0][name], rtol=1e-9, atol=1e-18)


def test_tiny_mlp_example_gradients_are_backpropagation_written_out():
    cost = tiny_mlp_example()
    cost.backward()
    graph = mg.Graph(cost)
    node = {graph.label(n): n for n in graph.nodes}
    X, labels = node["X"].value, node["y"].value.astype(int)
    W1, b1, W2, b2 = (node[label].value for label in ("layer1.W", "layer1.b", "layer2.W", "layer2.b"))
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    P = np.exp(Z2) / np.exp(Z2).sum(axis=0)
    dZ2 = (P - np.eye(3)[labels].T) / X.shape[1]
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    np.testing.assert_allclose(float(cost.value), -np.mean(np.log(P[labels, range(4)])), rtol=1e-12)
    for label, expected in [("layer2.W", dZ2 @ A1.T), ("layer2.b", dZ2.sum(axis=1, keepdims=True)),
                            ("layer1.W", dZ1 @ X.T), ("layer1.b", dZ1.sum(axis=1, keepdims=True))]:
        np.testing.assert_allclose(node[label].grad, expected, rtol=1e-9, atol=1e-15, err_msg=label)


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
    assert {"layer1.W", "layer1.b", "layer1.z", "layer1.a", "layer2.W", "layer2.z", "layer2.ŷ",
            "cost"} <= labels
    assert {node.scope for node in graph.nodes} == {(), ("layer1",), ("layer2",)}
    # Consistent with the final parameters: drawn or stepped through, it shows the trained model.
    W1 = next(node for node in graph.parameters if graph.label(node) == "layer1.W")
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


# MLPClassifier --------------------------------------------------------------------------------


def hand_written_mlp(X, labels, sizes, seed, batch_size, epochs, optimizer, learning_rate, alpha,
                     activation="relu", momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
    """Minibatch training of a softmax network, from the course's equations; X is (m, n_x).

    One generator draws the weights layer by layer (He for ReLU, Xavier for tanh), then each
    epoch's shuffle. Returns the mean cost of each epoch and the final parameters.
    """
    rng = np.random.default_rng(seed)
    L = len(sizes) - 1
    W, b = {}, {}
    for l in range(1, L + 1):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        std = np.sqrt(2 / fan_in) if activation == "relu" else np.sqrt(2 / (fan_in + fan_out))
        W[l], b[l] = std * rng.standard_normal((fan_out, fan_in)), np.zeros((fan_out, 1))
    g, dg = (relu, lambda Z, A: (Z > 0)) if activation == "relu" else (np.tanh, lambda Z, A: 1 - A**2)
    state = {key: np.zeros_like(value) for key, value in
             [(("W", l, s), W[l]) for l in W for s in "mv"] + [(("b", l, s), b[l]) for l in b for s in "mv"]}
    steps, curve = 0, []
    n, K = len(X), sizes[-1]
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            m = len(batch)
            A = {0: X[batch].T}
            Z = {}
            for l in range(1, L + 1):
                Z[l] = W[l] @ A[l - 1] + b[l]
                A[l] = g(Z[l]) if l < L else None
            scores = Z[L] - Z[L].max(axis=0, keepdims=True)
            P = np.exp(scores) / np.exp(scores).sum(axis=0, keepdims=True)
            Y = np.eye(K)[labels[batch]].T
            cost = -np.sum(Y * np.log(P)) / m + alpha / (2 * m) * sum(np.sum(W[l] ** 2) for l in W)
            total += cost * m
            dZ = (P - Y) / m
            grads = {}
            for l in range(L, 0, -1):
                grads[("W", l)] = dZ @ A[l - 1].T + alpha / m * W[l]
                grads[("b", l)] = np.sum(dZ, axis=1, keepdims=True)
                if l > 1:
                    dZ = (W[l].T @ dZ) * dg(Z[l - 1], A[l - 1])
            steps += 1
            for (kind, l), grad in grads.items():
                params = W if kind == "W" else b
                if optimizer == "sgd":
                    params[l] = params[l] - learning_rate * grad
                elif optimizer == "momentum":
                    v = state[(kind, l, "v")] = momentum * state[(kind, l, "v")] + grad
                    params[l] = params[l] - learning_rate * v
                else:
                    mt = state[(kind, l, "m")] = betas[0] * state[(kind, l, "m")] + (1 - betas[0]) * grad
                    vt = state[(kind, l, "v")] = betas[1] * state[(kind, l, "v")] + (1 - betas[1]) * grad**2
                    m_hat, v_hat = mt / (1 - betas[0] ** steps), vt / (1 - betas[1] ** steps)
                    params[l] = params[l] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        curve.append(total / n)
    parameters = {}
    for l in range(1, L + 1):
        parameters[f"W{l}"], parameters[f"b{l}"] = W[l], b[l]
    return np.array(curve), parameters


@pytest.mark.parametrize("optimizer, learning_rate, activation, alpha", [
    ("adam", 1e-3, "relu", 1e-4),
    ("adam", 1e-2, "tanh", 0.5),
    ("momentum", 0.05, "relu", 0.0),
    ("sgd", 0.1, "tanh", 1e-3),
])
def test_mlp_matches_a_hand_written_minibatch_loop(ten_digits, optimizer, learning_rate, activation, alpha):
    X_train, _, y_train, _ = ten_digits
    # 1,527 samples in batches of 100: every epoch ends with a batch of 27.
    model = MLPClassifier(hidden_layer_sizes=(20, 15), activation=activation, optimizer=optimizer,
                          learning_rate=learning_rate, alpha=alpha, batch_size=100, epochs=3,
                          random_state=4).fit(X_train, y_train)
    curve, parameters = hand_written_mlp(X_train, y_train, [64, 20, 15, 10], 4, 100, 3, optimizer,
                                         learning_rate, alpha, activation=activation)
    np.testing.assert_allclose(model.loss_curve_, curve, rtol=1e-9, atol=0)
    assert_same_parameters(model.parameters_, parameters)
    assert model.n_iter_ == 3 and model.t_ == 3 * len(X_train)


def test_mlp_learns_the_ten_digits_and_its_probabilities_are_a_softmax(ten_digits):
    X_train, X_test, y_train, y_test = ten_digits
    model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=20, random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.95
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 10
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    p = model.parameters_
    scores = p["W2"] @ relu(p["W1"] @ X_test.T + p["b1"]) + p["b2"]
    expected = np.exp(scores - scores.max(axis=0)) / np.exp(scores - scores.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(proba, expected.T, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(model.predict(X_test), model.classes_[expected.argmax(axis=0)])


def test_mlp_graph_draws_one_scope_per_layer_and_holds_the_last_batch(ten_digits):
    X_train, _, y_train, _ = ten_digits
    model = MLPClassifier(hidden_layer_sizes=(8, 6), batch_size=100, epochs=1, random_state=0).fit(X_train, y_train)
    graph = model.graph_
    assert {node.scope for node in graph.nodes} == {(), ("layer1",), ("layer2",), ("layer3",)}
    labels = {graph.label(node) for node in graph.nodes}
    assert {"layer1.W", "layer1.a", "layer3.z", "cross_entropy", "L2", "m", "cost"} <= labels
    x = next(leaf for leaf in graph.leaves if leaf.name == "X")
    assert x.shape == (64, 27)  # the last batch of the epoch: 1,527 = 15 × 100 + 27
    assert all(node.grad is not None for node in graph.parameters)


def test_mlp_with_dropout_drops_only_while_training(ten_digits):
    X_train, X_test, y_train, y_test = ten_digits
    settings = dict(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=10, random_state=0)
    dropped = MLPClassifier(dropout=0.3, **settings).fit(X_train, y_train)
    again = MLPClassifier(dropout=0.3, **settings).fit(X_train, y_train)
    plain = MLPClassifier(**settings).fit(X_train, y_train)
    masks = [leaf for leaf in dropped.graph_.leaves if leaf.name == "mask"]
    assert len(masks) == 1 and masks[0].shape == (32, 127)  # 1,527 = 7 × 200 + 127
    kept = masks[0].value[masks[0].value > 0]
    np.testing.assert_allclose(kept, 1 / 0.7)
    assert 0.2 < np.mean(masks[0].value == 0) < 0.4
    np.testing.assert_array_equal(dropped.predict_proba(X_test), again.predict_proba(X_test))  # seeded
    assert not np.array_equal(dropped.parameters_["W1"], plain.parameters_["W1"])
    assert dropped.score(X_test, y_test) > 0.9


def test_mlp_early_stopping_keeps_the_best_epoch(ten_digits):
    X_train, _, y_train, _ = ten_digits
    model = MLPClassifier(hidden_layer_sizes=(16,), optimizer="sgd", learning_rate=0.05, epochs=50,
                          early_stopping=True, n_iter_no_change=2, tol=0.02, random_state=1).fit(X_train, y_train)
    assert model.n_iter_ < 50 and len(model.validation_scores_) == len(model.loss_curve_) == model.n_iter_
    best = max(model.validation_scores_)
    assert model.best_validation_score_ == best
    # The validation split is the first thing the seeded generator draws.
    seed = int(np.random.default_rng(1).integers(2**31))
    _, X_valid, _, y_valid = train_test_split(X_train, y_train, test_size=0.1, stratify=y_train, random_state=seed)
    assert model.score(X_valid, y_valid) == pytest.approx(best)
    # It stopped after two epochs that gained no more than tol on the best before them.
    scores = model.validation_scores_
    assert all(score <= max(scores[:-2]) + 0.02 for score in scores[-2:])
    # graph_ holds the parameters the model kept, not the last epoch's: one model, one answer.
    assert scores.index(best) < len(scores) - 1  # the last epoch was not the best
    graph_parameters = {f"{kind}{layer}": node.value for node in model.graph_.parameters
                        for layer, kind in [(node.scope[0].removeprefix("layer"), node.name)]}
    assert graph_parameters.keys() == model.parameters_.keys()
    for name, value in model.parameters_.items():
        np.testing.assert_array_equal(graph_parameters[name], value, err_msg=name)


def test_mlp_in_float32_stays_float32(ten_digits):
    X_train, X_test, y_train, y_test = ten_digits
    model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=10, random_state=0).fit(
        X_train.astype(np.float32), y_train)
    assert model.parameters_["W1"].dtype == np.float32 and model.graph_.output.dtype == np.float32
    assert model.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert model.score(X_test.astype(np.float32), y_test) > 0.9


def test_a_pickled_mlp_leaves_its_training_data_out(ten_digits):
    X_train, X_test, y_train, _ = ten_digits
    model = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X_train, y_train)
    data = pickle.dumps(model)
    x = next(leaf for leaf in model.graph_.leaves if leaf.name == "X")
    assert x.value[:, 0].tobytes() not in data and X_train[-1].tobytes() not in data
    loaded = pickle.loads(data)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


@pytest.mark.parametrize("settings, name", [
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"), ({"hidden_layer_sizes": "10"}, "hidden_layer_sizes"),
    ({"activation": "sigmoid"}, "activation"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"learning_rate": -1}, "learning_rate"), ({"alpha": -0.1}, "alpha"), ({"batch_size": 0}, "batch_size"),
    ({"epochs": 0}, "epochs"), ({"dropout": 1.0}, "dropout"), ({"momentum": 1.5}, "momentum"),
    ({"validation_fraction": 1.0}, "validation_fraction"), ({"init": "glorot"}, "init"),
])
def test_mlp_refuses_bad_settings(settings, name, ten_digits):
    X_train, _, y_train, _ = ten_digits
    with pytest.raises((InvalidParameterError, ValueError), match=name):
        MLPClassifier(**settings).fit(X_train[:50], y_train[:50])


@parametrize_with_checks([MLPClassifier(hidden_layer_sizes=(8,), learning_rate=0.01, epochs=50, random_state=0)])
def test_mlp_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


# The demo command: `minigraph demo --model two-layer | mlp` ---------------------------------


def run_demo(*args):
    return subprocess.run([sys.executable, "-m", "minigraph", "demo", "--no-progress", *args],
                          capture_output=True, text=True, timeout=600)


def assert_gap_printed(lines, model, X_train, y_train, X_test, y_test, step):
    """The demo's generalisation line: the final parameters' costs and accuracies, by hand."""
    (line,) = [line for line in lines if line.startswith(f"after the last {step}: cost ")]
    costs = [float(v) for v in re.findall(r"cost (\S+) on the training images, (\S+) on the test", line)[0]]
    by_hand = [log_loss(y, model.predict_proba(X), labels=model.classes_) for X, y in ((X_train, y_train), (X_test, y_test))]
    np.testing.assert_allclose(costs, by_hand, atol=6e-5)  # printed to 4 decimals
    train, test = 100 * model.score(X_train, y_train), 100 * model.score(X_test, y_test)
    assert line.endswith(f"accuracy {train:.2f} % and {test:.2f} %: a generalisation gap of {train - test:.2f} points")


@pytest.mark.needs_dot
def test_demo_two_layer_prints_every_hundredth_cost_beside_scikit_learn_and_writes_the_pictures(tmp_path):
    result = run_demo("--model", "two-layer", "--iterations", "300", "--learning-rate", "1.2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    _, (X_train, X_test, y_train, y_test) = lesson_split()
    model = TwoLayerNetwork(learning_rate=1.2, iterations=300, random_state=1).fit(X_train, y_train)
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("cost after iteration")] == [
        f"cost after iteration {i:4d}: {model.cost_history_[i]:.6f}" for i in (0, 100, 200)]
    assert (f"minigraph     train accuracy {100 * model.score(X_train, y_train):6.2f} %   "
            f"test accuracy {100 * model.score(X_test, y_test):6.2f} %") in lines
    assert any(line.startswith("scikit-learn  train accuracy") and "MLPClassifier((4,), tanh" in line for line in lines)
    assert_gap_printed(lines, model, X_train, y_train, X_test, y_test, "iteration")
    assert (tmp_path / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "graph.svg").read_text()
    assert "parameter · 4×64" in svg and "parameter · 1×4" in svg  # W1 and W2, trained
    page = (tmp_path / "backprop.html").read_text()
    assert "two-layer network&#x27;s first step on 3 images" in page or "two-layer network's first step on 3 images" in page


@pytest.mark.needs_dot
def test_demo_mlp_prints_the_epoch_costs_beside_scikit_learn(tmp_path):
    result = run_demo("--model", "mlp", "--hidden", "16,8", "--epochs", "12", "--batch-size", "100",
                      "--optimizer", "momentum", "--learning-rate", "0.05", "--seed", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    _, (X_train, X_test, y_train, y_test) = ten_digits_split()
    scaler = StandardScaler().fit(X_train)  # the demo standardizes the pixels
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = MLPClassifier(hidden_layer_sizes=(16, 8), epochs=12, batch_size=100, optimizer="momentum",
                          learning_rate=0.05, random_state=3).fit(X_train, y_train)
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("mean cost in epoch")] == [
        f"mean cost in epoch {e:3d}: {model.loss_curve_[e]:.6f}" for e in (0, 10, 11)]
    assert f"test accuracy {100 * model.score(X_test, y_test):6.2f} %" in result.stdout
    assert "MLPClassifier((16, 8), relu, momentum, 12 epochs of batches of 100)" in result.stdout
    assert_gap_printed(result.stdout.splitlines(), model, X_train, y_train, X_test, y_test, "epoch")
    assert all((tmp_path / name).stat().st_size > 0 for name in ("cost.png", "graph.svg", "backprop.html"))


@pytest.mark.parametrize("arguments, message", [
    (["--epochs", "3"], "--epochs is not used by --model logistic; the options it takes are --iterations, "
                        "--learning-rate, --per-digit"),
    (["--model", "two-layer", "--batch-size", "8"], "--batch-size is not used by --model two-layer"),
    (["--model", "mlp", "--per-digit", "10"], "--per-digit is not used by --model mlp"),
    (["--model", "mlp", "--iterations", "10"], "--iterations is not used by --model mlp"),
    (["--model", "two-layer", "--hidden", "4,4"], "--hidden '4,4': give one whole number ≥ 1"),
    (["--model", "mlp", "--hidden", "64,x"], "--hidden '64,x': give whole numbers ≥ 1 separated by commas"),
    (["--model", "mlp", "--hidden", "0"], "--hidden '0': give whole numbers ≥ 1"),
    (["--model", "mlp", "--epochs", "0"], "The 'epochs' parameter of MLPClassifier must be an int in the range [1, inf)"),
])
def test_demo_refuses_what_the_chosen_lesson_does_not_take(arguments, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["demo", "--no-progress", "--out", str(tmp_path), *arguments])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error, error


@pytest.mark.parametrize("model, classes", [
    (lambda: LogisticRegression(iterations=5), 2),
    (lambda: TwoLayerNetwork(iterations=5, random_state=0), 2),
    (lambda: MLPClassifier(epochs=20, learning_rate=0.01, random_state=0), 3),
    (lambda: MLPClassifier(epochs=20, optimizer="sgd", learning_rate=0.01, random_state=0), 3),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_model_refuses_features_too_large_to_square_by_name_without_a_numpy_warning(model, classes, dtype):
    # The issue's probe: MLPClassifier().fit(X * 1e200, y) ended at 33 % with a leaked
    # overflow warning; TwoLayerNetwork's tanh saturated and it learned nothing, silently.
    X, y = load_digits(return_X_y=True)
    X, y = X[:120].astype(dtype), y[:120] % classes
    big = np.sqrt(np.finfo(dtype).max) * 100
    X_big = X * (big / 16)
    estimator = model()
    name = type(estimator).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=rf"{name}: X holds {re.escape(f'{X_big.max():.3g}')} "
                                                    r"\(sample \d+, feature \d+\); features beyond ±"
                                                    rf"{re.escape(f'{np.sqrt(np.finfo(dtype).max):.3g}')} overflow "
                                                    r"when squared in training .*standardize X") as refused:
            estimator.fit(X_big, y)
        sample, feature = map(int, re.search(r"sample (\d+), feature (\d+)", str(refused.value)).groups())
        assert X_big[sample, feature] == np.abs(X_big).max()
        estimator.fit(X, y)  # the same data at its own scale trains
    assert estimator.score(X, y) > 1 / classes


def test_the_issues_probe_mlp_on_pixels_times_1e200_is_refused_at_once_without_a_warning():
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=r"MLPClassifier: X holds 1.6e\+201 .*standardize X"):
            MLPClassifier().fit(X * 1e200, y)
        with pytest.raises(mg.NonFiniteError, match=r"LogisticRegression: X holds 1.6e\+201"):
            LogisticRegression().fit(X * 1e200, y % 2)


@pytest.mark.parametrize("make, classes", [
    (lambda: LogisticRegression(iterations=3), 2),
    (lambda: TwoLayerNetwork(iterations=3, random_state=0), 2),
    (lambda: MLPClassifier(epochs=2, random_state=0), 3),
])
def test_what_a_model_returns_belongs_to_the_caller(make, classes):
    # Outputs are fresh, writable arrays, as scikit-learn's are (the engine's own values are
    # read-only), and learned attributes are copies: editing one changes nothing else.
    X, y = load_digits(return_X_y=True)
    X, y = X[:90] / 16, y[:90] % classes
    model = make().fit(X, y)
    outputs = [model.predict_proba(X), model.predict(X)]
    if hasattr(model, "decision_function"):
        outputs.append(model.decision_function(X))
    for output in outputs:
        assert output.flags.writeable
        output[...] = 0
    learned = [model.coef_, model.intercept_] if hasattr(model, "coef_") else list(model.parameters_.values())
    before = model.predict_proba(X)
    for array in learned:
        assert array.flags.writeable
        for node in model.graph_.parameters:
            assert not np.shares_memory(array, node.value)
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_validation_curves_are_the_cost_and_accuracy_at_each_steps_parameters(zeros_and_ones, ten_digits):
    X_train, X_test, y_train, y_test = zeros_and_ones
    model = TwoLayerNetwork(iterations=5, learning_rate=0.5, random_state=0).fit(
        X_train, y_train, validation_data=(X_test, y_test))
    curves = model.curves_
    assert len(curves["train_cost"]) == 6  # before each of the 5 updates, and after the last
    np.testing.assert_allclose(curves["train_cost"][:5], model.cost_history_, rtol=1e-9)
    final = [log_loss(y, model.predict_proba(X), labels=model.classes_) for X, y in ((X_train, y_train), (X_test, y_test))]
    np.testing.assert_allclose([curves["train_cost"][-1], curves["validation_cost"][-1]], final, rtol=1e-9)
    assert curves["validation_accuracy"][-1] == model.score(X_test, y_test)
    X_train, X_test, y_train, y_test = ten_digits
    mlp_model = MLPClassifier(hidden_layer_sizes=(8,), epochs=2, batch_size=200, random_state=0).fit(
        X_train, y_train, validation_data=(X_test, y_test))
    assert len(mlp_model.curves_["validation_cost"]) == 2
    np.testing.assert_allclose(mlp_model.curves_["validation_cost"][-1], log_loss(y_test, mlp_model.predict_proba(X_test)),
                               rtol=1e-9)
    assert mlp_model.curves_["train_accuracy"][-1] == mlp_model.score(X_train, y_train)
    assert MLPClassifier(epochs=1).fit(X_train[:50], y_train[:50]).curves_ is None
    with pytest.raises(ValueError, match=r"validation_data: labels \[42\] are not among the training classes"):
        MLPClassifier(epochs=1).fit(X_train, y_train, validation_data=(X_test[:1], [42]))
