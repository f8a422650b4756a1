"""The HTML step player: its data checked against hand-computed numbers, its page, and how
it behaves in a real headless Chromium on the lesson and on a two-layer network."""

import base64
import contextlib
import hashlib
import json
import re

import numpy as np
import pytest

import minigraph as mg
import minigraph.show.player_layout
from minigraph.display import printable
from minigraph.models import tiny_example
from minigraph.show.player import player_data
from minigraph.testing import scalar_mlp

pytestmark = pytest.mark.needs_dot

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
X = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
Y = np.array([[0.0, 1.0, 1.0]])


def numbers(text):
    return np.array([float(v) for v in re.findall(NUMBER, text)])


def lesson_sends_by_hand():
    """What each edge of the tiny example carries back, by tail's label: numpy and the
    textbook formulas."""
    w, m = np.full((2, 1), 0.01), X.shape[1]
    p = 1 / (1 + np.exp(-(w.T @ X)))
    dz = (p - Y) / m
    return {"loss": np.full((1, 3), 1 / m), "ŷ": dz / (p * (1 - p)), "z": dz, "matmul": dz,
            "b": dz.sum(), "wᵀ": dz @ X.T, "w": X @ dz.T}


def two_layer_net():
    """A 31-node network: a tanh layer and a sigmoid layer (each with a nested 'linear'
    scope), a hand-written cross-entropy in 'loss' and weight decay in 'decay', so that W
    (matmul and decay), ŷ and y each feed two ops. Returns the cost and, computed by hand,
    what the edge from layer1.h into layer2's matmul carries back, and layer1.W's gradient."""
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(0, 0.5, size=(2, 2)), rng.normal(0, 0.5, size=(1, 2))
    x, y = mg.constant(X, name="x"), mg.constant(Y, name="y")
    with mg.scope("layer1"):
        with mg.scope("linear"):
            w1 = mg.parameter(W1, name="W")
            z1 = mg.add(w1 @ x, mg.parameter(np.zeros((2, 1)), name="b"), name="z")
        h = mg.tanh(z1, name="h")
    with mg.scope("layer2"):
        with mg.scope("linear"):
            w2 = mg.parameter(W2, name="W")
            z2 = mg.add(w2 @ h, mg.parameter(0.0, name="b"), name="z")
        p = mg.sigmoid(z2, name="ŷ")
    with mg.scope("loss"):
        loss = -mg.mean(y * mg.log(p) + (1 - y) * mg.log(1 - p), name="bce")
    with mg.scope("decay"):
        decay = 0.01 * (mg.sum(w1 * w1) + mg.sum(w2 * w2))
    cost = mg.add(loss, decay, name="cost")

    h_value = np.tanh(W1 @ X)
    p_value = 1 / (1 + np.exp(-(W2 @ h_value)))
    dz2 = (p_value - Y) / 3
    dh = W2.T @ dz2
    dW1 = (dh * (1 - h_value ** 2)) @ X.T + 0.02 * W1
    return cost, {"dh": dh, "dW1": dW1}


def text_at(timeline, frame):
    text = None
    for at, value in timeline:
        if at <= frame:
            text = value
    return text


def test_frames_walk_forward_then_backward_then_done():
    cost = tiny_example()
    graph = mg.Graph(cost)
    data = player_data(cost)
    order = [f"n{i}" for i in range(len(graph.nodes))]
    assert [f["box"] for f in data["frames"] if f["phase"] == "forward"] == order
    assert [f["box"] for f in data["frames"] if f["phase"] == "backward"] == [
        f"n{i}" for i, node in reversed(list(enumerate(graph.nodes))) if node.op is not None]
    assert data["frames"][-1]["phase"] == "done"
    assert "∂cost/∂w = [[−0.1821 ]\n                [ 0.01765]]" in data["frames"][-1]["text"]
    assert data["runs"] == []  # no scopes: every step is one node


def test_edge_gradients_appear_in_the_backward_frame_that_sends_them():
    cost = tiny_example()
    data = player_data(cost)
    titles = {box["id"]: box["title"] for box in data["boxes"]}
    sending = {f["box"]: i for i, f in enumerate(data["frames"]) if f["phase"] == "backward"}
    expected = lesson_sends_by_hand()
    checked = 0
    for edge in data["edges"]:
        tail = titles[edge["tail"]]
        if tail in ("x", "y"):
            assert edge["grads"] == []  # constants get no gradient
            continue
        ((at, text),) = edge["grads"]
        assert at == sending[edge["head"]]  # known from the step of the op that sends it
        assert text_at(edge["grads"], at - 1) is None
        np.testing.assert_allclose(numbers(text), np.ravel(expected[tail]), rtol=1e-3, err_msg=tail)
        checked += 1
    assert checked == 7


