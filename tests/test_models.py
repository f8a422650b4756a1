"""LogisticRegression as a graph and as a scikit-learn classifier."""

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import minigraph as mg
from minigraph.assistant import StalledGradientWarning
from minigraph.testing import logistic_regression_data
from minigraph.models import LogisticRegression, logistic_regression_graph
from minigraph.models.datasets import load_digits_binary, load_sign_language_digits


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@given(logistic_regression_data())
def test_graph_gradient_equals_the_closed_form(data):
    x, y, w, b = data
    W, B = mg.parameter(w), mg.parameter(b)
    logistic_regression_graph(mg.constant(x), mg.constant(y), W, B).backward()
    y_hat = sigmoid(w.T @ x + b)
    m = x.shape[1]
    np.testing.assert_allclose(W.grad, x @ (y_hat - y).T / m, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(B.grad, np.mean(y_hat - y), rtol=1e-9, atol=1e-14)


def hand_written_lesson(x, y, iterations=150, learning_rate=0.01):
    """The classic numpy loop with the closed-form gradient; x is (features, m)."""
    w, b, m, costs = np.full((x.shape[0], 1), 0.01), 0.0, x.shape[1], []
    for _ in range(iterations):
        a = sigmoid(w.T @ x + b)
        costs.append(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / m)
        w = w - learning_rate * (x @ (a - y).T) / m
        b = b - learning_rate * np.sum(a - y) / m
    return np.array(costs), w, b


def test_sign_language_lesson_matches_the_hand_written_loop_at_every_iteration(sign_language_dir):
    X, y = load_sign_language_digits(sign_language_dir, digits=(0, 1), max_per_digit=205)
    assert X.shape == (410, 4096) and X.dtype == np.float64
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=42)
    assert len(X_train) == 348 and len(X_test) == 62
    model = LogisticRegression(learning_rate=0.01, iterations=150).fit(X_train, y_train)
    costs, w, b = hand_written_lesson(X_train.T, y_train[np.newaxis, :].astype(float))
    assert len(model.cost_history_) == 150
    np.testing.assert_allclose(model.cost_history_, costs, rtol=1e-9, atol=0)
    np.testing.assert_allclose(model.coef_, w.T, rtol=1e-9)
    # The figures the shared data's README lists for this loop.
    assert [round(costs[i], 6) for i in (0, 10, 90, 140)] == [14.011394, 2.560022, 0.950760, 0.209658]
    assert round(100 * model.score(X_train, y_train), 2) == 91.95
    assert round(100 * model.score(X_test, y_test), 2) == 93.55


def test_bundled_digits_lesson_learns():
    X, y = load_digits_binary()
    assert set(np.unique(y)) == {0, 1} and X.min() >= 0 and X.max() <= 1
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=42)
    model = LogisticRegression().fit(X_train, y_train)
    assert model.cost_history_[-1] < model.cost_history_[0]
    assert model.score(X_test, y_test) > 0.95


def ops_in(model):
    return [node.op.name for node in model.graph_.nodes if node.op is not None]


def test_float32_training_stays_float32_and_matches_float64_accuracy():
    X, y = load_digits_binary()
    m64 = LogisticRegression().fit(X, y)
    m32 = LogisticRegression().fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float32 and m32.graph_.output.dtype == np.float32
    assert m32.score(X, y) == m64.score(X, y)
    assert "sigmoid" in ops_in(m64) and "log_loss_with_logits" in ops_in(m32)


def test_float32_sign_language_lesson_reaches_the_float64_accuracy(sign_language_dir):
    X, y = load_sign_language_digits(sign_language_dir, max_per_digit=205, dtype=np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=42)
    m32 = LogisticRegression().fit(X_train, y_train)
    m64 = LogisticRegression().fit(X_train.astype(np.float64), y_train)
    assert m32.score(X_test, y_test) == m64.score(X_test, y_test)
    # The lesson's own graph trains as well in float32: fit fuses log_loss after the sigmoid
    # into σ(z) − y (backward(fuse=True)). Backpropagated as written, it stalls: σ(z) rounds
    # to exactly 1 once z > 17, and the chained gradient to 0.
    plain = LogisticRegression(loss="log_loss").fit(X_train, y_train)
    assert plain.score(X_test, y_test) == m32.score(X_test, y_test)
    w, b = mg.parameter(np.full((X.shape[1], 1), 0.01, np.float32)), mg.parameter(np.float32(0))
    graph = mg.Graph(logistic_regression_graph(
        mg.constant(X_train.T), mg.constant((y_train == 1)[np.newaxis].astype(np.float32)), w, b))
    optimizer = mg.SGD([w, b], 0.01)
    with pytest.warns(StalledGradientWarning, match=r"exactly 0 .* use log_loss_with_logits\(z, y\), or backward\(fuse=True\)"):
        for step in range(150):  # ... and backward says so
            if step:
                graph.forward()
            graph.backward()
            optimizer.step()
    as_written = np.mean(((X_test @ w.value).ravel() + b.value > 0) == (y_test == 1))
    assert as_written < m32.score(X_test, y_test)


