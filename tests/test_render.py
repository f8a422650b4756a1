"""Drawing: DOT text, the gradients on edges and fan-ins checked against hand-computed
numbers, scopes as clusters and collapsed boxes, copies of shared leaves, escaping, SVG
output, large graphs and a missing dot binary."""

import importlib
import json
import pathlib
import re

import numpy as np
import pytest

import minigraph as mg
from minigraph.models import tiny_example
from minigraph.show.player import player_data
from minigraph.show.dot import pipe
from minigraph.show.scene import MAX_DRAWN

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
X = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
Y = np.array([[0.0, 1.0, 1.0]])


def numbers(text):
    return np.array([float(v) for v in re.findall(NUMBER, text)])


def edge_rows(dot, tail, head):
    """The text rows of every tail -> head edge label in DOT text, one list per edge."""
    found = re.findall(rf"^\s*{tail} -> {head} \[label=<(.*?)> id=e\d+\]$", dot, re.M)
    found = [re.sub(r"<BR/>\xa0+", " ", re.sub(r"</?FONT[^>]*>", "", label)).replace("\xa0", " ") for label in found]
    return [re.findall(r"<TD[^>]*>(.*?)</TD>", label) for label in found]


def node_rows(dot, node_id):
    """A box's rows; a matrix printed one row a line (its spaces unbreakable, in a
    fixed-width face) reads as one line, as format_array writes it."""
    label = re.search(rf"^\s*{node_id} \[label=<(.*?)> ", dot, re.M).group(1)
    label = re.sub(r"<BR/>\xa0+", " ", re.sub(r"</?FONT[^>]*>", "", label)).replace("\xa0", " ")
    label = label.replace("<BR/>", "\n")
    return re.findall(r"<TD[^>]*>(?:<B>)?([^<]*?)(?:</B>)?</TD>", label)


def lesson_by_hand():
    """The tiny example's gradients, with numpy and the textbook formulas."""
    w, b, m = np.full((2, 1), 0.01), 0.0, X.shape[1]
    p = 1 / (1 + np.exp(-(w.T @ X + b)))
    dz = (p - Y) / m
    return {"loss": np.full((1, 3), 1 / m), "ŷ": dz / (p * (1 - p)), "z": dz, "matmul": dz,
            "b": dz.sum(), "wᵀ": dz @ X.T, "w": X @ dz.T}


def test_dot_text_has_every_node_edge_and_label():
    cost = tiny_example()
    cost.backward()
    dot = mg.to_dot(cost, rankdir="LR")
    assert "rankdir=LR" in dot
    for name in ["w", "wᵀ", "x", "b", "z", "ŷ", "y", "loss", "cost", "matmul"]:
        assert f"<B>{name}</B>" in dot
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == 10
    assert len(re.findall(r"^\s*n\d+ -> n\d+", dot, re.M)) == 9
    assert edge_rows(dot, "n4", "n5")[0][0] == "1st · 1×2"  # wᵀ (built 5th) is matmul's first argument
    assert edge_rows(dot, "n0", "n5") == [["2nd · 2×3"]]  # x, a constant: no gradient goes back
    value, grad = node_rows(dot, "n2")[2:]  # w, a column: one element a line
    assert value == "value [[0.01] [0.01]]" and grad.startswith("grad [[")
    np.testing.assert_allclose(numbers(grad), lesson_by_hand()["w"].ravel(), rtol=1e-3)
    assert node_rows(dot, "n9")[2:] == ["value 0.6915", "grad 1"]
    # parameters, constants and ops look different
    assert 'fillcolor="#fff2cc"' in dot and 'fillcolor="#eeeeee"' in dot and 'fillcolor="#dbe9f6"' in dot


