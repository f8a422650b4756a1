"""The teaching assistant: each diagnosis on a graph built to show it, and silence on healthy ones."""

import io
import re
import warnings

import numpy as np
import pytest

import minigraph as mg
from minigraph.assistant import StalledGradientWarning, diagnose, layer_gradient_norms
from minigraph.layers import mlp
from minigraph.worked import number
from minigraph.models import LogisticRegression, MLPClassifier, tiny_example, tiny_mlp_example, tiny_two_layer_example


def saturating(rng):
    """A hidden tanh layer whose weights are far too big for its standardised inputs."""
    x = mg.constant(rng.standard_normal((4, 8)), name="x")
    y = mg.constant((rng.uniform(size=(1, 8)) > 0.5).astype(float), name="y")
    with mg.scope("layer1"):
        a1 = mg.tanh(mg.parameter(20 * rng.standard_normal((5, 4)), name="W") @ x)
    with mg.scope("layer2"):
        z2 = mg.parameter(0.1 * rng.standard_normal((1, 5)), name="W") @ a1
    return mg.mean(mg.log_loss_with_logits(z2, y))


def dying(rng):
    """ReLU units whose biases push every input below 0, on positive pixels."""
    network = mlp([6, 8, 3], hidden="relu", rng=1)
    network[0].b.value = np.full((8, 1), -3.0)
    return mg.softmax_cross_entropy(network(mg.constant(rng.uniform(0, 1, (6, 10)), name="x")), rng.integers(0, 3, 10))


def vanishing(rng):
    """Eight sigmoid layers of small weights: the gradient shrinks at every one."""
    a = mg.constant(rng.standard_normal((4, 8)), name="x")
    for i in range(8):
        with mg.scope(f"layer{i + 1}"):
            a = mg.sigmoid(mg.parameter(0.3 * rng.standard_normal((4, 4)), name="W") @ a)
    return mg.mean(a)


def exploding(rng):
    a = mg.constant(rng.standard_normal((4, 8)), name="x")
    for i in range(6):
        with mg.scope(f"layer{i + 1}"):
            a = mg.parameter(4 * rng.standard_normal((4, 4)), name="W") @ a
    return mg.mean(a * a)


def stalling(rng, fused=False):
    """The lesson as a learner writes it, in float32 on bright 4096-pixel images: z ≈ 20."""
    x = mg.constant(rng.uniform(0, 1, (4096, 20)).astype(np.float32), name="x")
    y = mg.constant((rng.uniform(size=(1, 20)) > 0.5).astype(np.float32), name="y")
    w = mg.parameter(np.full((4096, 1), 0.01, np.float32), name="w")
    b = mg.parameter(np.float32(0), name="b")
    z = mg.add(w.T @ x, b, name="z")
    return mg.mean(mg.log_loss_with_logits(z, y) if fused else mg.log_loss(mg.sigmoid(z), y))


def findings_after_backward(cost):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StalledGradientWarning)
        cost.backward()
    return diagnose(cost)


def test_saturated_units_are_named_with_their_share():
    cost = saturating(np.random.default_rng(0))
    (finding,) = findings_after_backward(cost)
    a1 = next(n for n in mg.Graph(cost).nodes if n.op is not None and n.op.name == "tanh")
    share = np.mean(1 - a1.value**2 < 1e-3)  # by hand
    assert finding.kind == "saturated" and finding.nodes == ["layer1.a"]
    assert finding.sentence.startswith(f"layer1.a is saturated: {share:.0%} of its tanh values sit where the "
                                       f"local derivative is below 0.001")


def test_dead_relu_units_are_counted_over_the_batch():
    cost = dying(np.random.default_rng(0))
    kinds = {f.kind: f for f in findings_after_backward(cost)}
    assert kinds["dead"].nodes == ["layer1.a"]
    assert "layer1.a has 8 dead ReLU units of 8 (100%): their input is ≤ 0 for every one of the 10 samples" in (
        kinds["dead"].sentence)
    assert kinds["stalled"].nodes == ["layer1.W", "layer1.b", "layer2.W"]  # nothing reaches them


def test_vanishing_and_exploding_gradients_compare_the_first_layer_with_the_last():
    cost = vanishing(np.random.default_rng(0))
    (finding,) = findings_after_backward(cost)
    graph = mg.Graph(cost)
    norms = dict(layer_gradient_norms(graph))
    by_hand = {graph.label(n): np.sqrt(np.sum(n.grad**2) / n.grad.size) for n in graph.nodes
               if n.op is not None and n.op.name == "matmul"}
    assert norms == pytest.approx(by_hand) and len(norms) == 8
    assert finding.kind == "vanishing" and finding.nodes == [f"layer{i}.matmul" for i in range(1, 9)]
    ratio = by_hand["layer1.matmul"] / by_hand["layer8.matmul"]
    assert f"layer1.matmul gets {number(ratio)} of what layer8.matmul gets" in finding.sentence
    (finding,) = findings_after_backward(exploding(np.random.default_rng(0)))
    assert finding.kind == "exploding" and "layer1.matmul gets" in finding.sentence


