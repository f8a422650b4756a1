"""Optimizers pinned to their published update rules, L2 against weight decay, and training
on minibatches by replaying one graph."""

import warnings

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
    assert adam.steps == 0 and list(adam.state[w]) == ["step", "m", "v"] and adam.state[w]["step"] == 0
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
    assert all(array.dtype == dtype for name, array in optimizer.state[w].items() if name != "step")


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


# Adam counts steps per parameter, as PyTorch's Adam keeps state[p]["step"]

def pytorch_adam(presence, gradient, lr, betas, eps, weight_decay, decoupled, starts):
    """PyTorch's documented Adam/AdamW algorithm in numpy: a parameter without a gradient is
    skipped, and t is the number of steps *that parameter* has taken."""
    beta1, beta2 = betas
    params = [np.array(start, dtype=float) for start in starts]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = [0] * len(params)
    history = []
    for step, present in enumerate(presence):
        for i, p in enumerate(params):
            if not present[i]:
                continue
            t[i] += 1
            g = gradient(step, i, p)
            if decoupled:
                p = p * (1 - lr * weight_decay)
            elif weight_decay:
                g = g + weight_decay * p
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat = m[i] / (1 - beta1 ** t[i])
            v_hat = v[i] / (1 - beta2 ** t[i])
            params[i] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append([p.copy() for p in params])
    return history


# Which parameter gets a gradient at each of 25 steps: the second one first at step 6, the
# third on about half the steps.
PRESENCE = [(True, step >= 5, step % 3 != 1 and step % 5 != 0) for step in range(25)]
STARTS = [np.array([1.0, -2.0]), np.array([1.0]), np.array([[0.5, -0.5], [2.0, 0.1]])]
TARGETS = [np.array([0.3, 0.4]), np.array([-1.0]), np.array([[1.0, 0.0], [-1.0, 0.5]])]


def target_gradient(step, i, p):
    """∂/∂p of (1 + step/10)·Σ(p − target)² / 2 + Σ sin(p)."""
    return (1 + step / 10) * (p - TARGETS[i]) + np.cos(p)


ADAM_SETTINGS = {
    "adam": (mg.Adam, dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)),
    "adam l2": (mg.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)),
    "adamw": (mg.AdamW, dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.2)),
}


def minigraph_adam(kind, presence=PRESENCE):
    make, s = ADAM_SETTINGS[kind]
    params = [mg.parameter(start, name=f"p{i}") for i, start in enumerate(STARTS)]
    optimizer = make(params, s["lr"], betas=s["betas"], eps=s["eps"], weight_decay=s["weight_decay"])
    history = []
    for step, present in enumerate(presence):
        optimizer.zero_grad()
        terms = []
        for i, p in enumerate(params):
            if present[i]:
                residual = p - TARGETS[i]
                terms.append((1 + step / 10) * mg.sum(residual * residual) / 2 + mg.sum(sin_node(p)))
        cost = terms[0]
        for term in terms[1:]:
            cost = cost + term
        cost.backward()
        optimizer.step()
        history.append([p.value.copy() for p in params])
    return history, optimizer, params


class Sine(mg.Op):
    name = "sin"
    formula = "∂sin(x)/∂x = cos(x)"

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return (grad * np.cos(x),)


def sin_node(p):
    return mg.apply(Sine(), p)


@pytest.mark.parametrize("kind", sorted(ADAM_SETTINGS))
def test_adam_counts_steps_per_parameter_as_pytorch_does(kind):
    make, s = ADAM_SETTINGS[kind]
    expected = pytorch_adam(PRESENCE, target_gradient, starts=STARTS, decoupled=make is mg.AdamW, **s)
    got, optimizer, params = minigraph_adam(kind)
    for step, (ours, theirs) in enumerate(zip(got, expected), start=1):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{kind}: p{i} after step {step}")
    counts = [sum(present[i] for present in PRESENCE) for i in range(len(params))]
    assert [optimizer.state[p]["step"] for p in params] == counts
    assert optimizer.steps == len(PRESENCE)


def test_a_parameter_whose_first_gradient_comes_late_takes_a_first_step_of_the_learning_rate():
    # The probe: at its own first step, bias correction makes Adam move by lr·sign(g).
    late, early = mg.parameter([1.0], name="late"), mg.parameter([1.0], name="early")
    adam = mg.Adam([early, late], learning_rate=0.1)
    for _ in range(5):
        adam.zero_grad()
        mg.sum(early * early).backward()
        adam.step()
    adam.zero_grad()
    mg.sum(late * late).backward()
    adam.step()
    np.testing.assert_allclose(late.value, [0.9], rtol=1e-9)
    assert adam.state[late]["step"] == 1 and adam.state[early]["step"] == 5


