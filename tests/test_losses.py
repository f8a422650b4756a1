"""log_loss and log_loss_with_logits: gradients, agreement, and finiteness at the extremes."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigraph as mg
from minigraph.testing import binary_labels, classification, float_arrays, probabilities, shapes


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@given(st.data())
def test_log_loss_gradient(data):
    shape = data.draw(shapes())
    p, y = data.draw(probabilities(shape)), data.draw(binary_labels(shape))
    mg.check_gradients(lambda p: mg.log_loss(p, y), p)
    # ∂L/∂y, at soft labels: probing a 0/1 label by ±h would leave the labels' domain [0, 1].
    mg.check_gradients(mg.log_loss, p, data.draw(probabilities(shape)))
    P = mg.parameter(p)
    mg.sum(mg.log_loss(P, y)).backward()
    np.testing.assert_allclose(P.grad, (p - y) / (p * (1 - p)), rtol=1e-12)


@given(st.data())
def test_log_loss_with_logits_equals_log_loss_of_sigmoid(data):
    shape = data.draw(shapes())
    z, y = data.draw(float_arrays(shape, -20, 20)), data.draw(binary_labels(shape))
    fused, plain = mg.parameter(z), mg.parameter(z)
    fused_loss = mg.sum(mg.log_loss_with_logits(fused, y))
    plain_loss = mg.sum(mg.log_loss(mg.sigmoid(plain), y))
    fused_loss.backward()
    plain_loss.backward()
    np.testing.assert_allclose(fused_loss.value, plain_loss.value, rtol=1e-6)
    np.testing.assert_allclose(fused.grad, plain.grad, rtol=1e-6, atol=1e-12)
    assert np.array_equal(fused.grad, mg.activations.stable_sigmoid(z) - y)
    mg.check_gradients(lambda z: mg.log_loss_with_logits(z, y), z)
    mg.check_gradients(mg.log_loss_with_logits, z, data.draw(probabilities(shape)))


@given(st.data())
def test_cost_gradient_with_respect_to_logits_is_prediction_minus_label_over_m(data):
    shape = data.draw(shapes(min_dims=1))
    z, y = data.draw(float_arrays(shape, -5, 5)), data.draw(binary_labels(shape))
    Z = mg.parameter(z)
    mg.mean(mg.log_loss(mg.sigmoid(Z), y)).backward()
    np.testing.assert_allclose(Z.grad, (sigmoid(z) - y) / z.size, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_losses_stay_finite_at_extremes(dtype):
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        Z = mg.parameter(z)
        s = mg.sigmoid(Z)
        assert s.value.dtype == dtype
        assert s.value[0] == 0.0 and s.value[-1] == 1.0
        for loss in (mg.log_loss(s, y), mg.log_loss_with_logits(Z, y)):
            total = mg.sum(loss)
            Z.grad = None
            total.backward()
            assert loss.value.dtype == dtype
            assert np.isfinite(loss.value).all() and np.isfinite(Z.grad).all()
    fused = mg.log_loss_with_logits(z, y).value
    assert fused[0] == pytest.approx(1000.0) and fused[-1] == pytest.approx(1000.0)


def test_log_loss_clips_to_the_dtype_epsilon_like_scikit_learn():
    from sklearn.metrics import log_loss as sklearn_log_loss

    p = np.array([0.0, 1e-20, 0.3, 1.0])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    ours = mg.mean(mg.log_loss(p, y)).value
    assert ours == pytest.approx(sklearn_log_loss(y, p, labels=[0, 1]), rel=1e-12)


# softmax_cross_entropy: K classes, classes along axis 0, samples as columns

@given(classification())
def test_softmax_cross_entropy_value_and_gradient_match_the_closed_form(case):
    from scipy.special import log_softmax as scipy_log_softmax, softmax as scipy_softmax

    z, labels = case
    classes, m = z.shape
    onehot = np.eye(classes)[:, labels]
    expected = -np.mean(scipy_log_softmax(z, axis=0)[labels, np.arange(m)])
    for given_labels in (labels, labels.astype(np.float64), onehot):
        Z = mg.parameter(z)
        cost = mg.softmax_cross_entropy(Z, given_labels)
        cost.backward()
        np.testing.assert_allclose(cost.value, expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(Z.grad, (scipy_softmax(z, axis=0) - onehot) / m, rtol=1e-10, atol=1e-15)
    mg.check_gradients(lambda z: mg.softmax_cross_entropy(z, labels), z)


@given(classification())
def test_softmax_cross_entropy_over_axis_1_is_the_transposed_problem(case):
    z, labels = case
    rows, columns = mg.parameter(z.T), mg.parameter(z)
    by_rows = mg.softmax_cross_entropy(rows, labels, axis=1)
    by_columns = mg.softmax_cross_entropy(columns, labels)
    by_rows.backward()
    by_columns.backward()
    np.testing.assert_allclose(by_rows.value, by_columns.value, rtol=1e-14)
    np.testing.assert_allclose(rows.grad, columns.grad.T, rtol=1e-14)


@given(st.data())
def test_two_class_softmax_cross_entropy_is_the_log_loss_of_the_logit_difference(data):
    # softmax([0, z]) = [1 − σ(z), σ(z)]: two classes are logistic regression.
    m = data.draw(st.integers(1, 6))
    z, y = data.draw(float_arrays((m,), -20, 20)), data.draw(binary_labels((m,)))
    two_class = mg.softmax_cross_entropy(np.stack([np.zeros(m), z]), y).value
    np.testing.assert_allclose(two_class, mg.mean(mg.log_loss_with_logits(z, y)).value, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_finite_for_logits_of_plus_minus_1e4(dtype, recwarn):
    # Sample 1 is confidently wrong (cost 2e4), sample 2 confidently right (cost 0).
    z = mg.parameter(np.array([[1e4, 1e4], [-1e4, -1e4]], dtype=dtype), name="z")
    cost = mg.softmax_cross_entropy(z, [1, 0])
    cost.backward()
    assert cost.dtype == z.grad.dtype == dtype
    assert cost.value == pytest.approx(1e4, rel=1e-6)  # (2e4 + 0) / 2
    np.testing.assert_array_equal(z.grad, np.array([[0.5, 0.0], [-0.5, 0.0]], dtype=dtype))
    assert not recwarn.list


@pytest.mark.parametrize("labels, error, message", [
    ([0, 3, 1], mg.DomainError, r"class labels must lie in 0..2 \(3 classes along axis 0\): 3.0 at index \(1,\)"),
    ([0, -1, 1], mg.DomainError, r"class labels must lie in 0..2.*-1.0 at index \(1,\)"),
    ([0, 1.5, 1], mg.DomainError, r"class labels must be whole numbers: 1.5 at index \(1,\)"),
    ([[0, 1, 2]], mg.ShapeError, r"labels must be class indices of shape \(3,\) or one-hot of shape \(3, 3\) \(classes along axis 0\), got \(1, 3\)"),
    ([0, 1], mg.ShapeError, r"got \(2,\)"),
    (np.eye(3)[:, [0, 1, 1]] * 2, mg.DomainError, r"one-hot labels must be 0 or 1: 2.0 at index \(0, 0\)"),
    (np.ones((3, 3)), mg.DomainError, r"one-hot labels need exactly one 1 per sample along axis 0: sample \(0,\) has 3"),
    (np.zeros((3, 3)), mg.DomainError, r"sample \(0,\) has 0"),
])
def test_softmax_cross_entropy_refuses_bad_labels_naming_the_node(labels, error, message):
    z = mg.parameter(np.zeros((3, 3)), name="scores")
    with pytest.raises(error, match=r"softmax_cross_entropy axis=0 'cost': .*" + message + r".*'scores' \(3, 3\), 'y'"):
        mg.softmax_cross_entropy(z, mg.constant(labels, name="y"), name="cost")


def test_softmax_cross_entropy_refuses_labels_that_would_take_a_gradient_and_an_empty_batch():
    with pytest.raises(TypeError, match=r"the labels 'y' are data and take no gradient"):
        mg.softmax_cross_entropy(np.zeros((2, 3)), mg.parameter([0.0, 1.0, 1.0], name="y"))
    with pytest.raises(mg.DomainError, match=r"there are no samples in logits of shape \(2, 0\)"):
        mg.softmax_cross_entropy(np.zeros((2, 0)), np.zeros(0))


def test_softmax_cross_entropy_checks_new_labels_on_replay():
    z = mg.parameter(np.zeros((3, 2)), name="z")
    y = mg.constant([0, 2], name="y")
    graph = mg.Graph(mg.softmax_cross_entropy(z, y))
    y.value = [2, 1, 0]  # a batch of another size is fine while the logits follow
    with pytest.raises(mg.ShapeError, match=r"got \(3,\)"):
        graph.forward()
    y.value = [0, 5]
    with pytest.raises(mg.DomainError, match=r"5.0 at index \(1,\)"):
        graph.forward()
