"""Optimizers pinned to their published update rules, L2 against weight decay, and training
on minibatches by replaying one graph."""

import numpy as np
import pytest
from hypothesis import given

import minigraph as mg
from minigraph.testing import float_arrays, shapes

# A tiny least-squares problem: W (2, 3), b (2, 1), x (3, 4), targets t (2, 4).
RNG = np.random.default_rng(0)
X, T = RNG.standard_normal((3, 4)), RNG.standard_normal((2, 4))
W0, B0 = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 1))
STEPS = 4


def least_squares_graph(w, b, x=X, t=T):
    """cost = Σ (W x + b − t)² / (2m), built with minigraph."""
    residual = w @ x + b - t
    return mg.sum(residual * residual) / (2 * x.shape[1])


def least_squares_gradients(w, b):
    """The same cost's gradients, by hand: ∂/∂W = r xᵀ/m, ∂/∂b = Σ r/m."""
    residual = w @ X + b - T
    m = X.shape[1]
    return [residual @ X.T / m, residual.sum(axis=1, keepdims=True) / m]


def train(make_optimizer, cost=least_squares_graph, steps=STEPS):
    """Parameters after each of `steps` steps, replaying one graph."""
    w, b = mg.parameter(W0, name="W"), mg.parameter(B0, name="b")
    graph = mg.Graph(cost(w, b))
    optimizer = make_optimizer([w, b])
    history = []
    for _ in range(steps):
        graph.forward()
        graph.backward()
        optimizer.step()
        history.append([w.value.copy(), b.value.copy()])
    return history, optimizer


# The update rules as published, in plain numpy, one step of one parameter each.