@pytest.mark.parametrize("kind", sorted(ADAM_SETTINGS))
def test_adam_matches_torch_with_gradients_missing_on_some_steps(kind):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch to compare)")
    make, s = ADAM_SETTINGS[kind]
    tensors = [torch.tensor(start, dtype=torch.float64, requires_grad=True) for start in STARTS]
    torch_class = torch.optim.AdamW if make is mg.AdamW else torch.optim.Adam
    optimizer = torch_class(tensors, lr=s["lr"], betas=s["betas"], eps=s["eps"], weight_decay=s["weight_decay"])
    got, _, _ = minigraph_adam(kind)
    for step, present in enumerate(PRESENCE):
        optimizer.zero_grad(set_to_none=True)
        cost = sum((1 + step / 10) * ((p - torch.tensor(TARGETS[i])) ** 2).sum() / 2 + torch.sin(p).sum()
                   for i, p in enumerate(tensors) if present[i])
        cost.backward()
        optimizer.step()
        for i, p in enumerate(tensors):
            np.testing.assert_allclose(got[step][i], p.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{kind}: p{i} after step {step + 1}")


# A step that would write a wrong number is refused, naming the parameter, before anything moves

OPTIMIZERS = {
    "sgd": lambda ps: mg.SGD(ps, 0.1),
    "momentum": lambda ps: mg.SGD(ps, 0.1, momentum=0.9),
    "adam": lambda ps: mg.Adam(ps, 0.1),
    "adamw": lambda ps: mg.AdamW(ps, 0.1),
}


def state_copy(optimizer):
    return {p.name: {k: np.array(v, copy=True) for k, v in s.items()} for p, s in optimizer.state.items()}


def one_good_step(make):
    """A healthy W, a bias about to receive a bad gradient, and an optimizer one step in."""
    w, b = mg.parameter(W0, name="layer1.W"), mg.parameter(B0, name="layer1.b")
    optimizer = make([w, b])
    least_squares_graph(w, b).backward()
    optimizer.step()
    least_squares_graph(w, b).backward()
    return w, b, optimizer


BAD_GRADIENTS = {
    "wrong shape": (lambda b: np.ones((1, 2)), mg.ShapeError,
                    r"'layer1.b' has a gradient of shape \(1, 2\), not of the parameter's shape \(2, 1\)"),
    "not an array": (lambda b: [[1.0], [2.0]], mg.ShapeError, r"'layer1.b' has a gradient that is a list"),
    "nan": (lambda b: np.array([[1.0], [np.nan]]), mg.NonFiniteError,
            r"the gradient of 'layer1.b' holds nan at index \(1, 0\); no parameter was moved"),
    "inf": (lambda b: np.array([[-np.inf], [1.0]]), mg.NonFiniteError,
            r"the gradient of 'layer1.b' holds -inf at index \(0, 0\)"),
}


@pytest.mark.parametrize("bad", sorted(BAD_GRADIENTS))
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_a_bad_gradient_is_refused_by_name_and_nothing_moves(kind, bad):
    w, b, optimizer = one_good_step(OPTIMIZERS[kind])
    make_grad, error, message = BAD_GRADIENTS[bad]
    b.grad = make_grad(b)
    values, state, steps = [w.value.copy(), b.value.copy()], state_copy(optimizer), optimizer.steps
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning either
        with pytest.raises(error, match=message):
            optimizer.step()
    # Nothing is lost: not W (listed first, whose gradient is fine), not b, not the state.
    np.testing.assert_array_equal(w.value, values[0])
    np.testing.assert_array_equal(b.value, values[1])
    assert optimizer.steps == steps
    after = state_copy(optimizer)
    for name in state:
        for key in state[name]:
            np.testing.assert_array_equal(after[name][key], state[name][key])
    # Once the gradient is right again the step goes through.
    b.grad = np.zeros_like(B0)
    optimizer.step()
    assert optimizer.steps == steps + 1


@pytest.mark.parametrize("make, grad, message", [
    # learning_rate·g overflows although g is finite
    (lambda ps: mg.SGD(ps, 1e10), 1e300,
     r"SGD: the step for 'w' overflows: inf at index \(0,\) from a finite gradient \(largest \|gradient\| 1e\+300\) "
     r"at learning_rate 1e\+10; lower the learning rate"),
    (lambda ps: mg.SGD(ps, 1e10, momentum=0.9), 1e300, r"SGD: the step for 'w' overflows"),
    # weight decay: λ·W overflows, added to the gradient (Adam) or beside it (AdamW)
    (lambda ps: mg.SGD(ps, 0.1, weight_decay=10.0), 1.0, r"SGD: the step for 'w' overflows"),
    (lambda ps: mg.Adam(ps, 0.1, weight_decay=10.0), 1.0, r"Adam: the squared gradient of 'w' overflows in v: inf at index \(0,\)"),
    (lambda ps: mg.AdamW(ps, 0.1, weight_decay=100.0), 1.0, r"AdamW: the step for 'w' overflows: inf at index \(0,\)"),
])
def test_a_step_that_overflows_is_refused_by_name_and_nothing_moves(make, grad, message):
    w = mg.parameter([1e308, 1.0], name="w")
    optimizer = make([w])
    w.grad = np.array([grad, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=message):
            optimizer.step()
    np.testing.assert_array_equal(w.value, [1e308, 1.0])
    assert optimizer.steps == 0


@pytest.mark.parametrize("make", [lambda ps: mg.Adam(ps, 0.1), lambda ps: mg.AdamW(ps, 0.1)])
def test_adam_refuses_a_gradient_whose_square_overflows_rather_than_freezing_the_parameter(make):
    # g² = inf makes v inf and m̂/√v̂ = 0: the weight would silently stop moving for good.
    w = mg.parameter([1.0, 2.0], name="layer1.W")
    optimizer = make([w])
    w.grad = np.array([1.0, 1e200])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=r"the squared gradient of 'layer1.W' overflows in v: inf at index "
                                                    r"\(1,\) from a finite gradient \(largest \|gradient\| 1e\+200\)"):
            optimizer.step()
    np.testing.assert_array_equal(w.value, [1.0, 2.0])
    assert optimizer.state[w]["step"] == 0 and not optimizer.state[w]["v"].any()


@pytest.mark.parametrize("make, grad, message", [
    (lambda ps: mg.SGD(ps, 1.0), 1e308, r"SGD: the step for 'layer2.W' takes it past float64's range: "
                                        r"-1e\+308 − 1e\+308 at index \(1,\) is -inf; .*no parameter was moved"),
    (lambda ps: mg.Adam(ps, 1e308), 1.0, r"Adam: the step for 'layer2.W' takes it past float64's range"),
])
def test_a_step_that_moves_a_weight_past_the_floats_range_is_refused_and_nothing_moves(make, grad, message):
    # Gradient and step are finite; only value − step overflows (numpy would say so in a
    # RuntimeWarning and leave -inf in the weight).
    v, w = mg.parameter([1.0, 2.0], name="layer1.W"), mg.parameter([1.0, -1e308], name="layer2.W")
    optimizer = make([v, w])
    v.grad, w.grad = np.array([0.5, 0.5]), np.array([0.0, grad])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=message):
            optimizer.step()
    np.testing.assert_array_equal(v.value, [1.0, 2.0])  # listed first, its step was fine: all or nothing
    np.testing.assert_array_equal(w.value, [1.0, -1e308])
    assert optimizer.steps == 0 and all(
        not np.any(array) for state in optimizer.state.values() for array in state.values())


