"""The numbers a learner reads are right: checked against maths written out here in numpy.

The narration that the README, the examples, the docs and `minigraph trace` print is read
back (every ∂cost/∂node it states, the operands of the matmul step, the forward values)
and compared with the lesson's closed form, computed independently of minigraph. Printed
numbers have 4 significant digits, hence the tolerance.
"""

import contextlib
import io
import pathlib
import re
import runpy
import sys

import numpy as np
import pytest

import minigraph as mg
from minigraph.display import format_block, format_number, side_by_side
from minigraph.models import tiny_example

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRINTED = {"rtol": 5e-4, "atol": 1e-12}  # 4 significant digits, rounded


# Reading the narration back ------------------------------------------------------------------

NUMBER = r"[-−]?(?:\d+\.?\d*|\.\d+)(?:e[-+−]?\d+)?"


def to_float(token):
    """A printed number as a float: the narration writes its minus sign as U+2212."""
    return float(token.replace("−", "-"))
EQUATION = re.compile(r"^((?:.*?: )|\s*)(∂\S+/∂\S+) = ")


def read_block(lines, row, column):
    """The number or array printed at lines[row][column:], its rows running down the lines
    below at the same column; returns (array, the column where its first line ends)."""
    text = lines[row][column:]
    if not text.startswith("["):
        token = re.match(NUMBER, text).group(0)
        return np.array(to_float(token)), column + len(token)
    depth = len(text) - len(text.lstrip("["))
    rows, end = [], None
    for below in range(row, len(lines)):
        match = re.match(r"\s*\[*([^\[\]]*)(\]+)", lines[below][column:])
        rows.append([to_float(v) for v in match.group(1).split()])
        if end is None:
            end = column + match.end()
        if len(match.group(2)) == depth:
            break
    array = np.array(rows)
    return (array[0] if depth == 1 else array), end


def equations(text):
    """{'∂cost/∂w': array, ...}: the last value each gradient is given in the text (a sum
    is stated as it grows, the last time complete), read from the last part of its equation."""
    lines = text.splitlines()
    found = {}
    for row, line in enumerate(lines):
        match = EQUATION.match(line)
        if not match or "∂" in match.group(1):
            continue
        equals = match.end(2)  # the column of ' = ' after the left-hand side
        last = row
        for below in range(row + 1, len(lines)):
            head = lines[below][:equals + 3]
            if head == " " * equals + " = ":
                last = below
            elif head.strip():
                break
        if last == row:
            start = line.rindex(" = ") + 3
        else:
            start = equals + 3
        if lines[last][start:] == "g":  # g × 1 = g: the upstream gradient, unchanged
            continue
        found[match.group(2)] = read_block(lines, last, start)[0]
    return found


def forward_values(text):
    """{'ŷ': array, ...}: the value printed for each node in the forward pass."""
    lines = text.splitlines()
    values = {}
    for row, line in enumerate(lines):
        match = re.match(r"\s*(?:\d+\. (\S+) is an? (?:parameter|constant) \([^)]*\): |out: (\S+) = )", line)
        if match:
            values[match.group(1) or match.group(2)] = read_block(lines, row, match.end())[0]
    return values


def step(text, number):
    """The lines of step `number` of a narration."""
    found = re.search(rf"(?m)^ *{number}\. .*(?:\n {{5,}}.*)*", text)
    return found.group(0).splitlines()


# The lesson, by hand --------------------------------------------------------------------------

# What each graph calls the lesson's nodes: tiny_example names them all; the README leaves
# the ops unnamed, and the narration calls them by what they are in the lesson all the same.
NAMED = {role: role for role in ("cost", "loss", "ŷ", "z", "matmul", "wᵀ", "w", "b")}
README_NAMES = STEP_THROUGH_NAMES = NAMED