@pytest.mark.parametrize(
    "name, value",
    [
        ("iterations", 2.5), ("iterations", "10"), ("iterations", None), ("iterations", 0),
        ("learning_rate", "0.1"), ("learning_rate", 0.0), ("learning_rate", -0.01),
        ("learning_rate", np.nan), ("learning_rate", np.inf), ("learning_rate", None),
        ("initial_weight", "0.01"), ("initial_weight", np.nan), ("initial_weight", -np.inf),
        ("initial_weight", None), ("loss", "hinge"), ("loss", None),
        ("progress", "tqdm"), ("progress", 1),
    ],
)
def test_bad_parameters_are_refused_the_scikit_learn_way(name, value):
    model = LogisticRegression(**{name: value})
    # Checked before the data: these would be refused too, but for their three classes.
    with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter of LogisticRegression must be"):
        model.fit(np.ones((3, 2)), [0, 1, 2])


@pytest.mark.parametrize(
    "parameters",
    [
        {"iterations": np.int64(3)}, {"learning_rate": 1}, {"learning_rate": np.float32(0.5)},
        {"initial_weight": 0}, {"initial_weight": -0.5}, {"loss": "log_loss"},
        {"loss": "log_loss_with_logits"}, {"progress": list},
    ],
)
def test_good_parameters_of_every_numeric_kind_are_accepted(parameters):
    X, y = load_digits_binary()
    model = LogisticRegression(**{"iterations": 3, **parameters}).fit(X, y)
    assert len(model.cost_history_) == model.n_iter_ == model.iterations


def test_trained_graph_is_consistent_with_the_final_parameters():
    X, y = load_digits_binary()
    model = LogisticRegression(iterations=5).fit(X, y)
    w = next(p for p in model.graph_.parameters if p.name == "w")
    np.testing.assert_array_equal(w.value.T, model.coef_)
    assert w.grad is not None and model.graph_.output.grad == 1.0
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], sigmoid(X @ model.coef_.T + model.intercept_).ravel())


def test_classes_can_be_any_two_labels():
    X, y = load_digits_binary()
    names = np.where(y == 1, "one", "zero")
    model = LogisticRegression().fit(X, names)
    assert list(model.classes_) == ["one", "zero"]
    assert set(model.predict(X)) <= {"one", "zero"}


def test_works_in_pipelines_and_cross_validation():
    X, y = load_digits_binary()
    scores = cross_val_score(make_pipeline(MinMaxScaler(), LogisticRegression()), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), [0, 1], ValueError, "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), [0, 1], ValueError, "infinity"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), [0, 1], ValueError, "could not convert"),
        (np.ones((3, 2)), [0, 1, 2], ValueError, "exactly two classes; got 3 classes"),
        (np.ones((3, 2)), [1, 1, 1], ValueError, "exactly two classes; got 1 class:"),
    ],
)
def test_bad_training_data_is_refused(X, y, error, message):
    with pytest.raises(error, match=message):
        LogisticRegression().fit(X, y)


def test_a_pickled_model_keeps_what_prediction_needs_and_not_the_training_set():
    rng = np.random.default_rng(0)
    X = rng.random((300, 2000))
    y = (X[:, :10].sum(axis=1) > 5).astype(int)
    model = LogisticRegression(iterations=20).fit(X, y)
    data = pickle.dumps(model)
    # On the order of the coefficients (16 kB here), where the training set is 4.8 MB.
    assert len(data) < 1.5 * model.coef_.nbytes
    assert not any(row.tobytes() in data for row in X)
    assert hasattr(model, "graph_")  # pickling leaves the fitted model itself whole
    loaded = pickle.loads(data)
    assert not hasattr(loaded, "graph_")
    X_new = rng.random((50, 2000))
    np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))
    np.testing.assert_array_equal(loaded.predict_proba(X_new), model.predict_proba(X_new))
    np.testing.assert_array_equal(loaded.decision_function(X_new), model.decision_function(X_new))
    assert loaded.score(X, y) == model.score(X, y)
    assert loaded.cost_history_ == model.cost_history_
    assert not hasattr(copy.deepcopy(model), "graph_")  # as the class docstring says


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        LogisticRegression().predict(np.ones((1, 2)))


@parametrize_with_checks([LogisticRegression(iterations=20)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