def test_values_whose_sum_overflows_are_finite_and_move():
    # One check sums every moved value; a sum that overflows while every number is finite
    # must not be taken for a NaN or inf.
    w = mg.parameter([8e307, 8e307, 1.0], name="w")
    optimizer = mg.SGD([w], 1.0)
    w.grad = np.array([-1e307, -1e307, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
    np.testing.assert_array_equal(w.value, [9e307, 9e307, 0.5])


def test_a_float64_gradient_that_overflows_a_float32_parameter_is_refused():
    w = mg.parameter(np.array([3e38, 1.0], np.float32), name="w")
    optimizer = mg.SGD([w], 1.0)
    w.grad = np.array([-1e38, 0.0])  # float64: the moved value fits there, not in float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.NonFiniteError, match=r"the step for 'w' takes it past float32's range"):
            optimizer.step()
    assert w.value.dtype == np.float32 and w.value[0] == np.float32(3e38)


def test_the_value_read_before_a_step_is_the_live_array_and_moves_with_it():
    w = mg.parameter([1.0, 2.0], name="w")
    held = w.value
    w.grad = np.array([1.0, 1.0])
    mg.SGD([w], 0.5).step()
    np.testing.assert_array_equal(held, [0.5, 1.5])  # as torch's .data: the same array
    assert not held.flags.writeable