def test_each_edge_shows_the_gradient_it_sends_back():
    cost = tiny_example()
    cost.backward()
    dot = mg.to_dot(cost)
    expected = lesson_by_hand()
    ids = {"w": "n2", "b": "n3", "wᵀ": "n4", "matmul": "n5", "z": "n6", "ŷ": "n7", "loss": "n8", "cost": "n9"}
    heads = {"w": "wᵀ", "wᵀ": "matmul", "matmul": "z", "b": "z", "z": "ŷ", "ŷ": "loss", "loss": "cost"}
    for tail, head in heads.items():
        (rows,) = edge_rows(dot, ids[tail], ids[head])
        assert rows[1].startswith("grad "), (tail, rows)
        np.testing.assert_allclose(numbers(rows[1]), np.ravel(expected[tail]), rtol=1e-3, err_msg=tail)


def test_a_node_used_twice_draws_two_edges_and_shows_the_sum_arriving():
    x = mg.parameter(3.0, name="x")
    square = x * x
    square.backward()
    dot = mg.to_dot(square)
    assert [rows[0] for rows in edge_rows(dot, "n0", "n1")] == ["1st · scalar", "2nd · scalar"]
    assert [rows[1] for rows in edge_rows(dot, "n0", "n1")] == ["grad 3", "grad 3"]  # ∂(a·b)/∂a = b = 3
    assert node_rows(dot, "n0")[3] == "grad 3 + 3 = 6"  # d(x²)/dx = 2x


def test_an_array_fan_in_is_written_one_term_a_line():
    w = mg.parameter([[1.0, -2.0]], name="w")
    x = mg.constant([[3.0], [0.5]], name="x")
    cost = mg.sum(w @ x) + mg.sum(w * w)
    cost.backward()
    # d/dw of Σw² is w twice (each side of the product), of w@x it is xᵀ = [3 0.5]: in the
    # order backward sends them, from the last-built op back
    assert node_rows(mg.to_dot(cost), "n0")[3] == "grad [[1 -2]]\n+ [[1 -2]]\n+ [[3 0.5]]\n= [[5 -3.5]]"


def test_gradients_appear_only_after_backward():
    cost = tiny_example()
    assert "grad" not in mg.to_dot(cost)
    cost.backward()
    assert "grad" in mg.to_dot(cost)


def test_accumulated_gradients_say_what_this_pass_sent():
    x = mg.parameter(3.0, name="x")
    square = x * x
    square.backward()
    square.backward(accumulate=True)
    assert node_rows(mg.to_dot(square), "n0")[3] == "grad 12 (this pass sent 6, added to earlier ones)"


def test_small_arrays_print_in_full_and_big_ones_are_drawn_with_their_range(tmp_path):
    small = mg.parameter(np.arange(64.0).reshape(8, 8) / 7, name="small")
    big = mg.parameter(np.linspace(-1, 3, 100).reshape(100, 1), name="big")
    cost = mg.sum(small) + mg.sum(big)
    cost.backward()
    dot = mg.to_dot(cost)
    np.testing.assert_allclose(numbers(node_rows(dot, "n0")[2]), small.value.ravel(), rtol=1e-3)
    value, grad = node_rows(dot, "n1")[2:]
    assert value == "value\nfrom -1\nto 3" and grad == "grad\nall 1"  # drawn: no mean, no sum
    (picture,) = re.findall(r'n1 \[label=<.*?<IMG SRC="([^"]+)"', dot)[:1]
    assert pathlib.Path(picture).read_bytes().startswith(b"\x89PNG")
    assert "mean" not in dot
    column = mg.parameter(np.linspace(0, 1, 16).reshape(16, 1), name="column")  # 16 lines: too tall
    assert node_rows(mg.to_dot(mg.sum(column)), "n0")[2] == "value\nfrom 0\nto 1"


def test_a_fan_in_of_big_arrays_is_never_written_as_a_sum_of_summaries():
    w = mg.parameter(np.linspace(-1, 1, 20).reshape(5, 4), name="W")
    cost = mg.sum(w * w) + mg.sum(w)
    cost.backward()
    grad = node_rows(mg.to_dot(cost), "n0")[3]
    assert "+" not in grad and "=" not in grad and "mean" not in grad
    np.testing.assert_allclose(numbers(grad.split("\n")[0]), (2 * w.value + 1).ravel(), rtol=1e-3)
    assert grad.endswith("the sum of 3 contributions")


