"""conv2d, max_pool2d and flatten against loop-by-loop definitions and finite differences.

The definitions below are written out from the formulas, one output element at a time, on
purpose not vectorised and not imported from the package: they are what the ops must equal.
"""

import io
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigraph as mg
import minigraph.conv
from minigraph.conv import SHOWN_TERMS, Conv2d


def padded(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def conv_by_loops(x, w, b, stride, padding):
    xp = padded(x, padding)
    n, _, height, width = xp.shape
    filters, _, kh, kw = w.shape
    out = np.zeros((n, filters, (height - kh) // stride + 1, (width - kw) // stride + 1))
    for s in range(n):
        for f in range(filters):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    window = xp[s, :, stride * i:stride * i + kh, stride * j:stride * j + kw]
                    out[s, f, i, j] = np.sum(window * w[f]) + (0 if b is None else b[f])
    return out


def conv_gradients_by_loops(x, w, grad, stride, padding):
    """∂L/∂x, ∂L/∂w, ∂L/∂b given G = ∂L/∂out: every G[n, f, i, j] sends w·G to the window it
    read and window·G to the kernel."""
    xp = padded(x, padding)
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(w)
    _, _, kh, kw = w.shape
    for s in range(grad.shape[0]):
        for f in range(grad.shape[1]):
            for i in range(grad.shape[2]):
                for j in range(grad.shape[3]):
                    rows, cols = slice(stride * i, stride * i + kh), slice(stride * j, stride * j + kw)
                    grad_xp[s, :, rows, cols] += w[f] * grad[s, f, i, j]
                    grad_w[f] += xp[s, :, rows, cols] * grad[s, f, i, j]
    grad_x = grad_xp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return grad_x, grad_w, grad.sum(axis=(0, 2, 3))


def pool_by_loops(x, size, stride):
    n, c, height, width = x.shape
    out = np.zeros((n, c, (height - size) // stride + 1, (width - size) // stride + 1))
    grad_route = {}  # output index -> the input index of its first maximum
    for s in range(n):
        for ch in range(c):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    window = x[s, ch, stride * i:stride * i + size, stride * j:stride * j + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)  # the first maximum
                    out[s, ch, i, j] = window[p, q]
                    grad_route[(s, ch, i, j)] = (s, ch, stride * i + p, stride * j + q)
    return out, grad_route


@st.composite
def conv_cases(draw):
    """x, w, b (or None), stride, padding with the kernel fitting the padded input."""
    n, channels, filters = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    height = draw(st.integers(max(1, kh - 2 * padding), 6))
    width = draw(st.integers(max(1, kw - 2 * padding), 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, channels, height, width))
    w = rng.standard_normal((filters, channels, kh, kw))
    b = rng.standard_normal(filters) if draw(st.booleans()) else None
    return x, w, b, stride, padding


@given(conv_cases())
def test_conv2d_equals_the_loop_definition_forward_and_backward(case):
    x, w, b, stride, padding = case
    inputs = [mg.parameter(x, name="x"), mg.parameter(w, name="w")]
    if b is not None:
        inputs.append(mg.parameter(b, name="b"))
    out = mg.conv2d(*inputs[:2], inputs[2] if b is not None else None, stride=stride, padding=padding)
    expected = conv_by_loops(x, w, b, stride, padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    grad = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(grad)
    for node, want in zip(inputs, conv_gradients_by_loops(x, w, grad, stride, padding)):
        np.testing.assert_allclose(node.grad, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_a_batch_of_several_slices_equals_the_loop_definition(stride, padding, monkeypatch):
    """conv2d and max_pool2d work a slice of samples at a time: a batch of three slices of
    two and one of one must come out as if taken whole."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((7, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    windows_per_sample = 2 * 3 * 2 * Conv2d(stride, padding).output_side(6, 3) * Conv2d(stride, padding).output_side(5, 2)
    monkeypatch.setattr(minigraph.conv, "SLICE_BYTES", 2 * windows_per_sample * x.itemsize)
    assert [part.indices(7) for part in minigraph.conv.sample_slices(7, windows_per_sample * x.itemsize)] == [
        (0, 2, 1), (2, 4, 1), (4, 6, 1), (6, 7, 1)]
    inputs = [mg.parameter(x, name="x"), mg.parameter(w, name="w"), mg.parameter(b, name="b")]
    out = mg.conv2d(*inputs, stride=stride, padding=padding)
    np.testing.assert_allclose(out.value, conv_by_loops(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)
    grad = rng.standard_normal(out.shape)
    out.backward(grad)
    for node, want in zip(inputs, conv_gradients_by_loops(x, w, grad, stride, padding)):
        np.testing.assert_allclose(node.grad, want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(minigraph.conv, "SLICE_BYTES", 2 * x[0].nbytes)
    node = mg.parameter(x, name="x")
    pooled = mg.max_pool2d(node, 2, stride)
    expected, route = pool_by_loops(x, 2, stride)
    np.testing.assert_array_equal(pooled.value, expected)
    grad = rng.standard_normal(pooled.shape)
    pooled.backward(grad)
    want = np.zeros_like(x)
    for index, source in route.items():
        want[source] += grad[index]
    np.testing.assert_allclose(node.grad, want, rtol=1e-14, atol=0)  # (overlapping windows add in another order)


@given(conv_cases())
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b, stride, padding = case
    if b is None:
        mg.check_gradients(lambda x, w: mg.conv2d(x, w, stride=stride, padding=padding), x, w)
    else:
        mg.check_gradients(lambda x, w, b: mg.conv2d(x, w, b, stride=stride, padding=padding), x, w, b)


@st.composite
def pool_cases(draw):
    """x with distinct values (so each window's maximum is unique and finite differences of a
    step well below the gaps see one maximum), size and stride."""
    size, stride = draw(st.integers(1, 3)), draw(st.one_of(st.none(), st.integers(1, 3)))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    height, width = draw(st.integers(size, 7)), draw(st.integers(size, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.permutation(n * c * height * width).reshape(n, c, height, width) * 0.1 - 1.0
    return x, size, stride


@given(pool_cases())
def test_max_pool2d_equals_the_loop_definition_and_finite_differences(case):
    x, size, stride = case
    node = mg.parameter(x, name="x")
    out = mg.max_pool2d(node, size, stride)
    expected, route = pool_by_loops(x, size, size if stride is None else stride)
    np.testing.assert_array_equal(out.value, expected)
    grad = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(grad)
    want = np.zeros_like(x)
    for index, source in route.items():
        want[source] += grad[index]
    np.testing.assert_allclose(node.grad, want, rtol=1e-14, atol=0)
    mg.check_gradients(lambda x: mg.max_pool2d(x, size, stride), x)


def test_max_pool2d_sends_a_tied_windows_gradient_to_its_first_maximum_only():
    x = np.zeros((1, 1, 2, 2))  # ReLU's zeros tie often; PyTorch picks the first one too
    node = mg.parameter(x, name="x")
    mg.max_pool2d(node, 2).backward(np.array([[[[5.0]]]]))
    np.testing.assert_array_equal(node.grad[0, 0], [[5.0, 0.0], [0.0, 0.0]])


def test_max_pool2d_sends_nothing_to_the_rows_and_columns_past_its_last_window():
    x = np.arange(5 * 7, dtype=float).reshape(1, 1, 5, 7)  # 2×2 windows cover 4×6 of it
    node = mg.parameter(x, name="x")
    out = mg.max_pool2d(node, 2)
    out.backward(np.ones(out.shape))
    expected = np.zeros((5, 7))
    expected[1:4:2, 1:6:2] = 1.0  # each window's maximum is its bottom-right pixel
    np.testing.assert_array_equal(node.grad[0, 0], expected)


def test_flatten_turns_images_into_one_column_per_sample_and_back():
    x = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    node = mg.parameter(x, name="x")
    out = mg.flatten(node, name="flatten")
    np.testing.assert_array_equal(out.value[:, 1], x[1].ravel())  # column 1 is sample 1
    assert out.shape == (12, 2)
    mg.check_gradients(lambda x: mg.flatten(x), x)


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = mg.constant(rng.standard_normal((2, 1, 5, 5)), dtype=np.float32)
    w = mg.parameter(rng.standard_normal((3, 1, 3, 3)), dtype=np.float32)
    b = mg.parameter(np.zeros(3), dtype=np.float32)
    cost = mg.sum(mg.flatten(mg.max_pool2d(mg.conv2d(x, w, b, padding=1), 2)))
    cost.backward()
    assert cost.dtype == w.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize("x_shape, w_shape, b_shape, settings, error, message", [
    ((1, 1, 2, 2), (1, 1, 3, 3), None, {}, mg.ShapeError,
     r"conv2d 'z': the 3×3 kernel is larger than the input 2×2 padded by 0 \(2×2\)"),
    ((1, 1, 1, 1), (1, 1, 5, 1), None, {"padding": 1}, mg.ShapeError, r"larger than the input 1×1 padded by 1 \(3×3\)"),
    ((2, 3, 6, 6), (4, 2, 3, 3), None, {}, mg.ShapeError,
     r"conv2d 'z': x has 3 channel\(s\) .* but the kernels expect 2 .*'images' \(2, 3, 6, 6\), 'kernels' \(4, 2, 3, 3\)"),
    ((6, 6), (4, 1, 3, 3), None, {}, mg.ShapeError, r"needs x as N×C×H×W and w as F×C×KH×KW"),
    ((1, 1, 6, 6), (4, 1, 3, 3), (3,), {}, mg.ShapeError, r"one value per filter, shape \(4,\), got \(3,\)"),
    ((1, 1, 6, 6), (4, 1, 3, 3), None, {"stride": 0}, mg.DomainError, r"conv2d stride 0 'z': stride must be a whole number ≥ 1, got 0"),
    ((1, 1, 6, 6), (4, 1, 3, 3), None, {"stride": 1.5}, mg.DomainError, "stride must be a whole number ≥ 1, got 1.5"),
    ((1, 1, 6, 6), (4, 1, 3, 3), None, {"padding": -1}, mg.DomainError, "padding must be a whole number ≥ 0, got -1"),
])
def test_conv2d_refuses_what_does_not_fit_naming_the_node(x_shape, w_shape, b_shape, settings, error, message):
    x = mg.constant(np.ones(x_shape), name="images")
    w = mg.parameter(np.ones(w_shape), name="kernels")
    b = None if b_shape is None else mg.parameter(np.ones(b_shape), name="b")
    with pytest.raises(error, match=message):
        mg.conv2d(x, w, b, name="z", **settings)


@pytest.mark.parametrize("shape, size, stride, error, message", [
    ((1, 1, 2, 2), 3, None, mg.ShapeError, r"max_pool2d 3×3 'p': the 3×3 window is larger than the 2×2 input"),
    ((2, 2), 2, None, mg.ShapeError, r"needs x as N×C×H×W \(4 dimensions\), got \(2, 2\)"),
    ((1, 1, 4, 4), 0, None, mg.DomainError, "size must be a whole number ≥ 1, got 0"),
    ((1, 1, 4, 4), 2, -1, mg.DomainError, "stride must be a whole number ≥ 1, got -1"),
])
def test_max_pool2d_refuses_what_does_not_fit_naming_the_node(shape, size, stride, error, message):
    with pytest.raises(error, match=message):
        mg.max_pool2d(mg.constant(np.ones(shape), name="maps"), size, stride, name="p")


NUMBER = r"\(?([-−]?[\d.]+(?:e[-+−]\d+)?)\)?"


def last_number(line):
    return float(re.findall(NUMBER, line)[-1].replace("−", "-"))


@given(conv_cases())
def test_the_worked_elements_show_the_ops_own_numbers(case):
    """The narration's worked pixel and worked gradients, checked against the loop definitions."""
    x, w, b, stride, padding = case
    op = Conv2d(stride, padding, bias=b is not None)
    values = (x, w) if b is None else (x, w, b)
    labels = ["x", "w", "b", "z"] if b is not None else ["x", "w", "z"]
    out = conv_by_loops(x, w, b, stride, padding)
    n, f, i, j = op.worked_window(x.shape, w.shape).pixel
    lines = op.worked_forward(labels, out, *values)
    assert lines[-1].startswith(f"z[{n}, {f}, {i}, {j}] = ")
    assert last_number(lines[-1]) == pytest.approx(out[n, f, i, j], rel=1e-3, abs=1e-3)
    terms = w.shape[1] * w.shape[2] * w.shape[3]
    assert (f"({terms} terms" in lines[-2 if b is not None else -1]) == (terms > SHOWN_TERMS)

    grad = np.random.default_rng(3).standard_normal(out.shape)
    grad_x, grad_w, grad_b = conv_gradients_by_loops(x, w, grad, stride, padding)
    lines = op.worked_backward(labels, grad, out, *values)
    p, q = w.shape[2] // 2, w.shape[3] // 2
    shown_w = [line for line in lines if line.startswith(f"∂L/∂w[0, 0, {p}, {q}] = ") and "Σ" not in line]
    assert last_number(shown_w[0]) == pytest.approx(grad_w[0, 0, p, q], rel=1e-3, abs=1e-3)
    h, v = x.shape[2] // 2, x.shape[3] // 2
    shown_x = [line for line in lines if line.startswith(f"∂L/∂x[0, 0, {h}, {v}] = ") and "Σ" not in line]
    assert last_number(shown_x[0]) == pytest.approx(grad_x[0, 0, h, v], rel=1e-3, abs=1e-3)
    if b is not None:
        assert last_number(lines[-1]) == pytest.approx(grad_b[0], rel=1e-3, abs=1e-3)


def test_the_worked_pixel_lists_the_window_and_the_kernel():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = conv_by_loops(x, w, None, 1, 0)
    lines = Conv2d().worked_forward(["image", "kernel", "map"], out, x, w)
    assert lines == [
        "map[0, 0, 1, 1] = Σ over c, p, q of kernel[0, c, p, q]·image[0, c, 1+p, 1+q]",
        "map[0, 0, 1, 1] = 1·5 + 0·6 + 0·9 + (−1)·10 = −5",
    ]


@given(pool_cases())
def test_the_worked_pool_element_names_the_window_maximum(case):
    x, size, stride = case
    stride = size if stride is None else stride
    out, route = pool_by_loops(x, size, stride)
    op = mg.max_pool2d(mg.constant(x), size, stride).op
    i, j = out.shape[2] // 2, out.shape[3] // 2
    (line,) = op.worked_forward(["x", "p"], out, x)
    assert last_number(line) == pytest.approx(out[0, 0, i, j], abs=1e-3)
    (line,) = op.worked_backward(["x", "p"], np.ones_like(out), out, x)
    assert f"at x[{', '.join(map(str, route[(0, 0, i, j)]))}]" in line


@given(conv_cases())
def test_the_worked_window_is_the_pixels_the_worked_sums_read(case):
    """The cells the player marks (worked_cells) are those the worked lines sum over: the
    forward pixel from its window alone, the kernel element's gradient from the pixels it
    met, each checked against the loop definitions."""
    x, w, b, stride, padding = case
    op = Conv2d(stride, padding, bias=b is not None)
    out = conv_by_loops(x, w, b, stride, padding)
    (_, _, window), (_, _, kernel), (_, _, pixel) = op.worked_cells("forward", out.shape, x.shape, w.shape)
    n, f, i, j = pixel
    # The window's top left corner, from the definition: (stride·i − padding, stride·j − padding).
    top, left = stride * i - padding, stride * j - padding
    rows = range(max(top, 0), min(top + w.shape[2], x.shape[2]))
    columns = range(max(left, 0), min(left + w.shape[3], x.shape[3]))
    assert np.arange(x.shape[2])[window[2]].tolist() == list(rows)
    assert np.arange(x.shape[3])[window[3]].tolist() == list(columns)
    inside = w[f][:, [r - top for r in rows]][:, :, [c - left for c in columns]]
    by_window = np.sum(inside * x[window]) + (b[f] if b is not None else 0)
    assert by_window == pytest.approx(out[n, f, i, j], rel=1e-9, abs=1e-12)
    assert kernel == (f,)
    labels, values = (["x", "w", "z"], (x, w)) if b is None else (["x", "w", "b", "z"], (x, w, b))
    line = op.worked_forward(labels, out, *values)[0]
    named = re.search(r"x\[(\d+), c, (.*?), (.*?)\]", line)
    assert int(named.group(1)) == n
    for text, start in ((named.group(2), top), (named.group(3), left)):  # e.g. '31+p', 'p−1', 'p'
        number = re.fullmatch(r"(?:(\d+)\+)?[pq](?:−(\d+))?", text)
        assert int(number.group(1) or 0) - int(number.group(2) or 0) == start

    grad = np.random.default_rng(4).standard_normal(out.shape)
    _, grad_w, _ = conv_gradients_by_loops(x, w, grad, stride, padding)
    cells = op.worked_cells("backward", out.shape, x.shape, w.shape)
    (_, _, reads), (_, _, upstream), (_, _, element) = cells
    window = op.worked_window(x.shape, w.shape)
    g, inputs = window.kernel_pairs(grad, x)
    np.testing.assert_array_equal(np.sort(inputs), np.sort(x[reads].ravel()))
    assert float(np.dot(g, inputs)) == pytest.approx(grad_w[element], rel=1e-9, abs=1e-12)
    assert upstream == (slice(None), element[0])


def test_a_long_worked_sum_shows_terms_that_count_and_how_many_are_zero():
    rng = np.random.default_rng(5)
    x = rng.random((1, 2, 6, 6))
    w = rng.standard_normal((1, 2, 3, 3))
    x[0, 0] = 0.0  # the first channel is dark: its 9 terms are 0
    op = Conv2d()
    out = op.forward(x, w)
    line = op.worked_forward(["x", "w", "z"], out, x, w)[-1]
    n, f, i, j = op.worked_window(x.shape, w.shape).pixel
    zeros = int(np.sum(w[f] * x[n, :, i:i + 3, j:j + 3] == 0))
    assert f"(18 terms, {zeros} of them 0)" in line
    first = re.search(r"= (\S+)·(\S+) \+", line)
    assert float(first.group(1).strip("()").replace("−", "-")) == pytest.approx(w[0, 1, 0, 0], rel=1e-3)
    assert last_number(line) == pytest.approx(out[n, f, i, j], rel=1e-3)


def test_the_worked_pool_gradient_is_written_with_the_steps_own_symbol_g():
    # The step's head says 'upstream g = ∂cost/∂p'; the pool's worked line said
    # '∂L/∂x[…] receives G[…]', two symbols the page defines nowhere (conv2d's own lines
    # define G for themselves, the pool's did not).
    x = mg.parameter(np.arange(16.0).reshape(1, 1, 4, 4), name="x")
    cost = mg.sum(mg.max_pool2d(x, 2, name="p"), name="cost")
    out = io.StringIO()
    mg.explain(cost, file=out)
    [line] = [line for line in out.getvalue().splitlines() if "has its maximum" in line]
    assert "G[" not in line and "∂L" not in line
    assert "x[0, 0, 3, 3] receives g[0, 0, 1, 1] = 1" in line
