"""Every number the narration prints, on four graphs, against numpy written out here.

The README lesson, CS231n's two-layer toy (5 samples × 4 features, 10 hidden ReLU units,
3 classes, softmax cross-entropy, samples as rows), lesson 2's two-layer tanh/sigmoid
network and lesson 3's softmax network. For each, every value and every gradient is worked
out in plain numpy (`by_hand`), and the narration is read back three ways:

- each node's printed value (`out: z = …`, a leaf's line) and each ∂cost/∂node equation's
  result are the hand-computed ones;
- each worked element names its subject ('z[0, 2] = …', 'to W1[3, 9]: …', 'row 4 of
  scores: …') and its last number is that element of the hand-computed value or gradient;
- every chain of arithmetic in a line ('0.01·0.4 + 0.01·0.5 = 0.009') recomputes, from
  the printed numbers, to the number printed after it: a learner can redo every step.
"""

import io
import re

import numpy as np
import pytest

import minigraph as mg
from minigraph.models import tiny_mlp_example, tiny_two_layer_example
from test_teaching import NUMBER, equations, forward_values, to_float

PRINTED = {"rtol": 5e-4, "atol": 1e-9}  # 4 significant digits, rounded


def narrate(output, **options):
    text = io.StringIO()
    mg.explain(output, file=text, **options)
    return text.getvalue()


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# The four graphs and their maths by hand ------------------------------------------------------

def readme_lesson():
    x = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
    y = np.array([[0.0, 1.0, 1.0]])
    w, b = np.full((2, 1), 0.01), 0.0
    X, Y = mg.constant(x, name="x"), mg.constant(y, name="y")
    W, B = mg.parameter(w, name="w"), mg.parameter(b, name="b")
    cost = mg.mean(mg.log_loss(mg.sigmoid(W.T @ X + B), Y))  # unnamed, as the README writes it
    m = x.shape[1]
    matmul = w.T @ x
    z = matmul + b
    p = sigmoid(z)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    dz = (p - y) / m
    values = {"x": x, "y": y, "w": w, "b": np.array(b), "wᵀ": w.T, "matmul": matmul, "z": z, "ŷ": p,
              "loss": loss, "cost": loss.mean()}
    grads = {"cost": 1.0, "loss": np.full_like(loss, 1 / m), "ŷ": (p - y) / (p * (1 - p)) / m, "z": dz,
             "matmul": dz, "b": dz.sum(), "wᵀ": dz @ x.T, "w": (dz @ x.T).T}
    return cost, values, grads


def cs231n_toy():
    """CS231n's toy: scores = relu(X W1 + b1) W2 + b2, samples as rows, axis=1 classes."""
    rng = np.random.default_rng(0)
    N, D, H, C = 5, 4, 10, 3
    x = 10 * rng.standard_normal((N, D))
    labels = np.array([0, 1, 2, 2, 1])
    w1, w2 = 1e-1 * rng.standard_normal((D, H)), 1e-1 * rng.standard_normal((H, C))
    b1, b2 = np.zeros(H), np.zeros(C)
    X = mg.constant(x, name="X")
    W1, B1, W2, B2 = (mg.parameter(v, name=n) for v, n in ((w1, "W1"), (b1, "b1"), (w2, "W2"), (b2, "b2")))
    h = mg.relu(X @ W1 + B1, name="h")
    cost = mg.softmax_cross_entropy(mg.add(h @ W2, B2, name="scores"), labels, axis=1, name="cost")
    z1 = x @ w1 + b1
    a1 = np.maximum(z1, 0)
    scores = a1 @ w2 + b2
    p = softmax(scores, axis=1)
    onehot = np.eye(C)[labels]
    dscores = (p - onehot) / N
    dh = dscores @ w2.T
    dz1 = dh * (z1 > 0)
    values = {"X": x, "W1": w1, "b1": b1, "W2": w2, "b2": b2, "labels": labels, "matmul₁": x @ w1, "z": z1,
              "h": a1, "matmul₂": a1 @ w2, "scores": scores, "cost": -np.mean(np.log(p[range(N), labels]))}
    grads = {"cost": 1.0, "scores": dscores, "matmul₂": dscores, "b2": dscores.sum(axis=0), "h": dh,
             "W2": a1.T @ dscores, "z": dz1, "matmul₁": dz1, "b1": dz1.sum(axis=0), "W1": x.T @ dz1}
    return cost, values, grads