def two_layers():
    """tanh then sigmoid, each layer a scope with a nested 'linear' scope, and the values
    and gradients of h and ŷ computed by hand."""
    rng = np.random.default_rng(1)
    W1, W2 = rng.normal(size=(3, 2)), rng.normal(size=(1, 3))
    with mg.scope("layer1"):
        with mg.scope("linear"):
            z1 = mg.add(mg.parameter(W1, name="W") @ mg.constant(X, name="x"), mg.parameter(np.zeros((3, 1)), name="b"), name="z")
        h = mg.tanh(z1, name="h")
    with mg.scope("layer2"):
        with mg.scope("linear"):
            z2 = mg.add(mg.parameter(W2, name="W") @ h, mg.parameter(0.0, name="b"), name="z")
        p = mg.sigmoid(z2, name="ŷ")
    cost = mg.mean(mg.log_loss(p, mg.constant(Y, name="y")), name="cost")
    cost.backward()
    h_value = np.tanh(W1 @ X)
    p_value = 1 / (1 + np.exp(-(W2 @ h_value)))
    dz2 = (p_value - Y) / 3
    return cost, {"h": h_value, "dh": W2.T @ dz2, "p": p_value, "dp": dz2 / (p_value * (1 - p_value))}


def test_scopes_are_nested_clusters_labelled_with_what_leaves_them():
    cost, _ = two_layers()
    dot = mg.to_dot(cost)
    labels = re.findall(r"subgraph (cluster_c\d+) \{\s*graph \[.*?label=<(.*?)>", dot, re.S)
    assert [label for _, label in labels] == [
        "layer1 · out 3×3", "linear · out 3×3", "layer2 · out 1×3", "linear · out 1×3"]
    # linear (cluster_c1) is nested in layer1 (cluster_c0): it sits between layer1's braces
    layer1 = dot.index("subgraph cluster_c0 {")
    inner = dot.index("subgraph cluster_c1 {")
    assert layer1 < inner < dot.index("}", dot.index("<B>layer1.linear.z</B>"))
    assert "<B>layer1.linear.W</B>" in dot and "<B>layer2.ŷ</B>" in dot


@pytest.mark.needs_dot
def test_graphviz_nests_the_clusters():
    cost, _ = two_layers()
    layout = json.loads(pipe(mg.draw(cost), "json"))
    clusters = {obj["id"]: obj for obj in layout["objects"] if obj.get("name", "").startswith("cluster")}
    assert set(clusters) == {"c0", "c1", "c2", "c3"}
    assert clusters["c1"]["_gvid"] in clusters["c0"]["subgraphs"]
    assert clusters["c3"]["_gvid"] in clusters["c2"]["subgraphs"]


def test_a_collapsed_scope_is_one_box_with_its_output_value_and_gradient():
    cost, by_hand = two_layers()
    dot = mg.to_dot(cost, collapse={"layer1"}, max_shown=9)
    title, detail, value, grad = node_rows(dot, "s0")
    assert (title, detail) == ("layer1", "scope · 6 nodes · out 3×3")  # W, x, b, matmul, z, h
    np.testing.assert_allclose(numbers(value), by_hand["h"].ravel(), rtol=1e-3)
    np.testing.assert_allclose(numbers(grad), by_hand["dh"].ravel(), rtol=1e-3)
    assert "layer1.h" not in dot and "cluster_c" in dot  # layer2's clusters stay open
    (rows,) = edge_rows(dot, "s0", r"n\d+")  # the box sends h on to layer2's matmul
    np.testing.assert_allclose(numbers(rows[1]), by_hand["dh"].ravel(), rtol=1e-3)


def test_collapse_takes_scope_paths_as_labels_write_them():
    cost, _ = two_layers()
    dotted = mg.to_dot(cost, collapse=["layer1.linear", "layer2"])
    assert dotted == mg.to_dot(cost, collapse=[("layer1", "linear"), ("layer2",)])
    boxes = re.findall(r"<B>([^<]+)</B>", dotted)
    assert "layer1.linear" in boxes and "layer2" in boxes and "layer1.h" in boxes
    assert not {"layer1.linear.z", "layer1.linear.W", "layer2.ŷ"} & set(boxes)  # folded into their scopes
    steps = player_data(cost, collapse="layer1.linear")
    assert "layer1.linear" in [box["title"] for box in steps["boxes"]]


