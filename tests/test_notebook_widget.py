"""The notebook step player (minigraph.show.notebook): its Python side, and its front end in
headless Chromium without Jupyter.

The browser tests load the widget's own ES module (`StepPlayer._esm`, as anywidget does:
imported from a blob: URL) into a small harness page with a fake anywidget model
(get/set/save_changes/on/off), call its `render` into two elements sharing that model, and
drive it. What they cannot cover: a real Jupyter front end (JupyterLab's widget manager,
the kernel's comm messages, JupyterLab's keyboard shortcuts); the notebook test
(tests/test_notebooks.py) checks that the kernel side displays the widget.
"""

import base64
import hashlib
import re
import subprocess
import sys

import numpy as np
import pytest

import minigraph as mg
from minigraph.models import tiny_example
from minigraph.show.player import asset, player_data, script_json

anywidget = pytest.importorskip("anywidget")
from minigraph.show.notebook import StepPlayer, show_steps  # noqa: E402  (after the skip)

pytestmark = pytest.mark.needs_dot  # the player lays its graph out with dot

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
X = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
Y = np.array([[0.0, 1.0, 1.0]])


def numbers(text):
    """The numbers in a narration line; its minus sign is U+2212."""
    return np.array([float(v) for v in re.findall(NUMBER, text.replace("−", "-"))])


def narration(cost):
    """What each frame should say, from the narration API itself: forward, backward, done."""
    texts = ["\n".join(step.describe()) for step in mg.forward_steps(cost)]
    texts += ["\n".join(step.describe()) for step in mg.backward_steps(cost)]
    return texts


def scoped_net():
    """The lesson's model with its weights, bias, matmul and sigmoid inside one scope."""
    x, y = mg.constant(X, name="x"), mg.constant(Y, name="y")
    with mg.scope("layer"):
        w = mg.parameter(np.full((2, 1), 0.01), name="w")
        z = mg.add(w.T @ x, mg.parameter(0.0, name="b"), name="z")
        p = mg.sigmoid(z, name="ŷ")
    return mg.mean(mg.log_loss(p, y), name="cost")


# Python side ------------------------------------------------------------------------------