def test_a_stalled_training_is_diagnosed_and_warned_about_by_backward():
    cost = stalling(np.random.default_rng(0))
    with pytest.warns(StalledGradientWarning, match=r"with respect to w, b is exactly 0 while cost = \S+") as caught:
        cost.backward()
    assert caught[0].filename == __file__  # points at the learner's line, not minigraph's
    (finding,) = diagnose(cost)
    assert finding.kind == "stalled" and finding.nodes == ["w", "b"]
    assert "ŷ = sigmoid(z) rounds to exactly 0 or 1 in float32 for 100% of its elements" in finding.sentence
    assert "use log_loss_with_logits(z, y), or backward(fuse=True)" in finding.sentence
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost.backward(fuse=True)  # the cure
        stalling(np.random.default_rng(0), fused=True).backward()
    assert np.count_nonzero(next(p for p in mg.Graph(cost).parameters if p.name == "w").grad)


def test_explain_ends_with_what_the_assistant_notices():
    text = io.StringIO()
    mg.explain(saturating(np.random.default_rng(0)), file=text)
    assert re.search(r"\nThe teaching assistant notices:\n  - layer1\.a is saturated: \d+%", text.getvalue())


@pytest.mark.parametrize("build", [tiny_example, tiny_two_layer_example, tiny_mlp_example])
def test_the_lessons_worked_examples_are_healthy(build):
    cost = build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost.backward()
    assert diagnose(cost) == []
    text = io.StringIO()
    mg.explain(cost, file=text)
    assert "assistant" not in text.getvalue()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_alarm_on_the_lesson_on_sign_language(sign_language_dir, dtype):
    from minigraph.models.datasets import lesson_split

    _, (X_train, _, y_train, _) = lesson_split(sign_language_dir, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StalledGradientWarning)
        model = LogisticRegression(iterations=20).fit(X_train, y_train)  # float32: fused, by default
    assert model.diagnosis_ == []


def test_the_mlp_on_raw_pixels_has_dead_units_and_on_standardised_pixels_none(sign_language_dir):
    from sklearn.preprocessing import StandardScaler

    from minigraph.models.datasets import ten_digits_split

    _, (X_train, _, y_train, _) = ten_digits_split(sign_language_dir)
    settings = dict(hidden_layer_sizes=(64,), epochs=2, batch_size=64, random_state=0)
    raw = MLPClassifier(**settings).fit(X_train, y_train)
    assert any(sentence.startswith("layer1.a has ") and "dead ReLU units" in sentence for sentence in raw.diagnosis_)
    standardised = MLPClassifier(**settings).fit(StandardScaler().fit_transform(X_train), y_train)
    assert standardised.diagnosis_ == []


def plain_and_fused_gradients(z, y, dtype):
    z = np.asarray(z, dtype)
    plain = mg.parameter(z, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StalledGradientWarning)
        mg.sum(mg.log_loss(mg.sigmoid(plain), np.full(z.shape, y, dtype))).backward()
    fused = mg.parameter(z, dtype=dtype)
    mg.sum(mg.log_loss_with_logits(fused, np.full(z.shape, y, dtype))).backward()
    return plain.grad, fused.grad


@pytest.mark.parametrize("dtype, low, high", [(np.float64, -36.04, 36.74), (np.float32, -15.94, 16.64)])
def test_plain_and_fused_log_loss_gradients_differ_where_the_docstrings_say(dtype, low, high):
    for doc in (mg.log_loss.__doc__, mg.Graph.backward.__doc__):
        assert f"−{-low}" in doc and f"{high:.1f}" in doc
    plain, fused = plain_and_fused_gradients([low + 0.5, high - 0.5], [1.0, 0.0][0], dtype)
    np.testing.assert_allclose(plain[0], fused[0], rtol=1e-2)  # inside: the same
    plain, fused = plain_and_fused_gradients([low - 1.0], 1.0, dtype)
    assert abs(plain[0]) < 0.5 * abs(fused[0])  # below ln ε: shrinks toward 0
    plain, fused = plain_and_fused_gradients([high - 0.5, high + 0.1], 0.0, dtype)
    np.testing.assert_allclose(plain[0], fused[0], rtol=1e-2)
    assert plain[1] == 0 and fused[1] > 0.99  # σ rounds to 1: exactly 0, where it should be 1


def test_the_step_players_last_frame_says_what_the_assistant_notices():
    from minigraph.show.player import player_data

    cost = saturating(np.random.default_rng(0))
    (finding,) = findings_after_backward(cost)
    done = player_data(cost)["frames"][-1]
    assert done["phase"] == "done" and f"The teaching assistant notices:\n  - {finding.sentence}" in done["text"]
    assert "assistant" not in player_data(tiny_example())["frames"][-1]["text"]