def lesson_by_hand(x, y, w, b):
    """Every value and gradient of cost = mean(log_loss(σ(wᵀx + b), y)), in plain numpy,
    keyed by the lesson's names (∂cost/∂z is 'z')."""
    m = x.shape[1]
    z = w.T @ x + b
    y_hat = 1 / (1 + np.exp(-z))
    loss = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    dz = (y_hat - y) / m  # the lesson's famous simplification
    return {
        "values": {"wᵀ": w.T, "matmul": w.T @ x, "z": z, "ŷ": y_hat, "loss": loss, "cost": loss.mean()},
        "gradients": {
            "loss": np.full_like(loss, 1 / m),
            "ŷ": (y_hat - y) / (y_hat * (1 - y_hat)) / m,
            "z": dz,
            "matmul": dz,
            "b": np.mean(y_hat - y),
            "wᵀ": dz @ x.T,
            "w": x @ (y_hat - y).T / m,  # dw = x(ŷ−y)ᵀ/m
        },
    }


TINY = {
    "x": np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]]),
    "y": np.array([[0.0, 1.0, 1.0]]),
    "w": np.full((2, 1), 0.01),
    "b": 0.0,
}


def assert_lesson_narration(text, x, y, w, b, names=NAMED):
    """Every gradient and value of the lesson in `text` is the one worked out by hand."""
    expected = lesson_by_hand(x, y, w, b)
    printed = equations(text)
    cost = names["cost"]
    for role, value in expected["gradients"].items():
        name = f"∂{cost}/∂{names[role]}"
        np.testing.assert_allclose(printed[name], value, **PRINTED, err_msg=name)
    values = forward_values(text)
    for role, value in expected["values"].items():
        np.testing.assert_allclose(values[names[role]], value, **PRINTED, err_msg=role)
    return expected


def narrate(output, **options):
    text = io.StringIO()
    mg.explain(output, file=text, **options)
    return text.getvalue()


def test_the_reader_reads_what_it_should():
    lines = side_by_side("a = ", format_block(np.array([[1.5, -2.0], [3.0, 40.0]])), " @ ",
                         format_block(np.array([[0.25], [-1e-5]])), " = ", "7")
    array, end = read_block(lines, 0, 4)
    np.testing.assert_array_equal(array, [[1.5, -2.0], [3.0, 40.0]])
    np.testing.assert_array_equal(read_block(lines, 0, lines[0].index("@ ", end) + 2)[0], [[0.25], [-1e-5]])
    assert equations("    ∂cost/∂q = 1 + 2 = 3\n") == {"∂cost/∂q": 3.0}


# What trace, the tutorial and the README print -------------------------------------------------

def test_trace_numbers_are_the_lessons_closed_form():
    text = narrate(tiny_example())  # what `minigraph trace` prints, and the tutorial shows
    expected = assert_lesson_narration(text, **TINY)
    # Step 15, the key step: upstream @ xᵀ = product, each operand on the page.
    lines = step(text, 15)
    first = next(i for i, line in enumerate(lines) if " @ [[" in line)
    start = lines[first].index("= [[") + 2
    upstream, end = read_block(lines, first, start)
    x_transposed, _ = read_block(lines, first, lines[first].index("@ ", end) + 2)
    np.testing.assert_allclose(upstream, expected["gradients"]["z"], **PRINTED)
    np.testing.assert_array_equal(x_transposed, TINY["x"].T)
    np.testing.assert_allclose(upstream @ x_transposed, equations(text)["∂cost/∂wᵀ"], rtol=2e-3)
    # Step 14: b's gradient is the sum of the three terms it shows.
    (addition,) = [line for line in step(text, 14) if line.strip().startswith("∂cost/∂b = ")]
    terms = re.findall(rf"[−+]? ?{NUMBER}", addition.split(" = ")[1])
    total = sum(to_float(term.replace(" ", "")) for term in terms)
    np.testing.assert_allclose(total, expected["gradients"]["b"], rtol=1e-3)
    # Step 11: the mean sends 1/m to each loss.
    assert "∂cost/∂loss = ∂cost/∂cost / 3 each = 1 / 3 each" in "\n".join(step(text, 11))