def lesson_2_network():
    cost = tiny_two_layer_example()
    leaf = {mg.Graph(cost).label(n): n.value for n in mg.Graph(cost).leaves}
    x, y = leaf["X"], leaf["Y"]
    w1, b1, w2, b2 = leaf["layer1.W"], leaf["layer1.b"], leaf["layer2.W"], leaf["layer2.b"]
    m = x.shape[1]
    z1 = w1 @ x + b1
    a1 = np.tanh(z1)
    z2 = w2 @ a1 + b2
    p = sigmoid(z2)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    dz2 = (p - y) / m
    da1 = w2.T @ dz2
    dz1 = da1 * (1 - a1**2)
    values = {**leaf, "layer1.matmul": w1 @ x, "layer1.z": z1, "layer1.a": a1, "layer2.matmul": w2 @ a1,
              "layer2.z": z2, "layer2.ŷ": p, "loss": loss, "cost": loss.mean()}
    grads = {"cost": 1.0, "loss": np.full_like(loss, 1 / m), "layer2.ŷ": (p - y) / (p * (1 - p)) / m,
             "layer2.z": dz2, "layer2.matmul": dz2, "layer2.b": dz2.sum(axis=1, keepdims=True),
             "layer2.W": dz2 @ a1.T, "layer1.a": da1, "layer1.z": dz1, "layer1.matmul": dz1,
             "layer1.b": dz1.sum(axis=1, keepdims=True), "layer1.W": dz1 @ x.T}
    return cost, values, grads


def lesson_3_softmax_network():
    cost = tiny_mlp_example()
    leaf = {mg.Graph(cost).label(n): n.value for n in mg.Graph(cost).leaves}
    x, labels = leaf["X"], leaf["y"].astype(int)
    w1, b1, w2, b2 = leaf["layer1.W"], leaf["layer1.b"], leaf["layer2.W"], leaf["layer2.b"]
    m = x.shape[1]
    z1 = w1 @ x + b1
    a1 = np.maximum(z1, 0)
    z2 = w2 @ a1 + b2
    p = softmax(z2, axis=0)
    dz2 = (p - np.eye(3)[labels].T) / m
    da1 = w2.T @ dz2
    dz1 = da1 * (z1 > 0)
    values = {**leaf, "layer1.matmul": w1 @ x, "layer1.z": z1, "layer1.a": a1, "layer2.matmul": w2 @ a1,
              "layer2.z": z2, "cost": -np.mean(np.log(p[labels, range(m)]))}
    grads = {"cost": 1.0, "layer2.z": dz2, "layer2.matmul": dz2, "layer2.b": dz2.sum(axis=1, keepdims=True),
             "layer2.W": dz2 @ a1.T, "layer1.a": da1, "layer1.z": dz1, "layer1.matmul": dz1,
             "layer1.b": dz1.sum(axis=1, keepdims=True), "layer1.W": dz1 @ x.T}
    return cost, values, grads


GRAPHS = [readme_lesson, cs231n_toy, lesson_2_network, lesson_3_softmax_network]


# Reading the worked lines back -------------------------------------------------------------------

def numeric(segment):
    """The value of a segment of printed arithmetic ('0.01·0.4 + 0.01·0.5', '1/(1 + e^−0.009)',
    '([0.2 0.4] − [0 1]) / 5'), or None when it holds words or labels (or '…')."""
    text = segment.strip()
    if not text or "…" in text:
        return None
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: "np.array([" + ",".join(m.group(1).split()) + "])", text)
    text = (text.replace("−", "-").replace("·", "*").replace("×", "*").replace("ln ", "np.log ")
            .replace("ln(", "np.log(").replace("tanh ", "np.tanh ").replace("max(", "max_("))
    text = re.sub(r"e\^(-?\(?[-\d.e]+\)?)", r"np.exp(\1)", text)
    text = re.sub(r"np\.log (\(?-?[\d.e-]+\)?)", r"np.log(\1)", text)
    text = re.sub(r"np\.tanh (\(?-?[\d.e-]+\)?)", r"np.tanh(\1)", text)
    if re.search(r"[A-DF-Za-df-z_]", text.replace("np.array", "").replace("np.log", "").replace("np.exp", "")
                 .replace("np.tanh", "").replace("max_", "")):
        return None
    try:
        return np.asarray(eval(text, {"np": np, "max_": np.maximum}), dtype=float)  # noqa: S307 (our own text)
    except (SyntaxError, NameError, TypeError, ValueError):
        return None