def sgd_rule(p, g, state, t, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = g + weight_decay * p
    if momentum == 0:
        return p - lr * g
    state["velocity"] = momentum * state.get("velocity", 0.0) + g
    return p - lr * (g + momentum * state["velocity"] if nesterov else state["velocity"])


def adam_rule(p, g, state, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """Kingma & Ba's Algorithm 1; with `decoupled`, Loshchilov & Hutter's AdamW."""
    beta1, beta2 = betas
    if not decoupled:
        g = g + weight_decay * p
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = state["v"] / (1 - beta2**t)
    decay = weight_decay * p if decoupled else 0.0
    return p - lr * (m_hat / (np.sqrt(v_hat) + eps) + decay)


def by_hand(rule, steps=STEPS, **settings):
    params, states, history = [W0.copy(), B0.copy()], [{}, {}], []
    for t in range(1, steps + 1):
        grads = least_squares_gradients(*params)
        params = [rule(p, g, s, t, **settings) for p, g, s in zip(params, grads, states)]
        history.append(params)
    return history


CASES = {
    "sgd": (lambda ps: mg.SGD(ps, 0.1), sgd_rule, {"lr": 0.1}),
    "sgd weight decay": (lambda ps: mg.SGD(ps, 0.1, weight_decay=0.3), sgd_rule, {"lr": 0.1, "weight_decay": 0.3}),
    "momentum": (lambda ps: mg.SGD(ps, 0.1, momentum=0.9), sgd_rule, {"lr": 0.1, "momentum": 0.9}),
    "nesterov": (lambda ps: mg.SGD(ps, 0.1, momentum=0.9, nesterov=True), sgd_rule,
                 {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": (lambda ps: mg.Adam(ps, 0.05), adam_rule, {"lr": 0.05}),
    "adam l2": (lambda ps: mg.Adam(ps, 0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3), adam_rule,
                {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.3}),
    "adamw": (lambda ps: mg.AdamW(ps, 0.05, weight_decay=0.3), adam_rule,
              {"lr": 0.05, "weight_decay": 0.3, "decoupled": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_update_rule_matches_its_published_equations_step_by_step(case):
    make_optimizer, rule, settings = CASES[case]
    ours, optimizer = train(make_optimizer)
    expected = by_hand(rule, **settings)
    for step, (got, want) in enumerate(zip(ours, expected), start=1):
        for name, g, w in zip("Wb", got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"{case}: {name} after step {step}")
    assert optimizer.steps == STEPS


def test_adams_first_step_moves_each_weight_by_the_learning_rate_against_its_gradient():
    # At t = 1 bias correction makes m̂ = g and v̂ = g², so the step is lr·g/|g| (eps aside).
    history, _ = train(lambda ps: mg.Adam(ps, 0.01, eps=1e-12), steps=1)
    for start, after, grad in zip((W0, B0), history[0], least_squares_gradients(W0, B0)):
        np.testing.assert_allclose(after, start - 0.01 * np.sign(grad), rtol=1e-9)


def test_momentum_state_is_the_running_sum_of_gradients():
    history, optimizer = train(lambda ps: mg.SGD(ps, 0.1, momentum=0.5), steps=2)
    w = optimizer.parameters[0]
    g1 = least_squares_gradients(W0, B0)[0]
    g2 = least_squares_gradients(*history[0])[0]
    assert list(optimizer.state[w]) == ["velocity"]
    np.testing.assert_allclose(optimizer.state[w]["velocity"], 0.5 * g1 + g2, rtol=1e-12)


# L2 in the cost and weight decay in the optimizer

def with_l2(lam):
    return lambda w, b: least_squares_graph(w, b) + mg.l2_penalty([w, b], lam)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_for_sgd_an_l2_term_in_the_graph_equals_weight_decay(momentum):
    in_graph, _ = train(lambda ps: mg.SGD(ps, 0.1, momentum=momentum), cost=with_l2(0.3))
    in_optimizer, _ = train(lambda ps: mg.SGD(ps, 0.1, momentum=momentum, weight_decay=0.3))
    for a, b in zip(in_graph, in_optimizer):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


def test_for_adam_l2_through_the_gradient_differs_from_adamws_decoupled_decay():
    in_graph, _ = train(lambda ps: mg.Adam(ps, 0.05), cost=with_l2(0.3))
    in_optimizer, _ = train(lambda ps: mg.Adam(ps, 0.05, weight_decay=0.3))
    decoupled, _ = train(lambda ps: mg.AdamW(ps, 0.05, weight_decay=0.3))
    for a, b in zip(in_graph, in_optimizer):  # L2 in the cost is Adam's weight_decay...
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)
    # ...but not AdamW's: Adam divides the decay by √v̂ along with the gradient.
    assert np.abs(in_graph[-1][0] - decoupled[-1][0]).max() > 1e-3
    np.testing.assert_allclose(decoupled[-1][0], by_hand(adam_rule, lr=0.05, weight_decay=0.3, decoupled=True)[-1][0], rtol=1e-12)


@given(float_arrays(shapes(min_dims=1, max_dims=2)), float_arrays(shapes(max_dims=2)))
def test_l2_penalty_value_and_gradient(w, v):
    mg.check_gradients(lambda w, v: mg.l2_penalty([w, v], 0.7), w, v)
    W, V = mg.parameter(w), mg.parameter(v)
    penalty = mg.l2_penalty([W, V], 0.7)
    penalty.backward()
    np.testing.assert_allclose(penalty.value, 0.35 * (np.sum(w**2) + np.sum(v**2)), rtol=1e-12)
    np.testing.assert_allclose(W.grad, 0.7 * w, rtol=1e-15)
    np.testing.assert_allclose(V.grad, 0.7 * v, rtol=1e-15)


@pytest.mark.parametrize("args, error, message", [
    (([], 0.1), ValueError, r"l2_penalty: no parameters to penalise"),
    (([np.ones(2)], 0.1), TypeError, r"l2_penalty: item 0 is a ndarray, not a node"),
    (("W", -0.1), ValueError, r"lam must be a number ≥ 0, got -0.1"),
    (("W", float("inf")), ValueError, r"lam must be a number ≥ 0, got inf"),
])
def test_l2_penalty_refuses_bad_arguments(args, error, message):
    parameters, lam = args
    if parameters == "W":
        parameters = mg.parameter(np.ones(2), name="W")
    with pytest.raises(error, match=message):
        mg.l2_penalty(parameters, lam)


# State, steps and what a step does without gradients

def test_state_is_visible_as_named_arrays_from_the_start():
    w, b = mg.parameter(W0, name="W"), mg.parameter(B0, name="b")
    adam = mg.Adam([w, b])
    assert adam.steps == 0 and set(adam.state[w]) == {"m", "v"}
    assert adam.state[b]["v"].shape == (2, 1) and not adam.state[b]["v"].any()
    assert mg.SGD([w]).state[w] == {} and set(mg.SGD([w], momentum=0.9).state[w]) == {"velocity"}


def test_parameters_without_a_gradient_stay_put_and_an_empty_step_is_not_counted():
    w, unused = mg.parameter(W0, name="W"), mg.parameter(B0, name="unused")
    adam = mg.Adam([w, unused], 0.1)
    adam.step()  # no backward yet: nothing moves, no step counted
    assert adam.steps == 0
    mg.sum(w * w).backward()
    adam.step()
    assert adam.steps == 1
    np.testing.assert_array_equal(unused.value, B0)
    assert not np.array_equal(w.value, W0)
    adam.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [lambda ps: mg.SGD(ps, 0.1, momentum=0.9), lambda ps: mg.Adam(ps), lambda ps: mg.AdamW(ps)])
def test_optimizers_keep_the_parameters_dtype(dtype, make):
    w = mg.parameter(W0, dtype=dtype)
    optimizer = make([w])
    mg.sum(w * w).backward()
    optimizer.step()
    assert w.dtype == dtype
    assert all(array.dtype == dtype for array in optimizer.state[w].values())


@pytest.mark.parametrize("build, error, message", [
    (lambda w: mg.SGD([]), ValueError, r"SGD: no parameters to optimize"),
    (lambda w: mg.SGD([w, w]), ValueError, r"SGD: a parameter is listed twice"),
    (lambda w: mg.SGD([mg.constant(1.0, name="x")]), TypeError, r"SGD: parameter 0 \('x'\) is not a parameter leaf"),
    (lambda w: mg.Adam([w * 2]), TypeError, r"Adam: parameter 0 \('mul'\) is not a parameter leaf"),
    (lambda w: mg.SGD([np.ones(2)]), TypeError, r"parameter 0 \(a ndarray\) is not a parameter leaf"),
    (lambda w: mg.SGD([w], learning_rate=0), ValueError, r"SGD: learning_rate must lie in \(0, inf\), got 0"),
    (lambda w: mg.SGD([w], learning_rate="0.1"), ValueError, r"learning_rate must be a number, got '0.1'"),
    (lambda w: mg.SGD([w], momentum=1.0), ValueError, r"momentum must lie in \[0, 1\), got 1.0"),
    (lambda w: mg.SGD([w], nesterov=True), ValueError, r"nesterov=True needs a momentum in \(0, 1\)"),
    (lambda w: mg.SGD([w], weight_decay=-1), ValueError, r"weight_decay must lie in \[0, inf\), got -1"),
    (lambda w: mg.Adam([w], betas=(0.9,)), ValueError, r"betas must be a pair"),
    (lambda w: mg.AdamW([w], betas=(0.9, 1.0)), ValueError, r"AdamW: betas\[1\] must lie in \[0, 1\), got 1.0"),
    (lambda w: mg.Adam([w], eps=0), ValueError, r"eps must lie in \(0, inf\), got 0"),
    (lambda w: mg.Adam([w], learning_rate=float("nan")), ValueError, r"learning_rate must be a number, got nan"),
])
def test_optimizers_refuse_bad_settings(build, error, message):
    with pytest.raises(error, match=message):
        build(mg.parameter(np.ones(2), name="w"))


# Minibatches: one graph, fed batch after batch by assigning its leaves and replaying

def test_one_graph_replayed_on_successive_batches_matches_a_graph_built_per_batch():
    rng = np.random.default_rng(3)
    features, samples = rng.standard_normal((4, 10)), rng.integers(0, 3, 10)
    batches = [slice(0, 4), slice(4, 8), slice(8, 10)]  # the last one smaller

    net = mg.layers.mlp([4, 5, 3], hidden="tanh", rng=1)
    x = mg.constant(features[:, batches[0]], name="x")
    y = mg.constant(samples[batches[0]], name="y")
    graph = mg.Graph(mg.softmax_cross_entropy(net(x), y))
    replayed = mg.SGD(net.parameters, 0.5, momentum=0.9)

    twin = mg.layers.mlp([4, 5, 3], hidden="tanh", rng=1)
    rebuilt = mg.SGD(twin.parameters, 0.5, momentum=0.9)

    for epoch in range(2):
        for batch in batches:
            x.value, y.value = features[:, batch], samples[batch]
            cost = graph.forward()
            graph.backward()
            fresh = mg.softmax_cross_entropy(twin(features[:, batch]), samples[batch])
            fresh.backward()
            assert cost == fresh.value
            for ours, theirs in zip(net.parameters, twin.parameters):
                np.testing.assert_array_equal(ours.grad, theirs.grad)
            replayed.step()
            rebuilt.step()
    for ours, theirs in zip(net.parameters, twin.parameters):
        np.testing.assert_array_equal(ours.value, theirs.value)

    x.value = features[:3, :4]  # three features where the first layer expects four
    with pytest.raises(mg.ShapeError, match=r"cannot multiply \(5, 4\) by \(3, 4\).*'W' \(5, 4\), 'x' \(3, 4\)"):
        graph.forward()