def test_depth_collapses_what_is_nested_deeper():
    cost, by_hand = two_layers()
    one_level = mg.to_dot(cost, depth=1)
    assert re.findall(r"<B>(layer\d\.linear)</B>", one_level) == ["layer1.linear", "layer2.linear"]
    assert "<B>layer1.h</B>" in one_level and "layer1 · out 3×3" in one_level
    none_open = mg.to_dot(cost, depth=0)
    assert "cluster" not in none_open
    title, detail, value, grad = node_rows(none_open, "s1")
    assert title == "layer2" and detail == "scope · 5 nodes · out 1×3"
    np.testing.assert_allclose(numbers(grad), by_hand["dp"].ravel(), rtol=1e-3)


def test_collapse_and_depth_refuse_what_does_not_fit():
    cost, _ = two_layers()
    with pytest.raises(ValueError, match=r"no scope 'layer3'; its scopes are: layer1, layer1.linear, layer2, "
                                         r"layer2.linear$"):
        mg.to_dot(cost, collapse={"layer3"})
    with pytest.raises(ValueError, match=r"no scope 'layer1/linear' \(nested scopes are written with dots, "
                                         r"as drawings show them: 'layer1.linear'\)"):
        mg.to_dot(cost, collapse="layer1/linear")
    with pytest.raises(ValueError, match=r"no scope 'layer1.h' \('layer1.h' is a node; collapse takes the scopes"):
        mg.to_dot(cost, collapse="layer1.h")
    with pytest.raises(TypeError, match="name scopes as strings such as 'layer1' or 'layer1.linear', got 3"):
        mg.to_dot(cost, collapse=[3])
    with pytest.raises(ValueError, match="depth must be a whole number ≥ 0"):
        mg.to_dot(cost, depth=-1)
    with pytest.raises(ValueError, match="rankdir must be 'LR'.*'TB'.*got 'XY'"):
        mg.to_dot(cost, rankdir="XY")


@pytest.mark.needs_dot
def test_rankdir_turns_the_picture(tmp_path):
    cost = tiny_example()

    def size(rankdir):
        svg = mg.render(cost, tmp_path / f"{rankdir}.svg", rankdir=rankdir).read_text()
        width, height = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', svg).groups()
        return int(width), int(height)

    assert "rankdir=TB" in mg.to_dot(cost, rankdir="TB")
    wide, tall = size("LR"), size("TB")
    assert wide[0] > wide[1] and tall[1] > tall[0]


def shared_weight_chain(layers):
    """h ← tanh(w·h + xₜ): one weight feeds every layer. Returns the cost and, by hand, the
    gradient each layer sends to w, first layer first."""
    rng = np.random.default_rng(2)
    xs = rng.uniform(-1, 1, size=(layers, 1, 3))
    w = mg.parameter(0.5, name="w")
    h = mg.constant(np.zeros((1, 3)), name="h0")
    for x in xs:
        h = mg.tanh(w * h + x, name="h")
    cost = mg.sum(h, name="cost")
    cost.backward()
    hs = [np.zeros((1, 3))]
    for x in xs:
        hs.append(np.tanh(0.5 * hs[-1] + x))
    sent, dh = [], np.ones((1, 3))
    for t in reversed(range(layers)):
        da = dh * (1 - hs[t + 1] ** 2)
        sent.append(float(np.sum(da * hs[t])))
        dh = da * 0.5
    return cost, sent[::-1]