def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_minigraph_does_not_import_anywidget():
    result = run_python("import sys, minigraph; print(sorted({'anywidget', 'ipywidgets'} & set(sys.modules)))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_anywidget_mg_notebook_is_absent_and_says_how_to_install_it():
    # A None in sys.modules makes `import anywidget` fail as if it were not installed.
    # hasattr must say False (a module attribute that cannot be had is an AttributeError),
    # and both ways of asking name the extra to install.
    result = run_python(
        "import sys; sys.modules['anywidget'] = None\n"
        "import minigraph as mg\n"
        "print(hasattr(mg, 'notebook'))\n"
        "try:\n    mg.notebook\nexcept AttributeError as error:\n    print('AttributeError:', error)\n"
        "import minigraph.show.notebook"
    )
    assert result.returncode != 0
    shown = result.stdout.splitlines()
    assert shown[0] == "False"
    assert shown[1].startswith("AttributeError: module 'minigraph' has no attribute 'notebook': "
                               "minigraph.show.notebook needs anywidget")
    assert "pip install 'minigraph[notebook]'" in shown[1]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: minigraph.show.notebook needs anywidget")
    assert "pip install 'minigraph[notebook]'" in last


def test_mg_notebook_is_the_module_and_other_names_still_fail():
    import minigraph.show.notebook

    assert mg.notebook is minigraph.show.notebook
    with pytest.raises(AttributeError, match="no attribute 'notbook'"):
        mg.notbook  # noqa: B018


def test_the_widget_runs_the_page_players_own_code_on_its_data(tmp_path):
    cost = tiny_example()
    player = StepPlayer(cost)
    script, glue = asset("player.js"), asset("notebook.js")
    assert player._esm == script + "\n" + glue  # the same player.js text, not a copy of it
    assert script in mg.save_steps_html(cost, tmp_path / "page.html").read_text()
    assert player._css == asset("player.css")
    assert isinstance(player, anywidget.AnyWidget)
    assert player.data == player_data(cost)
    state = player.get_state()
    assert state["data"] == player.data and state["step"] == 0  # synced: what the front end gets


def test_options_reach_the_data_and_step_counts_frames():
    cost = scoped_net()
    player = StepPlayer(cost, title="one layer", collapse="layer", step=3)
    assert player.data == player_data(cost, title="one layer", collapse="layer")
    assert player.step == 3
    assert player.frames == len(player.data["frames"]) == len(narration(cost)) + 1  # + the summary


def test_step_clamps_like_the_player_and_takes_only_whole_numbers():
    player = StepPlayer(tiny_example())
    last = player.frames - 1
    for asked, shown in [(5, 5), (np.int64(7), 7), (last + 10, last), (-4, 0)]:
        player.step = asked
        assert player.step == shown and type(player.step) is int
    for bad in [2.5, "3", True, None]:
        with pytest.raises(TypeError, match="frame number"):
            player.step = bad
    assert StepPlayer(tiny_example(), step=99).step == last


def test_data_is_read_only_and_the_output_must_be_a_graph():
    player = StepPlayer(tiny_example())
    with pytest.raises(Exception, match="read-only"):
        player.data = {}
    with pytest.raises(TypeError, match="give it a Node or a Graph, not list"):
        StepPlayer([[1.0, 2.0]])
    with pytest.raises(TypeError, match="unexpected keyword argument 'colapse'"):
        StepPlayer(tiny_example(), colapse="layer")


def test_outside_a_widget_front_end_the_player_says_what_it_is_and_shows_the_graph():
    cost = tiny_example()
    player = StepPlayer(cost, title="the lesson")
    text = repr(player)
    assert "StepPlayer" in text and f"{player.frames} frames" in text and "save_steps_html" in text
    assert "object at 0x" not in text
    data, _ = player._repr_mimebundle_()
    assert data["text/plain"] == text and "application/vnd.jupyter.widget-view+json" in data
    page = data["text/html"]
    assert "the lesson" in page and "JupyterLab" in page and "save_steps_html" in page and "<svg" in page
    # the static frame is the graph after backward: its cost's value and its seed gradient
    shown = re.sub(r"<[^>]+>", " ", page[page.index("<svg"):])
    assert f"value {cost.value.item():.4g}" in shown and "grad 1" in shown


def test_show_steps_displays_a_player(monkeypatch):
    import minigraph.show.notebook

    shown = []
    monkeypatch.setattr(minigraph.show.notebook, "display", shown.append)
    assert show_steps(tiny_example(), title="the lesson") is None  # nothing more for the cell to show
    (player,) = shown
    assert isinstance(player, StepPlayer) and player.data["title"] == "the lesson"


# In the browser ---------------------------------------------------------------------------

# The harness: load the ESM as anywidget does, with a fake model whose `set` fires change
# events synchronously (as Backbone's does) and records the calls; `fromKernel` changes a
# value as a message from Python would, recording nothing. Two views share the model.
HARNESS = """
const state = JSON.parse(document.getElementById("state").textContent);
const style = document.createElement("style");
style.textContent = state.css;
document.head.appendChild(style);
const url = URL.createObjectURL(new Blob([state.esm], { type: "text/javascript" }));
const widget = (await import(url)).default;
URL.revokeObjectURL(url);

const values = { data: state.data, step: state.step };
let listeners = [];
const calls = [];
function change(name, value) {
  if (values[name] === value) return;
  values[name] = value;
  for (const [event, callback] of listeners.slice()) if (event === "change:" + name) callback();
}
const model = {
  get: (name) => values[name],
  set: (name, value) => { calls.push(["set", name, value]); change(name, value); },
  save_changes: () => { calls.push(["save_changes"]); },
  on: (event, callback) => { listeners.push([event, callback]); },
  off: (event, callback) => {
    listeners = listeners.filter(([e, c]) => !(e === event && c === callback));
  },
};
const views = ["first", "second"].map((id) => widget.render({ model: model, el: document.getElementById(id) }));
window.harness = {
  calls: calls, listeners: () => listeners.length, views: views,
  fromKernel: (name, value) => change(name, value),
  step: () => values.step,
};
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>widget harness</title>
</head>
<body>
<div id="first"></div>
<div id="second"></div>
<script id="state" type="application/json">{state}</script>
<script type="module">{harness}</script>
</body>
</html>
"""


def digest(text):
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def harness_page(player, path):
    """A page that renders `player`'s ESM twice. Its policy allows the harness script (by
    hash), modules from blob: URLs (how anywidget imports an ESM), the player's CSS (by
    hash) and images inside the data (data: URIs, as JupyterLab allows them): nothing else,
    and nothing from the network."""
    policy = (f"default-src 'none'; script-src '{digest(HARNESS)}' blob:; "
              f"style-src '{digest(player._css)}'; img-src data:")
    state = script_json(dict(esm=player._esm, css=player._css, data=player.data, step=player.step))
    path.write_text(PAGE.format(policy=policy, state=state, harness=HARNESS), encoding="utf-8")
    return path


def console_errors(browser):
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def open_harness(browser, player, path):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(harness_page(player, path).as_uri())
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return window.harness !== undefined") or console_errors(b),
        message="the widget's module did not load")
    assert console_errors(browser) == []