def arithmetic_checked(line):
    """Check every 'expression = number' link of a line's chain of '='; return how many."""
    parts = line.split(" = ")
    checked = 0
    for left, right in zip(parts, parts[1:]):
        right = right.split(", ")[0] if "[" not in right else right
        value, result = numeric(left.split(": ")[-1]), numeric(right.split(" (")[0])
        if value is None or result is None or value.shape != result.shape:
            continue
        terms = np.array([to_float(t) for t in re.findall(NUMBER, left.split(": ")[-1])] or [0.0])
        # Each printed number carries 4 significant digits: a sum of products may be off by
        # about 1e-3 of its largest term, never by more.
        np.testing.assert_allclose(value, result, rtol=2e-3, atol=2e-3 * np.abs(terms).max(), err_msg=line)
        checked += 1
    return checked


def subject(line, values, grads):
    """(the hand-computed value a worked line ends on, its last printed number) or None."""
    text = line.strip()
    to = text.startswith("to ")
    body = text[3:] if to else text
    table = grads if to else values
    found = re.match(r"(row|column) (\d+) of (\S+?)[:,]? ", body)
    if found and found.group(3) in table:
        array = np.asarray(table[found.group(3)])
        index = int(found.group(2))
        expected = array[index] if found.group(1) == "row" else array[:, index]
        logits = re.match(r"z = (\[[^\]]*\])", body[found.end():])
        if logits:  # a softmax's worked slice: its z, then e^z and Σ (checked as arithmetic)
            return expected, numeric(logits.group(1))
    else:
        found = re.match(r"(\S+?)(\[[\d, ]+\])?(?: \(|:| = )", body)
        if not found or found.group(1) not in table or (not to and " = " not in body):
            return None
        if to and found.group(2) is None:
            return None  # 'to z: local …': the narration's own lines, read by `equations`
        array = np.asarray(table[found.group(1)])
        index = () if found.group(2) is None else tuple(int(i) for i in found.group(2)[1:-1].split(", "))
        expected = array[index] if array.ndim else array
    last = text.rsplit(" = ", 1)[-1].split(" (")[0]
    printed = numeric(last)
    return None if printed is None else (expected, printed)


@pytest.mark.parametrize("build", GRAPHS, ids=lambda build: build.__name__)
def test_every_number_the_narration_prints_is_numpys(build):
    cost, values, grads = build()
    text = narrate(cost)
    assert len(text.splitlines()) <= 200
    assert not re.search(r"\b(mean|min|max) -?\d", text.replace("max(", ""))  # no summary, ever
    for label, value in forward_values(text).items():
        np.testing.assert_allclose(value, values[label], **PRINTED, err_msg=label)
    printed = equations(text)
    for name, value in printed.items():
        np.testing.assert_allclose(value, grads[name.split("/∂", 1)[1]], **PRINTED, err_msg=name)
    # g × 1 = g: a gradient equal to the upstream one, which the step's header names.
    unchanged = {}
    current = None
    for line in text.splitlines():
        step = re.match(r"\s*\d+\. (\S+) = .*: upstream g = ", line)
        current = step.group(1) if step else current
        same = re.match(r"\s*(?:to \S+: )?∂cost/∂(\S+) = .* = g × 1 = g$", line)
        if same:
            unchanged[same.group(1)] = current
            np.testing.assert_array_equal(grads[same.group(1)], grads[current])
    said = {name.split("/∂", 1)[1] for name in printed} | set(unchanged)
    assert said == set(grads) - {"cost"}  # every gradient said
    subjects = links = 0
    backward = False
    for line in text.splitlines():
        links += arithmetic_checked(line)
        backward = backward or line.startswith("Backward pass")
        step = re.match(r"\s*\d+\. (\S+) = ", line)
        current = step.group(1) if step else current if backward else None
        at = re.match(r"\s*at (\[[\d, ]+\]): .*g × local = (\S+) × ", line)
        if at:  # an elementwise op's worked element: g is the gradient arriving at it, there
            index = tuple(int(i) for i in at.group(1)[1:-1].split(", "))
            np.testing.assert_allclose(numeric(at.group(2)), np.asarray(grads[current])[index], **PRINTED, err_msg=line)
            subjects += 1
        found = subject(line, values, grads)
        if found:
            np.testing.assert_allclose(found[1], found[0], **PRINTED, err_msg=line)
            subjects += 1
    ops = sum(node.op is not None for node in mg.Graph(cost).nodes)
    assert subjects >= 2 * ops - 1 and links >= 2 * ops  # a worked element at every step, both passes