def test_a_leaf_used_many_times_is_drawn_once_per_use():
    cost, sent = shared_weight_chain(20)
    dot = mg.to_dot(cost)
    assert len(re.findall(r"^\s*n0 -> ", dot, re.M)) == 1  # the real w feeds the first layer only
    ghosts = re.findall(r"^\s*(n0g\d+) -> (n\d+) \[label=<(.*?)>", dot, re.M)
    assert len(ghosts) == 19
    assert all("<B>w</B></TD></TR><TR><TD><FONT POINT-SIZE=\"9\" COLOR=\"#555555\">same as w<" in
               re.search(rf"^\s*{ghost} \[label=<(.*?)> ", dot, re.M).group(1) for ghost, _, _ in ghosts)
    on_edges = [numbers(edge_rows(dot, "n0", r"n\d+")[0][1])[0]]
    on_edges += [numbers(edge_rows(dot, ghost, head)[0][1])[0] for ghost, head, _ in ghosts]
    np.testing.assert_allclose(on_edges, sent, rtol=1e-3)
    assert node_rows(dot, "n0")[3].startswith("grad Σ of 20 contributions = ")
    np.testing.assert_allclose(numbers(node_rows(dot, "n0")[3])[1:], [sum(sent)], rtol=1e-3)


def test_ghost_after_sets_how_many_uses_stay_edges():
    cost, _ = shared_weight_chain(5)
    assert "same as w" not in mg.to_dot(cost, ghost_after=5)
    assert mg.to_dot(cost, ghost_after=1).count("same as w") == 4


AWKWARD = 'a "quoted" <b> {c|d} back\\slash & \nnew line'


def test_awkward_names_are_escaped_in_dot():
    node = mg.parameter(1.0, name=AWKWARD) * 2.0
    dot = mg.to_dot(node)
    assert "a &quot;quoted&quot; &lt;b&gt; {c|d} back\\slash &amp; <BR/>new line" in dot


def test_awkward_scope_names_are_escaped_in_cluster_labels():
    with mg.scope('<b>"&'):
        node = mg.parameter(1.0, name="p") * 2.0
    assert "label=<&lt;b&gt;&quot;&amp; · out scalar>" in mg.to_dot(node)


@pytest.mark.needs_dot
def test_awkward_names_render_to_svg(tmp_path):
    node = mg.parameter(1.0, name=AWKWARD) * 2.0
    svg = mg.render(node, tmp_path / "awkward.svg").read_text()
    assert "a &quot;quoted&quot; &lt;b&gt; {c|d} back\\slash &amp;" in svg
    assert ">new line<" in svg


@pytest.mark.needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    path = mg.render(tiny_example(), tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_needs_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="give it a suffix"):
        mg.render(tiny_example(), tmp_path / "graph")


@pytest.mark.needs_dot
def test_five_thousand_node_graph_draws_its_last_nodes_and_a_note(tmp_path):
    node = mg.parameter(np.ones(2), name="x")
    for _ in range(2500):
        node = mg.tanh(node) * 0.5
    dot = mg.to_dot(node)
    assert len(mg.Graph(node)) > 5000
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == MAX_DRAWN
    assert re.search(r"hidden \[label=<<TABLE.*?<B>\d+ earlier nodes not drawn</B>", dot)
    svg = mg.render(node, tmp_path / "big.svg").read_text()
    assert "earlier nodes not drawn" in svg