@pytest.mark.parametrize("earlier_backward_calls", [0, 1, 2])
def test_narration_numbers_do_not_depend_on_earlier_backward_calls(earlier_backward_calls):
    cost = tiny_example()
    for _ in range(earlier_backward_calls):
        cost.backward()
    expected = assert_lesson_narration(narrate(cost), **TINY)
    w = next(p for p in mg.Graph(cost).parameters if p.name == "w")
    np.testing.assert_allclose(w.grad, expected["gradients"]["w"], rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_narration_of_random_lessons_matches_the_closed_form(seed):
    rng = np.random.default_rng(seed)
    features, samples = rng.integers(1, 3, endpoint=True), rng.integers(1, 3, endpoint=True)
    data = {"x": rng.uniform(0, 1, (features, samples)), "y": rng.integers(0, 2, (1, samples)).astype(float),
            "w": rng.uniform(-1, 1, (features, 1)), "b": float(rng.uniform(-1, 1))}
    from minigraph.models import logistic_regression_graph

    cost = logistic_regression_graph(
        mg.constant(data["x"], name="x"), mg.constant(data["y"], name="y"),
        mg.parameter(data["w"], name="w"), mg.parameter(data["b"], name="b"))
    assert_lesson_narration(narrate(cost, max_shown=9), **data)


def run_block(code, tmp_path, monkeypatch, name):
    """Run a docs code block as a reader would paste it; return what it printed."""
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, name, "exec"), {})
    return printed.getvalue()


def python_blocks(page):
    return re.findall(r"```python[^\n]*\n(.*?)```", page.read_text(), re.S)


@pytest.mark.needs_dot
def test_readme_ten_lines_print_one_pass_of_the_lessons_gradients(tmp_path, monkeypatch):
    (block,) = python_blocks(ROOT / "README.md")
    text = run_block(block, tmp_path, monkeypatch, "README.md")
    assert "cost.backward()" in block and "mg.explain(cost)" in block  # backward ran before explain
    assert_lesson_narration(text, **TINY, names=README_NAMES)
    assert "used" not in text  # no node feeds two ops here: nothing to add up


def softplus_page_by_hand():
    """docs/custom-ops.md: cost = mean(softplus(wᵀ·1)²) with w = (0.5, −1) and 1 of 2×3."""
    w, ones = np.array([[0.5], [-1.0]]), np.ones((2, 3))
    a = w.T @ ones
    s = np.logaddexp(0, a)
    sigma = 1 / (1 + np.exp(-a))
    ds = 2 * s / a.size  # ∂mean(s²)/∂s
    return {"∂mean/∂power": np.full_like(a, 1 / a.size), "∂mean/∂softplus": ds,
            "∂mean/∂matmul": ds * sigma, "∂mean/∂w": ones @ (ds * sigma).T}


DOCS_BY_HAND = {"custom-ops.md": softplus_page_by_hand}
PAGES_WITH_CODE = [page for page in sorted((ROOT / "docs").glob("*.md")) if python_blocks(page)]


@pytest.mark.needs_dot
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_docs_blocks_that_print_gradients_print_the_right_ones(page, tmp_path, monkeypatch):
    text = run_block("\n".join(python_blocks(page)), tmp_path, monkeypatch, page.name)
    if "Backward pass" not in text:
        assert page.name not in DOCS_BY_HAND, f"{page.name} no longer prints the gradients it is checked for"
        return
    assert page.name in DOCS_BY_HAND, f"{page.name} prints gradients: write them out by hand here"
    printed = equations(text)
    for name, value in DOCS_BY_HAND[page.name]().items():
        np.testing.assert_allclose(printed[name], value, **PRINTED, err_msg=name)



def test_the_fusion_example_prints_the_chain_rules_zero_and_sigma_minus_y(tmp_path, monkeypatch):
    page = ROOT / "docs" / "custom-ops.md"
    (block,) = [b for b in python_blocks(page) if "fuse=True" in b and "print" in b]
    text = run_block(block, tmp_path, monkeypatch, page.name)
    as_written, fused = (np.array(re.findall(NUMBER, line), float)
                         for line in re.findall(r"(?:as written|fused):\s*(\[\[.*?\]\])", text))
    z, y = np.array([40.0, -0.5]), np.array([0.0, 1.0])
    sigma = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(fused, sigma - y, **PRINTED)
    # As written, the chain (σ−y)/(σ(1−σ)) · σ(1−σ) where σ(40) rounds to exactly 1.
    np.testing.assert_allclose(as_written, [0.0, sigma[1] - y[1]], **PRINTED)

# The examples ---------------------------------------------------------------------------------