def test_the_worked_elements_the_issue_asks_for():
    text = narrate(cs231n_toy()[0])
    assert ("matmul₁[4, 9] = row 4 of X · column 9 of W1 = (−5.443)·0.02202 + (−3.163)·0.1493 + 4.116·0.1315 "
            "+ 10.43·(−0.06617) = −0.7407") in text
    assert "b1, a row (10), is added to each of the 5 rows" in text
    assert ("row 4 of scores: z = [−0.1391 0.348 −0.03672], e^z = [0.8701 1.416 0.9639], "
            "Σ e^z = 0.8701 + 1.416 + 0.9639 = 3.25") in text
    assert ("p = e^z / Σ = [0.2677 0.4357 0.2966]; its label is 1 (one-hot [0 1 0]), so its loss is "
            "−ln p[1] = −ln 0.4357 = 0.8308") in text
    assert "to row 4 of scores: g·(p − onehot)/m = ([0.2677 0.4357 0.2966] − [0 1 0]) / 5 = [0.05354 −0.1129 0.05932]" in text
    lesson = narrate(readme_lesson()[0])
    assert "matmul[0, 2] = row 0 of wᵀ · column 2 of x = 0.01·0.4 + 0.01·0.5 = 0.009" in lesson
    assert "b, a scalar, is added to each of the 3 columns" in lesson
    assert "cost = (sum of the 3 elements of loss) / n = (0.6977 + 0.6882 + 0.6887) / 3 = 2.074 / 3 = 0.6915" in lesson
    assert "  7. z = matmul + b\n" in lesson and " 10. cost = mean(loss)\n" in lesson
    assert "∂mean" not in lesson and "add(" not in lesson and "-" not in lesson.replace("−", "")  # one minus sign


def test_softmax_and_log_softmax_backward_define_every_symbol():
    z = mg.parameter([[0.5, -1.0], [2.0, 0.1], [-0.3, 0.4]], name="z")
    weights = mg.constant([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], name="k")
    for op in (mg.softmax, mg.log_softmax):
        out = op(z, name="p")
        text = narrate(mg.sum(out * weights))
        p = softmax(z.value, 0)
        g = weights.value  # ∂sum(out·k)/∂out
        sent = p * (g - (g * p).sum(0)) if op is mg.softmax else g - p * g.sum(0)
        line = next(l for l in text.splitlines() if l.strip().startswith("to z[2, 1]:"))
        np.testing.assert_allclose(to_float(line.rsplit(" = ", 1)[1]), sent[2, 1], **PRINTED)
        assert "with p = " in text and "and g = the gradient arriving at" in text
        assert not re.search(r"\bG[ᵢₖ]", text)  # the old undefined G: its symbols are defined on the page
        for line in text.splitlines():
            arithmetic_checked(line)


@pytest.mark.parametrize("make, expected", [
    (lambda a, b: mg.maximum(a, b), lambda a, b: np.where(a > b, 1.0, 0.0)),
    (lambda a, b: mg.reshape(a, (3, 2)) * 1.0, None),
    (lambda a, b: mg.l2_penalty([a], 0.1), None),
    (lambda a, b: mg.dropout(a, 0.5, rng=0), None),
])
def test_ops_that_showed_only_a_result_now_work_an_element_out(make, expected):
    a = mg.parameter([[0.5, -1.0, 2.0], [0.3, 0.2, -0.4]], name="a")
    b = mg.constant([[0.1, 0.0, 3.0], [1.0, -2.0, 0.0]], name="c")
    out = make(a, b)
    cost = mg.sum(out * np.arange(1.0, out.value.size + 1).reshape(out.shape))
    text = narrate(cost)
    cost.backward()
    worked = [l for l in text.splitlines() if l.strip().startswith(("to a[", "at ["))]
    assert worked, text
    assert sum(arithmetic_checked(l) for l in text.splitlines()) >= 3
    to_a = [l for l in text.splitlines() if l.strip().startswith("to a[1, 2]")]
    for line in to_a:  # the op's worked element of a's gradient is a's gradient there
        np.testing.assert_allclose(to_float(line.rsplit(" = ", 1)[1]), a.grad[1, 2], **PRINTED)