def test_a_fan_in_says_how_many_contributions_have_arrived():
    x = mg.parameter(2.0, name="x")
    data = player_data(mg.add(x * 3.0, x, name="total"))  # d/dx (3x + x) = 3 + 1
    (box,) = [b for b in data["boxes"] if b["title"] == "x"]
    steps = {f["box"]: i for i, f in enumerate(data["frames"]) if f["phase"] == "backward"}
    titles = {b["title"]: b["id"] for b in data["boxes"]}
    assert box["grads"] == [[steps[titles["total"]], "grad 1 so far (1 of 2 contributions)"],
                            [steps[titles["mul"]], "grad 1 + 3 = 4"]]
    square = player_data(x * x)  # frames: x, mul forward, then mul backward sends both at once
    assert [b["grads"] for b in square["boxes"] if b["title"] == "x"] == [[[2, "grad 2 + 2 = 4"]]]


def test_the_graph_is_laid_out_once(monkeypatch):
    runs = []
    real = minigraph.show.player_layout.pipe
    monkeypatch.setattr(minigraph.show.player_layout, "pipe", lambda dot, fmt: runs.append(fmt) or real(dot, fmt))
    cost, _ = two_layer_net()
    data = player_data(cost)
    assert runs == ["json"] and len(data["frames"]) > 40


def test_scopes_step_as_one_run_per_pass():
    cost, _ = two_layer_net()
    data = player_data(cost)
    labels = {c["id"]: c["label"] for c in data["clusters"]}
    runs = [(r["scope"], data["frames"][r["start"]]["phase"], labels.get(r["mark"])) for r in data["runs"]]
    assert runs == [
        ("layer1", "forward", "layer1 · out 2×3"), ("layer2", "forward", "layer2 · out 1×3"),
        ("loss", "forward", "loss · out scalar"), ("decay", "forward", "decay · out scalar"),
        ("decay", "backward", "decay · out scalar"), ("loss", "backward", "loss · out scalar"),
        ("layer2", "backward", "layer2 · out 1×3"), ("layer1", "backward", "layer1 · out 2×3"),
    ]
    for number, run in enumerate(data["runs"]):
        assert {f["run"] for f in data["frames"][run["start"]:run["end"] + 1]} == {number}
    layer2_back = data["runs"][6]["text"]
    assert layer2_back.startswith("layer2: backward through its 3 ops")
    assert "to layer1.h: " in layer2_back and "to layer2.linear.W: " in layer2_back
    # Each member is named without numbers (a first line would cut a matrix after its first
    # row); what leaves the scope is printed whole, a row a line, as a node's own step prints it.
    layer1_forward = data["runs"][0]["text"].splitlines()
    assert layer1_forward[1:6] == ["    layer1.linear.W is a parameter (2×2)", "    layer1.linear.matmul = layer1.linear.W @ x",
                                   "    layer1.linear.b is a parameter (2×1)",
                                   "    layer1.linear.z = layer1.linear.matmul + layer1.linear.b",
                                   "    layer1.h = tanh(layer1.linear.z)"]
    h = next(node for node in mg.Graph(cost).nodes if mg.Graph(cost).label(node) == "layer1.h")
    assert layer1_forward[6] == "layer1 passes on:" and len(layer1_forward) == 9
    printed = [float(n.replace("−", "-")) for n in re.findall(r"[−\d.]+\d", " ".join(layer1_forward[7:]).split("=", 1)[1])]
    np.testing.assert_allclose(printed, h.value.ravel(), rtol=1e-3)


def chain(layers, scoped):
    h = mg.constant(np.zeros((1, 2)), name="h0")
    w = mg.parameter(0.5, name="w")
    for t in range(layers):
        with mg.scope(f"step{t}") if scoped else contextlib.nullcontext():
            h = mg.tanh(w * h + mg.constant(np.full((1, 2), 0.1 * t), name="x"), name="h")
    return mg.sum(h, name="cost")


def test_a_graph_with_too_many_boxes_collapses_its_scopes_then_draws_bands_of_depth():
    scoped = player_data(chain(30, scoped=True), max_boxes=50)  # 123 nodes, 30 scopes
    kinds = [box["kind"] for box in scoped["boxes"]]
    assert kinds.count("scope") == 30 and "every scope is drawn as one box" in scoped["note"]
    assert len(scoped["runs"]) == 60 and all(f["box"].startswith(("s", "n")) for f in scoped["frames"][:-1])
    flat = player_data(chain(30, scoped=False), max_boxes=50)
    assert "band of depth" in flat["note"] and 'mg.scope("layer1")' in flat["note"]  # and how to do better
    boxes = {box["id"]: box for box in flat["boxes"]}
    assert all(box["kind"] == "scope" and box["title"].startswith("depth ") for box in boxes.values())
    assert all(frame["box"] in boxes for frame in flat["frames"][:-1])  # every step marks its band


@pytest.mark.parametrize("scoped", [False, True])
def test_a_two_thousand_node_network_stays_usable(scoped):
    cost = scalar_mlp((3, 12, 12, 1), samples=4, scoped=scoped)
    graph = mg.Graph(cost)
    assert len(graph.nodes) > 1800
    data = player_data(cost)
    window = 1300  # px
    assert data["width"] * data["scale"] <= 4 * window  # the drawing: at most four windows wide
    assert all(box["w"] * data["scale"] <= window for box in data["boxes"])  # each box: one
    # every parameter is reachable: a step of its own, marking a box that is drawn, saying its value
    drawn = {box["id"] for box in data["boxes"]}
    labels = {graph.label(p) for p in graph.parameters}
    said = {}
    for frame in data["frames"]:
        for label in labels:
            if frame["text"].startswith(f"{label} is a parameter") and frame["box"] in drawn:
                said[label] = frame
    assert set(said) == labels and len(labels) == 217
    assert ("band of depth" in data["note"]) != scoped