def test_missing_dot_gives_an_install_hint_and_to_dot_still_works(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere on it
    cost = tiny_example()
    assert "digraph" in mg.to_dot(cost) and "rankdir=TB" in mg.to_dot(cost)  # no size to read: down the page
    with pytest.raises(mg.DotNotFoundError, match="apt-get install graphviz"):
        mg.render(cost, tmp_path / "graph.svg")


@pytest.mark.needs_dot
def test_graph_shows_inline_in_jupyter():
    bundle = mg.Graph(tiny_example())._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


CONTROL = "w\x00\x07\x1b[31m\u202eevil"


@pytest.mark.needs_dot
def test_names_with_control_characters_render_and_step_with_visible_escapes(tmp_path):
    w = mg.parameter([1.0, 2.0], name=CONTROL)
    cost = mg.sum(w * w, name="cost\x00")
    svg = mg.render(cost, tmp_path / "control.svg").read_text()
    assert "w\\x00\\x07\\x1b[31m\\u202eevil" in svg and "\x00" not in svg and "\u202e" not in svg
    page = mg.save_steps_html(cost, tmp_path / "control.html", title="t\x00{{frames}}").read_text()
    assert "\x00" not in page and "\u202e" not in page
    assert "<title>t\\x00{{frames}}</title>" in page  # the title stays text, filled in one pass


# Fitting the page ------------------------------------------------------------------------

def natural_size(svg):
    """(width, height, smallest font) of an SVG from Graphviz, in CSS pixels (4/3 a point)."""
    width, height = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', svg).groups()
    fonts = [float(size) for size in re.findall(r'font-size="([\d.]+)"', svg)]
    return int(width) * 4 / 3, int(height) * 4 / 3, min(fonts) * 4 / 3


def mlp_on_images(samples=6, sizes=(4096, 100, 10)):
    """Lesson 3's network on a batch of 64×64 images (random pixels), its layers in scopes."""
    from minigraph.layers import mlp
    from minigraph.models import mlp_cost

    rng = np.random.default_rng(0)
    X = mg.constant(rng.uniform(0, 1, size=(sizes[0], samples)), name="X")
    y = mg.constant(rng.integers(0, sizes[-1], size=samples).astype(float), name="y")
    cost = mlp_cost(mlp(list(sizes), rng=0), X, y)
    cost.backward()
    return cost


def two_layers_on_images(samples=410, hidden=4):
    """Lesson 2's network on 64×64 images (random pixels), as `minigraph demo --model
    two-layer` trains it on the Sign Language zeros and ones: 4096 → `hidden` tanh → 1."""
    from minigraph.layers import Linear
    from minigraph.models import two_layer_network_graph

    rng = np.random.default_rng(0)
    X = mg.constant(rng.uniform(0, 1, size=(4096, samples)), name="X")
    Y = mg.constant(rng.integers(0, 2, size=(1, samples)).astype(float), name="Y")
    layers = Linear(4096, hidden, init="course", rng=rng, name="layer1"), Linear(hidden, 1, init="course", rng=rng, name="layer2")
    cost = two_layer_network_graph(X, Y, *layers)
    cost.backward()
    return cost


@pytest.mark.needs_dot
@pytest.mark.parametrize("graph, options, column", [
    ("lesson", {}, 700),                                   # the README's picture in the docs column
    ("two layers", {"width": 1300}, 1300),                 # lesson 2's network in a window
    ("mlp", {"width": 1300, "depth": 0}, 1300),            # lesson 3's MLP, its layers as blocks
    ("mlp on images", {"width": 1300, "depth": 0}, 1300),  # the same on 64×64 images, 4096→100→10
    ("two layers on images", {"width": 1300}, 1300),       # lesson 2's network on 64×64 images, every node
    ("mlp", {"width": 615}, 615),                          # lesson 3's MLP, every node, in a docs column
])
def test_drawings_fit_where_they_are_shown_at_natural_size_with_readable_text(graph, options, column, tmp_path):
    from minigraph.models import tiny_mlp_example, tiny_two_layer_example

    cost = {"lesson": tiny_example, "two layers": tiny_two_layer_example, "mlp": tiny_mlp_example,
            "mlp on images": mlp_on_images, "two layers on images": two_layers_on_images}[graph]()
    if cost.grad is None:
        cost.backward()
    width, height, font = natural_size(mg.render(cost, tmp_path / "graph.svg", **options).read_text())
    assert width <= column and font >= 10, (width, height, font)
    wide, _, _ = natural_size(mg.render(cost, tmp_path / "wide.svg", rankdir="LR", **options).read_text())
    assert wide > column  # left to right would not have fitted: the direction was chosen


@pytest.mark.needs_dot
def test_a_drawing_that_fits_left_to_right_stays_left_to_right():
    x = mg.parameter(2.0, name="x")
    assert "rankdir=LR" in mg.to_dot(mg.tanh(x * 3.0))
    assert "rankdir=TB" in mg.to_dot(mg.tanh(x * 3.0), rankdir="TB")  # asked for: kept


def test_a_chain_too_long_for_the_width_is_turned_without_a_trial_layout(monkeypatch):
    fitting = importlib.import_module("minigraph.show.fitting")  # where the trial layout runs

    node = mg.parameter(1.0, name="x")
    for _ in range(30):
        node = mg.tanh(node)
    monkeypatch.setattr(fitting, "pipe", lambda *args: pytest.fail("laid out to choose"))
    assert "rankdir=TB" in mg.to_dot(node)


@pytest.mark.needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "BT"])
def test_top_to_bottom_scopes_come_one_below_the_other_and_leaves_below_their_inputs(rankdir, tmp_path):
    from minigraph.models import tiny_two_layer_example

    svg = mg.render(tiny_two_layer_example(), tmp_path / "graph.svg", rankdir=rankdir).read_text()

    def rows(group_id):  # the vertical extent of a drawn cluster or box
        group = re.search(rf'<g id="{group_id}" class="(?:cluster|node)">.*?</g>', svg, re.S).group(0)
        ys = [float(y) for y in re.findall(r"(?:[ M,C])-?[\d.]+,(-?[\d.]+)", group)]
        return min(ys), max(ys)

    layer1, layer2 = sorted([rows("c0"), rows("c1")])
    assert layer1[1] < layer2[0]  # no rank where both scopes are open: they are not side by side
    dot = mg.to_dot(tiny_two_layer_example(), rankdir=rankdir)
    ids = {label: node_id for node_id, label in re.findall(r"^\s*(n\d+) \[label=<<TABLE[^>]*><TR><TD><B>([^<]+)</B>", dot, re.M)}
    # layer2.W comes below layer1.a (which it multiplies), two ranks down: a scope begins there
    assert re.search(rf"^\s*{ids['layer1.a']} -> {ids['layer2.W']} \[id=order\d+ minlen=2 style=invis\]", dot, re.M)
    top, bottom = rows(ids["layer1.a"]), rows(ids["layer2.W"])
    assert (top[1] < bottom[0]) if rankdir == "TB" else (bottom[1] < top[0])