def run_example(name, monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", [name, *map(str, args)])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    return printed.getvalue()


@pytest.mark.needs_dot
def test_step_through_prints_the_closed_form_it_shows_by_hand(tmp_path, monkeypatch):
    text = run_example("step_through.py", monkeypatch, tmp_path)
    expected = assert_lesson_narration(text, **TINY, names=STEP_THROUGH_NAMES)
    dw = expected["gradients"]["w"].ravel()
    by_hand = re.search(rf"by hand: dw = x\(ŷ−y\)ᵀ/m = \[({NUMBER}) ({NUMBER})\], db = mean\(ŷ−y\) = ({NUMBER})", text)
    np.testing.assert_allclose([float(v) for v in by_hand.groups()],
                               [*dw, expected["gradients"]["b"]], **PRINTED)


def test_custom_op_example_prints_softplus_gradients(monkeypatch):
    text = run_example("custom_op.py", monkeypatch)
    v = np.array([[-1.0, 0.5]])
    printed = equations(text)
    np.testing.assert_allclose(printed["∂cost/∂v"], 1 / (1 + np.exp(-v)), **PRINTED)  # softplus' = σ
    np.testing.assert_allclose(printed["∂cost/∂s"], np.ones_like(v), **PRINTED)
    np.testing.assert_allclose(forward_values(text)["s"], np.logaddexp(0, v), **PRINTED)


def test_first_lesson_example_prints_the_costs_of_a_hand_written_loop(monkeypatch):
    from sklearn.model_selection import train_test_split
    from minigraph.models.datasets import load_digits_binary

    text = run_example("first_lesson.py", monkeypatch)
    X, y = load_digits_binary()
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.15, random_state=42)
    x, labels = X_train.T, (y_train == np.unique(y_train)[1]).astype(float)[np.newaxis, :]
    w, b, costs = np.full((x.shape[0], 1), 0.01), 0.0, []
    for _ in range(150):  # the lesson's loop, by hand
        y_hat = 1 / (1 + np.exp(-(w.T @ x + b)))
        costs.append(-np.mean(labels * np.log(y_hat) + (1 - labels) * np.log(1 - y_hat)))
        w, b = w - 0.01 * x @ (y_hat - labels).T / x.shape[1], b - 0.01 * np.mean(y_hat - labels)
    printed = dict(re.findall(rf"cost after iteration (\d+): ({NUMBER})", text))
    assert sorted(map(int, printed)) == [0, 50, 100]
    for iteration, cost in printed.items():
        np.testing.assert_allclose(float(cost), costs[int(iteration)], rtol=1e-6)


# How numbers are written ----------------------------------------------------------------------

def test_matrices_print_row_by_row_with_decimal_points_aligned():
    assert format_block(np.array([[-0.1821], [0.01765]])) == ["[[-0.1821 ]", " [ 0.01765]]"]
    assert format_block(np.array([[1.0, 40.0], [-3.5, 2.0]])) == ["[[ 1   40]", " [-3.5  2]]"]
    assert format_block(np.array([[0.2, 0.9, 0.4]])) == ["[[0.2 0.9 0.4]]"]
    assert format_block(np.arange(8.0).reshape(2, 2, 2), max_shown=8) == [
        "[[[0 1]", "  [2 3]]", " [[4 5]", "  [6 7]]]"]


def test_big_arrays_are_summarised_and_numbers_never_print_minus_zero():
    assert format_block(np.arange(12.0).reshape(3, 4)) == ["3×4: mean 5.5, min 0, max 11"]
    assert format_block(np.arange(12.0).reshape(3, 4), max_shown=0, shape=False) == ["mean 5.5, min 0, max 11"]
    assert format_number(-0.0) == "0" and format_number(-1.23456e-7) == "-1.235e-07"


def test_blocks_sit_side_by_side_aligned_on_their_first_line():
    assert side_by_side("A = ", ["[[1 2]", " [3 4]]"], " + ", "1") == ["A = [[1 2]  + 1", "     [3 4]]"]
    assert side_by_side("ŷ = ", ["[1]", "[2]"]) == ["ŷ = [1]", "    [2]"]  # ŷ is one column wide