def test_page_is_self_contained_and_its_policy_allows_only_its_own_script_and_style(tmp_path):
    text = mg.save_steps_html(tiny_example(), tmp_path / "backprop.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "unsafe-inline" not in policy and policy.startswith("default-src 'none'")
    script = re.search(r"<script>(.*?)</script>", text, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    digest = lambda s: base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()  # noqa: E731
    assert f"script-src 'sha256-{digest(script)}'" in policy and f"style-src 'sha256-{digest(style)}'" in policy
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<link" not in text and "@import" not in text
    assert not re.search(r"\son\w+\s*=", re.sub(r"<script.*?</script>", "", text, flags=re.S))  # no handlers


def test_a_collapsed_scope_is_one_box_whose_nodes_step_on_it():
    cost, by_hand = two_layer_net()
    data = player_data(cost, collapse="layer1")
    (box,) = [b for b in data["boxes"] if b["kind"] == "scope"]
    assert box["title"] == "layer1" and "layer1.h" not in {b["title"] for b in data["boxes"]}
    inside = [f for f in data["frames"] if f["box"] == box["id"]]
    assert [f["phase"] for f in inside] == ["forward"] * 5 + ["backward"] * 3  # W, b, matmul, z, h
    assert data["runs"][0]["mark"] == box["id"]
    np.testing.assert_allclose(numbers(box["grads"][-1][1]), by_hand["dh"].ravel(), rtol=1e-3)


def test_every_line_of_a_name_has_a_place_even_an_empty_one():
    w = mg.parameter([1.0, 2.0], name="a\n\nb")
    (box,) = [b for b in player_data(mg.sum(w * w))["boxes"] if b["kind"] == "parameter"]
    assert [len(row) for row in box["rows"]] == [3, 1, 1, 3]  # grad: a\n+ b\n= sum
    assert all(box["y"] < y < box["y"] + box["h"] for row in box["rows"] for _, y in row)


def test_rankdir_reaches_the_layout_and_by_default_the_drawing_fits_the_width():
    wide, tall = player_data(tiny_example(), rankdir="LR"), player_data(tiny_example(), rankdir="TB")
    assert wide["width"] > wide["height"] and tall["height"] > tall["width"]
    for width in (700, 5000):  # a docs column: turned; a very wide window: left to right
        fitted = player_data(tiny_example(), width=width)
        assert fitted["width"] == (tall if width == 700 else wide)["width"]
        assert fitted["width"] * fitted["scale"] <= width


# In the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson_page(tmp_path_factory):
    cost = tiny_example()
    return mg.save_steps_html(cost, tmp_path_factory.mktemp("player") / "lesson.html"), mg.Graph(cost)


@pytest.fixture(scope="module")
def network_page(tmp_path_factory):
    cost, by_hand = two_layer_net()
    return mg.save_steps_html(cost, tmp_path_factory.mktemp("player") / "network.html"), by_hand


# Every step from the first, scopes opened as they come: where each box is drawn (relative to the
# drawing), what the edges and boxes say, and what is marked.
WALK = """
const root = document.getElementById("player"), svg = root.querySelector("svg");
const next = root.querySelector(".next"), open = root.querySelector(".open");
const previous = root.querySelector(".previous");
while (!previous.disabled) previous.click();
const seen = [];
for (let guard = 0; guard < 1000; guard++) {
  if (!open.disabled && open.textContent.startsWith("Open")) open.click();
  const origin = svg.getBoundingClientRect();
  const boxes = {}, edges = {};
  for (const g of svg.querySelectorAll("g.box")) {
    const r = g.getBoundingClientRect();
    boxes[g.dataset.id] = [r.x - origin.x, r.y - origin.y, r.width, r.height].map((v) => Math.round(v * 100) / 100);
  }
  for (const g of svg.querySelectorAll("g.edge")) {
    edges[g.dataset.id] = Array.from(g.querySelectorAll("text.grad")).map((t) => t.textContent).filter((t) => t).join("\\n");
  }
  seen.push({step: root.dataset.step, frame: Number(root.dataset.frame), phase: root.dataset.phase,
             active: root.dataset.activeNode, boxes: boxes, edges: edges,
             marked: Array.from(svg.querySelectorAll(".active")).map((g) => g.dataset.id)});
  if (next.disabled) break;
  next.click();
}
return seen;
"""


def console_errors(browser):
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_lesson_in_a_real_browser(lesson_page, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path, graph = lesson_page
    order = [f"n{i}" for i in range(len(graph.nodes))]
    browser.get(path.as_uri())
    root = browser.find_element(By.ID, "player")
    body = browser.find_element(By.TAG_NAME, "body")
    assert root.get_attribute("data-active-node") == order[0]
    assert browser.find_element(By.CSS_SELECTOR, ".counter").text == "Step 1 of 17"
    assert "active" in browser.find_element(By.CSS_SELECTOR, f'g.box[data-id="{order[0]}"]').get_attribute("class")

    browser.find_element(By.CSS_SELECTOR, ".next").click()
    assert root.get_attribute("data-active-node") == order[1]
    body.send_keys(Keys.ARROW_RIGHT)
    assert root.get_attribute("data-active-node") == order[2]
    body.send_keys(Keys.ARROW_LEFT)
    assert root.get_attribute("data-active-node") == order[1]
    assert browser.find_element(By.CSS_SELECTOR, ".explanation").text.startswith(f"{graph.nodes[1].label} is a constant")
    browser.find_element(By.CSS_SELECTOR, ".previous").click()
    assert not browser.find_element(By.CSS_SELECTOR, ".previous").is_enabled()

    steps = browser.execute_script(WALK)
    assert len(steps) == 17 and steps[-1]["phase"] == "done"
    assert all(step["boxes"] == steps[0]["boxes"] for step in steps)  # nothing moves
    assert all(step["edges"] == steps[0]["edges"] for step in steps if step["phase"] == "forward")
    titles = {box.get_attribute("data-id"): box.find_element(By.CSS_SELECTOR, "text.title").text
              for box in browser.find_elements(By.CSS_SELECTOR, "g.box")}
    tails = {edge["id"]: titles[edge["tail"]] for edge in embedded_data(path)["edges"]}
    expected = lesson_sends_by_hand()
    for step in steps[10:]:  # the backward steps and the summary
        for edge_id, text in step["edges"].items():
            if text:
                np.testing.assert_allclose(numbers(text), np.ravel(expected[tails[edge_id]]), rtol=1e-3)
    shown = [sum(bool(text) for text in step["edges"].values()) for step in steps]
    # none going forward, then each op's edges as it sends (x and y, constants, get none)
    assert shown[:10] == [0] * 10 and shown[10:] == [1, 2, 3, 5, 6, 7, 7]
    ŷ_step = next(s for s in steps if s["phase"] == "backward" and titles[s["active"]] == "ŷ")
    assert set(ŷ_step["marked"]) == {ŷ_step["active"], next(e for e, t in tails.items() if t == "z")}

    body.send_keys(Keys.END)  # the last frame: every parameter's gradient is shown
    assert root.get_attribute("data-phase") == "done"
    assert not browser.find_element(By.CSS_SELECTOR, ".next").is_enabled()
    w_box = browser.find_element(By.CSS_SELECTOR, 'g.box[data-id="n2"]').get_attribute("textContent")
    grad = w_box[w_box.index("grad"):]  # a column, one element a line
    np.testing.assert_allclose(numbers(grad), lesson_sends_by_hand()["w"].ravel(), rtol=1e-3)
    assert "∂cost/∂w = [[−0.1821 ]\n                [ 0.01765]]" in browser.find_element(By.CSS_SELECTOR, ".explanation").text

    assert console_errors(browser) == []
    sent = [json.loads(entry["message"])["message"]["params"] for entry in browser.get_log("performance")
            if '"Network.requestWillBeSent"' in entry["message"]]
    # Chromium's own pages make chrome:// requests; the page asks only for itself, and nothing
    # anywhere goes to the network.
    assert [r["request"]["url"] for r in sent if r.get("documentURL") == path.as_uri()] == [path.as_uri()]
    assert not [r["request"]["url"] for r in sent if re.match(r"(https?|wss?)://", r["request"]["url"])]


def embedded_data(path):
    text = path.read_text()
    return json.loads(re.search(r'<script id="minigraph-data" type="application/json">(.*?)</script>', text, re.S).group(1))


def test_zoom_and_pan(lesson_page, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path, _ = lesson_page
    browser.get(path.as_uri())
    width = lambda: browser.execute_script(  # noqa: E731
        "return document.querySelector('g.box[data-id=n5] rect').getBoundingClientRect().width")
    natural = width()
    browser.find_element(By.CSS_SELECTOR, ".zoom-in").click()
    assert width() == pytest.approx(natural * 1.25, rel=1e-3)
    assert browser.find_element(By.CSS_SELECTOR, ".zoom-reset").text == "125%"
    browser.find_element(By.TAG_NAME, "body").send_keys("-")
    assert width() == pytest.approx(natural, rel=1e-3)
    browser.find_element(By.TAG_NAME, "body").send_keys("+", "+")
    assert width() == pytest.approx(natural * 1.25 ** 2, rel=1e-3)
    browser.find_element(By.TAG_NAME, "body").send_keys("0")
    assert width() == pytest.approx(natural, rel=1e-3)
    browser.execute_script("""
      const picture = document.querySelector('.picture'), r = picture.getBoundingClientRect();
      picture.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, ctrlKey: true, bubbles: true,
                                                     cancelable: true, clientX: r.x + 50, clientY: r.y + 50}));""")
    assert width() == pytest.approx(natural * 1.25, rel=1e-3)
    browser.find_element(By.TAG_NAME, "body").send_keys(*"+" * 6)  # 4 times: wider than the window, it pans
    picture = browser.find_element(By.CSS_SELECTOR, ".picture")
    before = browser.execute_script("arguments[0].scrollLeft = 0; return arguments[0].scrollLeft", picture)
    ActionChains(browser).move_to_element(picture).click_and_hold().move_by_offset(-200, 0).release().perform()
    assert browser.execute_script("return arguments[0].scrollLeft", picture) == pytest.approx(before + 200, abs=2)
    assert console_errors(browser) == []


def test_two_layer_network_in_a_real_browser(network_page, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path, by_hand = network_page
    data = embedded_data(path)
    browser.get(path.as_uri())
    root = browser.find_element(By.ID, "player")
    body = browser.find_element(By.TAG_NAME, "body")
    assert len(data["boxes"]) == 31 and len(data["clusters"]) == 6

    # A scope is one step, marked as its cluster; ↓ opens it into its nodes, ↑ closes it.
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)  # past x and y
    layer1 = next(c["id"] for c in data["clusters"] if c["label"].startswith("layer1"))
    assert root.get_attribute("data-active-node") == layer1
    assert "active" in browser.find_element(By.CSS_SELECTOR, f'g.cluster[data-id="{layer1}"]').get_attribute("class")
    assert browser.find_element(By.CSS_SELECTOR, ".explanation").text.startswith("layer1: forward through its 5 nodes")
    closed = len(data["frames"]) - sum(run["end"] - run["start"] for run in data["runs"])
    assert browser.find_element(By.CSS_SELECTOR, ".counter").text == f"Step 3 of {closed}"
    assert browser.find_element(By.CSS_SELECTOR, ".open").text == "Open layer1 (5 steps)"
    body.send_keys(Keys.ARROW_DOWN)
    assert browser.find_element(By.CSS_SELECTOR, ".counter").text == f"Step 3 of {closed + 4}"
    first = data["frames"][data["runs"][0]["start"]]
    assert root.get_attribute("data-active-node") == first["box"]
    body.send_keys(Keys.ARROW_UP)
    assert root.get_attribute("data-active-node") == layer1

    steps = browser.execute_script(WALK)  # every scope opened: one step per node
    assert len(steps) == len(data["frames"])
    assert all(step["boxes"] == steps[0]["boxes"] for step in steps)  # nothing moves
    titles = {box["id"]: box["title"] for box in data["boxes"]}
    (h_edge,) = [e["id"] for e in data["edges"] if titles[e["tail"]] == "layer1.h"]
    carrying = [step for step in steps if step["edges"][h_edge]]
    assert carrying and carrying[0]["phase"] == "backward"
    assert titles[carrying[0]["active"]] == "layer2.linear.matmul"  # the op that sends it
    np.testing.assert_allclose(numbers(carrying[0]["edges"][h_edge]), by_hand["dh"].ravel(), rtol=1e-3)
    body.send_keys(Keys.END)
    w1 = browser.find_element(By.XPATH, "//*[name()='g'][*[name()='text' and text()='layer1.linear.W']]")
    grad = [t.text for t in w1.find_elements(By.CSS_SELECTOR, "text.grad") if t.text]
    assert grad[0].startswith("grad [[") and grad[-1].startswith("= ")  # three contributions add up
    np.testing.assert_allclose(numbers(grad[-1]), by_hand["dW1"].ravel(), rtol=1e-3)
    assert console_errors(browser) == []


HOSTILE = '</script><img src=x onerror="window.hacked=1">{{data}}{{title}}\x00\x07\u202e'


def test_hostile_titles_and_names_stay_text(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with mg.scope('<img src=y onerror="window[\'hacked\']=2">'):
        w = mg.parameter([1.0, 2.0], name=HOSTILE)
    cost = mg.sum(w * w, name="<script>window.hacked=3</script>")
    path = mg.save_steps_html(cost, tmp_path / "hostile.html", title=HOSTILE)
    text = path.read_text()
    assert "\x00" not in text and "<img" not in text and text.count("<script") == 2
    browser.get(path.as_uri())
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)  # every text is filled in
    assert browser.execute_script("return window.hacked === undefined")
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == printable(HOSTILE).strip()
    assert browser.title == printable(HOSTILE).strip()
    titles = [t.get_attribute("textContent") for t in browser.find_elements(By.CSS_SELECTOR, "text.title")]
    assert '<img src=y onerror="window[\'hacked\']=2">.' + printable(HOSTILE) in titles
    assert console_errors(browser) == []


def layers_made_first():
    """Lesson 2's network as its demo builds it: both Linear layers (their parameters) made
    before the graph, so each scope's leaves come long before its ops in the graph's order."""
    from minigraph.layers import Linear
    from minigraph.models import two_layer_network_graph

    rng = np.random.default_rng(1)
    layer1, layer2 = Linear(2, 3, rng=rng, name="layer1"), Linear(3, 1, rng=rng, name="layer2")
    return two_layer_network_graph(mg.constant(X, name="X"), mg.constant(Y, name="Y"), layer1, layer2)


# At every step: is the active box or scope inside the visible part of the picture, how big
# (CSS px) is the smallest text in it, and, inside an active scope, which boxes still say "value ?".
LOOK = """
const root = document.getElementById("player"), svg = root.querySelector("svg");
const picture = root.querySelector(".picture"), next = root.querySelector(".next");
const px = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // CSS px per unit
const seen = [];
for (let guard = 0; guard < 1000; guard++) {
  const active = svg.querySelector(".box.active, .cluster.active"), view = picture.getBoundingClientRect();
  if (active === null) break;  // the closing summary marks nothing
  const r = active.getBoundingClientRect();
  const inside = r.left >= view.left - 1 && r.top >= view.top - 1 &&
    Math.min(r.right, r.left + picture.clientWidth) <= view.left + picture.clientWidth + 1 &&
    Math.min(r.bottom, r.top + picture.clientHeight) <= view.top + picture.clientHeight + 1;
  const fonts = Array.from(active.querySelectorAll("text")).filter((t) => t.textContent)
    .map((t) => parseFloat(getComputedStyle(t).fontSize) * px);
  let pending = [];
  if (active.classList.contains("cluster")) {
    const c = active.querySelector("rect").getBoundingClientRect();
    pending = Array.from(svg.querySelectorAll("g.box")).filter((g) => {
      const b = g.querySelector("rect").getBoundingClientRect();
      return b.left >= c.left && b.right <= c.right && b.top >= c.top && b.bottom <= c.bottom &&
        Array.from(g.querySelectorAll("text.value")).some((t) => t.textContent === "value ?");
    }).map((g) => g.querySelector("text.title").textContent);
  }
  seen.push({step: Number(root.dataset.step), phase: root.dataset.phase, scope: active.classList.contains("cluster"),
             inside: inside, font: Math.min(...fonts), pending: pending});
  if (next.disabled) break;
  next.click();
}
return seen;
"""


@pytest.mark.parametrize("window", [(700, 900), (1300, 900)])
def test_every_step_shows_its_node_in_view_readable_and_scopes_complete(window, tmp_path, browser):
    path = mg.save_steps_html(layers_made_first(), tmp_path / "network.html")
    browser.set_window_size(*window)
    try:
        browser.get(path.as_uri())
        steps = browser.execute_script(LOOK)
        browser.save_screenshot(str(tmp_path / "player.png"))
    finally:
        browser.set_window_size(1400, 900)
    assert (tmp_path / "player.png").read_bytes().startswith(b"\x89PNG")
    scope_steps = [s for s in steps if s["scope"] and s["phase"] == "forward"]
    assert len(scope_steps) == 2  # layer1 and layer2, each one step while closed
    assert all(s["pending"] == [] for s in scope_steps), scope_steps  # every value inside is known
    assert all(s["inside"] for s in steps), [s for s in steps if not s["inside"]]
    assert all(s["font"] >= 10 for s in steps), min(s["font"] for s in steps)


def test_a_scope_run_never_stops_at_leaves_made_before_its_ops():
    data = player_data(layers_made_first())
    graph = mg.Graph(layers_made_first())
    for run in data["runs"]:
        members = [f for f in data["frames"][run["start"]:run["end"] + 1]]
        assert any(f["box"] for f in members)
        if data["frames"][run["start"]]["phase"] == "forward":
            # every box the run's scope draws has its value by the run's last frame
            inside = [b for b in data["boxes"] if b["title"].startswith(run["scope"]) and b["valueAt"] is not None]
            assert inside and all(b["valueAt"] <= run["end"] for b in inside), run["scope"]
    assert len(graph.nodes) == len(data["frames"]) - len([f for f in data["frames"] if f["phase"] != "forward"])


OPEN_INSIDE = """
const root = document.getElementById("player"), svg = root.querySelector("svg");
const next = root.querySelector(".next"), open = root.querySelector(".open");
const picture = root.querySelector(".picture");
while (open.disabled) next.click();  // the first step of a scope drawn as one box
const closed = {inside: svg.querySelectorAll("g.inside:not([display])").length};
open.click();
const seen = [];
while (true) {
  const shown = svg.querySelector("g.inside:not([display])");
  const active = shown ? shown.querySelector("g.box.active") : null;
  const view = picture.getBoundingClientRect(), r = active ? active.getBoundingClientRect() : null;
  seen.push({frame: Number(root.dataset.frame), title: active ? active.querySelector("text.title").textContent : null,
             value: active ? Array.from(active.querySelectorAll("text.value")).map((t) => t.textContent).join(" ") : null,
             inside: r !== null && r.left >= view.left - 1 && r.right <= view.left + picture.clientWidth + 1 &&
                     r.top >= view.top - 1 && r.bottom <= view.top + picture.clientHeight + 1,
             boxes: shown ? shown.querySelectorAll("g.box").length : 0});
  if (!open.textContent.startsWith("Close")) break;
  next.click();
}
return {closed: closed, seen: seen};
"""


def test_opening_a_scope_drawn_as_one_box_draws_its_inside_in_place(tmp_path, browser):
    cost, _ = two_layer_net()
    graph = mg.Graph(cost)
    path = mg.save_steps_html(cost, tmp_path / "collapsed.html", depth=0)
    browser.get(path.as_uri())
    result = browser.execute_script(OPEN_INSIDE)
    assert result["closed"]["inside"] == 0  # nothing drawn over the box until it is opened
    inside = [s for s in result["seen"] if s["title"] is not None]
    assert len(inside) >= 2 and all(s["boxes"] >= 3 for s in inside)
    frames = mg.forward_steps(cost)
    labels = [graph.label(step.node) for step in frames]
    own = 0
    for step in inside:  # each step marks its node, or the scope nested inside that holds it, in view
        label = labels[step["frame"]]
        assert step["title"] in (label, label.split(".")[1]) and step["inside"]
        if step["title"] == label:  # the node itself: its value is there from its own step
            own += 1
            assert "value ?" not in step["value"]
    assert own >= 1
    assert console_errors(browser) == []



# Every step, scopes opened as they come: how many times the SVG element's own attributes
# (its viewBox and size) were set, on the steps that show or hide a scope's inside and on the
# rest; then on zooming in.
SVG_SETS = """
const root = document.getElementById("player"), svg = root.querySelector("svg");
const next = root.querySelector(".next"), open = root.querySelector(".open");
const observer = new MutationObserver(() => {});
observer.observe(svg, {attributes: true});
const shown = () => svg.querySelector(".inside:not([display])");
const counts = {moving: 0, other: 0};
function count(button) {
  const before = shown();
  button.click();
  counts[shown() !== before ? "moving" : "other"] += observer.takeRecords().length;
}
while (!next.disabled) {
  if (!open.disabled && open.textContent.startsWith("Open")) count(open);
  count(next);
}
root.querySelector(".zoom-in").click();  // which does set the SVG's size: the observer sees it
counts.zoom = observer.takeRecords().length;
return counts;
"""


def test_a_step_sets_the_drawings_size_only_when_a_scopes_inside_comes_or_goes(tmp_path, browser):
    """Setting the SVG's viewBox or size, even to the same values, makes the browser lay the
    whole drawing out again: 40 ms a step on a 2,000-node graph, when it was done every step."""
    cost, _ = two_layer_net()
    browser.get(mg.save_steps_html(cost, tmp_path / "collapsed.html", depth=0).as_uri())
    counts = browser.execute_script(SVG_SETS)
    assert counts["zoom"] > 0 and counts["other"] == 0


# A conv step ----------------------------------------------------------------------------------

def conv_by_loops(x, w, b, stride, padding):
    """conv2d's definition, one output pixel at a time (as tests/test_conv.py writes it)."""
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    rows, columns = ((side - k) // stride + 1 for side, k in zip(padded.shape[2:], (kh, kw)))
    out = np.zeros((x.shape[0], w.shape[0], rows, columns))
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(rows):
                for j in range(columns):
                    window = padded[n, :, stride * i:stride * i + kh, stride * j:stride * j + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def element_at(value, place, fraction_x, fraction_y):
    """The index of the element of `value` drawn at (fraction_x, fraction_y) of its picture."""
    from minigraph.show import heatmap

    drawn = heatmap.picture(value)
    width, height = drawn.size
    x, y = fraction_x * width, fraction_y * height
    flat = value.reshape(-1, *value.shape[-2:]) if value.shape[1] == 1 else None
    for number, (tile, left, top) in enumerate(drawn.places()):
        if left <= x < left + tile.shape[1] * drawn.scale and top <= y < top + tile.shape[0] * drawn.scale:
            row, column = int((y - top) // drawn.scale), int((x - left) // drawn.scale)
            assert flat is not None or value.shape[1] <= 8  # the grids drawn here: one channel, or a row per sample
            sample, channel = (number, 0) if flat is not None else divmod(number, value.shape[1])
            return sample, channel, row, column
    raise AssertionError(f"nothing is drawn at {place}")


def step_to(browser, frame):
    """Press Next in the page's player until it shows frame number `frame`."""
    browser.execute_script("""
      const root = document.getElementById("player"), next = root.querySelector(".next");
      while (Number(root.dataset.frame) < arguments[0]) next.click();""", frame)


def window_marks(browser, selector):
    """The marked rectangles `selector` finds: [box id, left, top, right, bottom] each, as
    fractions of the picture they are drawn on."""
    return browser.execute_script("""
      return Array.from(document.querySelectorAll(arguments[0])).map((r) => {
        const image = r.parentNode.querySelector("image");
        const [x, y, w, h] = ["x", "y", "width", "height"].map((a) => Number(image.getAttribute(a)));
        const [rx, ry, rw, rh] = ["x", "y", "width", "height"].map((a) => Number(r.getAttribute(a)));
        return [r.parentNode.dataset.id, (rx - x) / w, (ry - y) / h, (rx + rw - x) / w, (ry + rh - y) / h];
      });""", selector)


def test_a_conv_step_marks_the_window_its_worked_line_sums(tmp_path, browser):
    """On h = conv2d(x, w, b, stride 2, padding 1), the rectangle on x's picture covers the
    pixels the worked line names, whose sum with the kernel (numpy) is the output pixel
    marked on h's picture; and the explanation draws h instead of printing its corners."""
    from selenium.webdriver.common.by import By

    rng = np.random.default_rng(0)
    images, kernels, bias = rng.random((2, 1, 12, 12)), rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3)
    kernels[0] = np.abs(kernels[0])  # filter 0, the worked one, is alive: relu lets it through
    x = mg.constant(images, name="x")
    h = mg.conv2d(x, mg.parameter(kernels, name="w"), mg.parameter(bias, name="b"), stride=2, padding=1, name="h")
    path = mg.save_steps_html(mg.mean(mg.relu(h)), tmp_path / "conv.html")
    data = embedded_data(path)
    titles = {box["id"]: box["title"] for box in data["boxes"]}
    ids = {title: box_id for box_id, title in titles.items()}
    target = next(i for i, f in enumerate(data["frames"]) if f["phase"] == "forward" and titles.get(f["box"]) == "h")
    browser.get(path.as_uri())
    step_to(browser, target)
    marks = window_marks(browser, "rect.window")
    by_box = {box: corners for box, *corners in marks}
    assert set(by_box) == {ids["x"], ids["w"], ids["h"]}
    assert browser.execute_script("""
      const view = document.querySelector(".picture").getBoundingClientRect();
      return Array.from(document.querySelectorAll("rect.window")).every((r) => {
        const box = r.getBoundingClientRect();
        return box.left >= view.left && box.right <= view.right && box.top >= view.top && box.bottom <= view.bottom;
      });""")  # the window, the kernel and the output pixel are all in view

    out = conv_by_loops(images, kernels, bias, 2, 1)
    tiny = 1e-3  # the last element is the one just inside the right and bottom edges (fractions have 5 digits)
    left, top, right, bottom = by_box[ids["x"]]
    first = element_at(images, "x's window", left + tiny, top + tiny)
    last = element_at(images, "x's window", right - tiny, bottom - tiny)
    text = browser.find_element(By.CSS_SELECTOR, ".explanation").text
    named = re.search(r"x\[(\d+), c, (\d+)\+p, (\d+)\+q\]", text)
    n, row, column = (int(v) for v in named.groups())
    assert first == (n, 0, row, column)  # the window starts where the worked line says
    assert last == (n, 0, min(row + 2, 11), min(column + 2, 11))  # and ends 3×3 later, inside the image
    left, top, right, bottom = by_box[ids["w"]]  # the kernel the sum uses: filter 0, whole
    assert element_at(kernels, "w's filter", left + tiny, top + tiny) == (0, 0, 0, 0)
    assert element_at(kernels, "w's filter", right - tiny, bottom - tiny) == (0, 0, 2, 2)
    pixel = element_at(out, "h's pixel", by_box[ids["h"]][0] + tiny, by_box[ids["h"]][1] + tiny)
    assert pixel[:1] == (n,) and pixel[1] == 0
    assert pixel[2:] == ((row + 1) // 2, (column + 1) // 2)  # stride 2, padding 1: row = 2·i − 1
    by_numpy = np.sum(images[n, :, first[2]:last[2] + 1, first[3]:last[3] + 1]
                      * kernels[0, :, first[2] - row:last[2] - row + 1, first[3] - column:last[3] - column + 1]) + bias[0]
    assert by_numpy == pytest.approx(out[pixel[0], 0, pixel[2], pixel[3]], rel=1e-12)
    shown = re.search(rf"h\[{n}, 0, {pixel[2]}, {pixel[3]}\] = \S+ \+ \S+ = (\S+)", text).group(1)
    assert float(shown.replace("−", "-")) == pytest.approx(by_numpy, rel=1e-3)

    # The output is drawn in the explanation, its range beside it; no corners, no summary.
    assert browser.find_elements(By.CSS_SELECTOR, ".explanation .array img")
    assert "…" not in text and "mean" not in text
    low, high = text.split("out: h (2×3×6×6):")[1].split("from ")[1].split(" to ")
    assert float(low.replace("−", "-")) == pytest.approx(out.min(), rel=1e-3)
    assert float(high.split()[0].replace("−", "-")) == pytest.approx(out.max(), rel=1e-3)

    # Backward: kernel element w[0, 0, 1, 1] met x at rows and columns 2·i + 1 − 1 of every
    # sample; the rectangles cover those pixels, and G·x over them (numpy) is its gradient.
    target = next(i for i, f in enumerate(data["frames"]) if f["phase"] == "backward" and titles.get(f["box"]) == "h")
    step_to(browser, target)
    marks = window_marks(browser, "rect.window[data-row=value]")
    covered = [(element_at(images, "x", left + tiny, top + tiny), element_at(images, "x", right - tiny, bottom - tiny))
               for box, left, top, right, bottom in marks if box == ids["x"]]
    assert covered == [((n, 0, 0, 0), (n, 0, 10, 10)) for n in range(2)]
    G = (out > 0) / out.size  # ∂mean(relu(h))/∂h
    by_numpy = np.sum(G[:, 0] * images[:, 0, 0:11:2, 0:11:2])
    text = browser.find_element(By.CSS_SELECTOR, ".explanation").text
    shown = re.search(r"∂L/∂w\[0, 0, 1, 1\] = .* terms.* = (\S+)\n", text).group(1)
    assert by_numpy != 0
    assert float(shown.replace("−", "-")) == pytest.approx(by_numpy, rel=1e-3)
    assert console_errors(browser) == []