@pytest.mark.needs_dot
def test_top_to_bottom_many_leaves_of_one_box_stand_in_rows(monkeypatch):
    dot = importlib.import_module("minigraph.show.dot")

    xs = [mg.constant(float(i), name=f"x{i}") for i in range(12)]
    with mg.scope("layer"):  # a block with twelve scalar inputs, as micrograd's layers have
        w = mg.parameter(0.5, name="w")
        total = w * xs[0]
        for x in xs[1:]:
            total = total + w * x
    output = mg.tanh(total)

    def drawn():
        svg = pipe(mg.draw(output, collapse="layer", rankdir="TB"), "svg").decode()
        rows = {}
        for y, name in re.findall(r'<text[^>]*y="(-?[\d.]+)"[^>]*>(x\d+)</text>', svg):
            rows.setdefault(float(y), []).append(name)
        return sorted(len(row) for row in rows.values()), natural_size(svg)[0]

    rows, width = drawn()
    assert rows == [dot.LEAVES_PER_ROW] * (12 // dot.LEAVES_PER_ROW)
    monkeypatch.setattr(dot, "LEAVES_PER_ROW", 12)
    one_row, wider = drawn()
    assert one_row == [12] and width < 0.7 * wider  # 1,128 px against 1,773


@pytest.mark.parametrize("change", ["assign", "optimizer"])
def test_a_leaf_changed_after_the_pass_is_refused_not_drawn_beside_old_results(change):
    # w.value = … (even of another shape) and render drew the new w beside wᵀ, z and the cost
    # computed from the old one, silently; backward refuses such a graph, and so does draw.
    x = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]], name="x")
    w = mg.parameter(np.full((2, 1), 0.01), name="w")
    cost = mg.mean(mg.sigmoid(w.T @ x), name="cost")
    cost.backward()
    if change == "assign":
        w.value = np.full((3, 1), 5.0)
    else:
        mg.SGD([w], learning_rate=0.1).step()
    with pytest.raises(mg.StaleGraphError, match=r"draw: transpose '[^']+' was computed from an earlier value of 'w'"):
        mg.to_dot(cost)
    if change == "optimizer":
        mg.Graph(cost).forward()  # replayed: fresh again, and drawn
        assert "cost" in mg.to_dot(cost)