# Both views, as seen after the page's own tasks have run (the player reports its steps to
# the model from a MutationObserver, a microtask later).
VIEWS = """
await new Promise((resolve) => setTimeout(resolve, 0));
return ["first", "second"].map((id) => {
  const root = document.getElementById(id);
  return {
    frame: Number(root.dataset.frame), active: root.dataset.activeNode,
    marked: Array.from(root.querySelectorAll("svg .active")).map((g) => g.dataset.id),
    text: root.querySelector(".explanation").textContent,
    outline: Array.from(root.querySelectorAll("svg .active > rect")).map((r) => getComputedStyle(r).stroke),
    counter: root.querySelector(".counter").textContent,
  };
});
"""


def views(browser, action=""):
    """Run `action` (JavaScript) in the page, then read both views and the model's calls."""
    seen = browser.execute_script(f"{action}\n{VIEWS}")
    return seen, browser.execute_script("return [window.harness.calls.splice(0), window.harness.step()]")


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    cost = tiny_example()
    return cost, StepPlayer(cost), tmp_path_factory.mktemp("widget") / "lesson.html"


def test_buttons_and_slider_set_the_models_step_and_move_every_view(lesson, browser):
    from selenium.webdriver.common.by import By

    cost, player, path = lesson
    open_harness(browser, player, path)
    (first, second), (calls, step) = views(browser)
    assert first["frame"] == second["frame"] == 0 and first["counter"] == "Step 1 of 17"
    assert calls == [] and step == 0  # showing the model's own step sets nothing

    next_button = browser.find_elements(By.CSS_SELECTOR, "#first .next")[0]
    next_button.click()
    (first, second), (calls, step) = views(browser)
    assert calls == [["set", "step", 1], ["save_changes"]] and step == 1
    assert first["frame"] == second["frame"] == 1  # the other view follows the model

    browser.find_elements(By.CSS_SELECTOR, "#second .previous")[0].click()
    (first, second), (calls, step) = views(browser)
    assert calls == [["set", "step", 0], ["save_changes"]] and first["frame"] == second["frame"] == 0

    slide = 'const s = document.querySelector("#first .slider"); s.value = "12"; s.dispatchEvent(new Event("input"));'
    (first, second), (calls, step) = views(browser, slide)
    assert calls == [["set", "step", 12], ["save_changes"]] and first["frame"] == second["frame"] == 12
    assert console_errors(browser) == []


def test_each_step_from_python_shows_its_node_and_its_arithmetic(lesson, browser):
    cost, player, path = lesson
    open_harness(browser, player, path)
    graph, expected = mg.Graph(cost), narration(cost)
    titles = {box["id"]: box["title"] for box in player.data["boxes"]}
    nodes = [step.node for step in mg.forward_steps(cost)] + [step.node for step in mg.backward_steps(cost)]
    shown = []
    for frame in range(player.frames):
        (first, second), (calls, step) = views(browser, f"window.harness.fromKernel('step', {frame});")
        assert calls == [] and step == frame  # a change from Python is not echoed back
        assert first == second and first["frame"] == frame
        shown.append(first)
    for frame, (view, text, node) in enumerate(zip(shown, expected, nodes)):
        assert view["text"] == text, frame  # the narration of mg.forward_steps / mg.backward_steps
        assert titles[view["active"]] == graph.label(node), frame
        assert view["active"] in view["marked"], frame  # highlighted: outlined in red by player.css
        assert view["outline"] == ["rgb(214, 39, 40)"], frame
    assert shown[-1]["text"].startswith("Backward pass done") and shown[-1]["marked"] == []

    # The numbers, against the textbook: ∂cost/∂z = (ŷ − y)/m, then ∂cost/∂w = x·(∂cost/∂z)ᵀ.
    p = 1 / (1 + np.exp(-(np.full((1, 2), 0.01) @ X)))
    dz = (p - Y) / 3
    sigmoid = next(view for view in shown[10:] if titles[view["active"]] == "ŷ")
    np.testing.assert_allclose(numbers(sigmoid["text"])[-3:], dz.ravel(), rtol=1e-3)
    transpose = next(view for view in shown[10:] if titles[view["active"]] == "wᵀ")
    np.testing.assert_allclose(numbers(transpose["text"])[-2:], (X @ dz.T).ravel(), rtol=1e-3)
    assert console_errors(browser) == []


