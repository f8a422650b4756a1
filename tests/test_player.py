"""The HTML step player: its content, and how it behaves in a real headless Chromium."""

import json
import re
import shutil
import tempfile

import pytest

import minigraph as mg
from minigraph.render import node_ids
from minigraph.models import tiny_example

pytestmark = pytest.mark.needs_dot


@pytest.fixture(scope="module")
def player(tmp_path_factory):
    cost = tiny_example()
    path = mg.save_steps_html(cost, tmp_path_factory.mktemp("player") / "backprop.html")
    return path, mg.Graph(cost)


def embedded_frames(path):
    text = path.read_text()
    data = re.search(r'<script id="frames" type="application/json">(.*?)</script>', text, re.S).group(1)
    return json.loads(data.replace("<\\/", "</"))


def test_page_is_self_contained(player):
    path, _ = player
    text = path.read_text()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<link" not in text and "@import" not in text


def test_frames_walk_forward_then_backward_then_done(player):
    path, graph = player
    frames = embedded_frames(path)
    ids = node_ids(graph)
    forward = [f["node"] for f in frames if f["phase"] == "forward"]
    backward = [f["node"] for f in frames if f["phase"] == "backward"]
    assert forward == [ids[id(n)] for n in graph.nodes]
    assert backward == [ids[id(n)] for n in reversed(graph.nodes) if n.op is not None]
    assert frames[-1]["phase"] == "done"
    assert "value ?" in frames[0]["svg"]  # later nodes are not computed yet
    assert "grad" not in frames[len(forward) - 1]["svg"]


def chromium():
    """Headless Debian Chromium through Selenium, logging the console and the network."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("chromium and chromedriver are not installed (make test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--window-size=1400,900",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='minigraph-chromium-')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def test_player_in_a_real_browser(player, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path, graph = player
    ids = node_ids(graph)
    order = [ids[id(n)] for n in graph.nodes]
    browser.get(path.as_uri())

    body = browser.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-active-node") == order[0]
    assert browser.find_element(By.ID, "counter").text == "Step 1 of 17"
    active = browser.find_element(By.CSS_SELECTOR, "#picture g#node1 title").get_attribute("textContent")
    assert active == order[0]

    browser.find_element(By.ID, "next").click()
    assert body.get_attribute("data-active-node") == order[1]
    body.send_keys(Keys.ARROW_RIGHT)
    assert body.get_attribute("data-active-node") == order[2]
    body.send_keys(Keys.ARROW_LEFT)
    assert body.get_attribute("data-active-node") == order[1]
    assert browser.find_element(By.ID, "explanation").text.startswith(f"{graph.nodes[1].label} is a constant")

    browser.find_element(By.ID, "prev").click()
    assert not browser.find_element(By.ID, "prev").is_enabled()

    body.send_keys(Keys.END)  # the last frame: every parameter's gradient is shown
    assert body.get_attribute("data-phase") == "done"
    assert not browser.find_element(By.ID, "next").is_enabled()
    for parameter in graph.parameters:
        box = browser.find_element(By.XPATH, f"//*[@id='picture']//*[name()='g'][*[name()='title' and text()='{ids[id(parameter)]}']]")
        assert "grad" in box.get_attribute("textContent"), parameter.label
    assert "∂cost/∂w = [[-0.1821] [0.01765]]" in browser.find_element(By.ID, "explanation").text

    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    sent = [
        json.loads(entry["message"])["message"]["params"]
        for entry in browser.get_log("performance")
        if '"Network.requestWillBeSent"' in entry["message"]
    ]
    # Chromium's own new-tab page makes chrome:// requests before ours loads; the page's
    # only request is for itself, and nothing anywhere goes to the network.
    from_page = [r["request"]["url"] for r in sent if r.get("documentURL") == path.as_uri()]
    assert from_page == [path.as_uri()]
    assert not [r["request"]["url"] for r in sent if re.match(r"(https?|wss?)://", r["request"]["url"])]
