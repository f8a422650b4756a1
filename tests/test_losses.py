"""log_loss and log_loss_with_logits: gradients, agreement, and finiteness at the extremes."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigraph as mg
from minigraph.testing import binary_labels, float_arrays, probabilities, shapes


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