def test_keys_move_the_player_that_has_focus_and_jupyterlab_leaves_them_to_it(lesson, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, player, path = lesson
    open_harness(browser, player, path)
    first = browser.find_element(By.ID, "first")
    assert first.get_attribute("data-lm-suppress-shortcuts") == "true"
    browser.find_element(By.CSS_SELECTOR, "#first h1").click()  # focuses the player
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()
    (first_view, second_view), (calls, step) = views(browser)
    assert step == 2 and first_view["frame"] == second_view["frame"] == 2
    assert ["set", "step", 2] in calls
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)  # the page's keys are not the player's
    (first_view, _), (calls, step) = views(browser)
    assert first_view["frame"] == 2 and calls == [] and step == 2
    assert console_errors(browser) == []


def test_a_step_inside_a_closed_scope_opens_it(tmp_path, browser):
    from selenium.webdriver.common.by import By

    cost = scoped_net()
    player = StepPlayer(cost)
    (forward, backward) = player.data["runs"]
    open_harness(browser, player, tmp_path / "scoped.html")
    closed = player.frames - sum(run["end"] - run["start"] for run in player.data["runs"])

    # Next steps over the closed scope as one step: the model hears its last frame.
    for _ in range(forward["start"]):  # to the scope's step: the frames before it are one step each
        browser.find_element(By.CSS_SELECTOR, "#first .next").click()
    (first, _), (calls, step) = views(browser)
    assert step == forward["end"] and first["text"] == forward["text"]
    assert first["counter"] == f"Step {forward['start'] + 1} of {closed}"

    # Python asks for a frame inside the other scope: both views open it and show that frame.
    inside = backward["start"] + 1
    (first, second), (calls, step) = views(browser, f"window.harness.fromKernel('step', {inside});")
    assert calls == [] and first["frame"] == second["frame"] == inside
    assert first["text"] == narration(cost)[inside]
    opened = closed + backward["end"] - backward["start"]
    assert first["counter"].endswith(f"of {opened}") and first["counter"] == second["counter"]
    assert console_errors(browser) == []


def test_a_removed_view_stops_listening(lesson, browser):
    _, player, path = lesson
    open_harness(browser, player, path)
    before = browser.execute_script("return window.harness.listeners()")
    browser.execute_script("window.harness.views[1]();")  # anywidget calls this when the view goes
    assert browser.execute_script("return window.harness.listeners()") == before - 1
    (first, second), _ = views(browser, "window.harness.fromKernel('step', 4);")
    assert first["frame"] == 4 and second["frame"] == 0
    (first, second), (calls, step) = views(browser, 'document.querySelector("#second .next").click();')
    assert second["frame"] == 1 and calls == [] and step == 4  # its clicks no longer reach the model
    assert console_errors(browser) == []


def test_a_conv_step_in_the_widget_draws_its_arrays_and_marks_its_window(tmp_path, browser):
    """The widget shows what the page shows: the feature maps drawn in the explanation (not
    their corners), and the kernel window of the worked pixel marked on the input's picture."""
    rng = np.random.default_rng(1)
    x = mg.constant(rng.random((1, 1, 10, 10)), name="x")
    h = mg.conv2d(x, mg.parameter(np.abs(rng.normal(size=(2, 1, 3, 3))), name="w"), name="h")
    player = StepPlayer(mg.mean(mg.relu(h)))
    titles = {box["id"]: box["title"] for box in player.data["boxes"]}
    frame = next(i for i, f in enumerate(player.data["frames"]) if titles.get(f["box"]) == "h")
    open_harness(browser, player, tmp_path / "conv.html")
    seen = browser.execute_script(f"""
      window.harness.fromKernel("step", {frame});
      await new Promise((resolve) => setTimeout(resolve, 50));
      return ["first", "second"].map((id) => {{
        const root = document.getElementById(id);
        return {{
          frame: Number(root.dataset.frame),
          drawn: Array.from(root.querySelectorAll(".explanation .array img")).map((i) => i.naturalWidth),
          text: root.querySelector(".explanation").textContent,
          marked: Array.from(root.querySelectorAll("rect.window")).map((r) => r.parentNode.dataset.id),
        }};
      }});""")
    ids = {title: box_id for box_id, title in titles.items()}
    for view in seen:
        assert view["frame"] == frame
        assert view["drawn"] and all(width > 0 for width in view["drawn"])  # the picture loaded
        assert "…" not in view["text"] and "out: h (1×2×8×8):" in view["text"]
        assert ids["x"] in view["marked"] and ids["h"] in view["marked"]
    assert console_errors(browser) == []
