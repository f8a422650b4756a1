"""The documentation site: it builds in strict mode, and its pages work in a real browser.

The whole site is built once (`mkdocs build --strict`, every code block executed, every
figure and step player drawn), with no network where the machine allows it. The
broken-copy tests build a one-page site with the same configuration to prove that a broken
link, a missing reference or a failing block each fail the build. Every page of the nav
is opened in headless Chromium, so a new page is tested as soon as it is in mkdocs.yml.
"""

import html
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Not --quiet: it hides the warnings that strict mode counts, and the build passes.
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]
# Material prints an end-of-life banner on every build; it says nothing about our site.
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

pytestmark = pytest.mark.needs_dot  # the figures and the step player are drawn by dot


def build(config, site_dir, prefix=()):
    return subprocess.run([*prefix, *MKDOCS, "--config-file", str(config), "--site-dir", str(site_dir)],
                          capture_output=True, text=True, env=QUIET, timeout=300)


def without_network():
    """`unshare --net`: run a command with no network at all, where this machine allows it
    (root on Linux, as in CI); otherwise nothing, and the build runs as it is."""
    command = ["unshare", "--net"]
    try:
        allowed = subprocess.run([*command, "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        allowed = False
    return command if allowed else []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The real site, built from the repository as `make docs` builds it, offline if possible."""
    site_dir = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", site_dir, prefix=without_network())
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def nav_pages(entries):
    """The pages of mkdocs.yml's nav, sections flattened, without their .md."""
    for entry in entries:
        for value in entry.values():
            yield from nav_pages(value) if isinstance(value, list) else [value.removesuffix(".md")]


PAGES = list(nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))


def test_every_page_of_the_nav_is_built(site):
    assert {"index", "tutorial", "reference"} <= set(PAGES)
    for page in PAGES:
        assert (site / f"{page}.html").is_file(), page


def test_blocks_ran_and_their_output_is_in_the_pages(site):
    tutorial = (site / "tutorial.html").read_text()
    assert "13. ŷ = sigmoid(z)" in tutorial and "test accuracy 98.15% on the bundled digits" in tutorial
    checking = (site / "gradient-checking.html").read_text()
    assert "gradient check (complex): passed" in checking
    assert "local gradients that disagree with their own finite differences" in checking
    assert "softplus = softplus(matmul)" in (site / "custom-ops.html").read_text()


def test_figures_and_the_step_player_are_drawn_at_build_time(site):
    for name in ["tiny-forward.svg", "tiny-graph.svg", "lesson-cost.png", "trace.txt"]:
        assert (site / "figures" / name).stat().st_size > 0, name
    tutorial = (site / "tutorial.html").read_text()
    frame = re.search(r'<iframe[^>]*src="([^"]+)"', tutorial).group(1)
    player = (site / frame).read_text()
    assert "Content-Security-Policy" in player and '<script id="minigraph-data"' in player


def test_home_is_the_readme_with_links_into_the_site(site):
    home = (site / "index.html").read_text()
    assert "Two commands" in home
    links = set(re.findall(r'href="([^"#:]+\.html)', home))
    assert {"tutorial.html", "gradient-checking.html", "benchmarks.html", "examples.html"} <= links


def test_api_reference_is_generated_from_the_docstrings(site):
    import minigraph as mg
    from minigraph.models import LogisticRegression

    reference = (site / "reference.html").read_text()
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", reference)).split())
    for documented in (mg.check_gradients, mg.Graph, mg.save_steps_html, LogisticRegression):
        first_line = documented.__doc__.strip().splitlines()[0].replace("`", "")
        assert first_line in text, documented.__name__


def test_the_api_reference_lists_every_module():
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^::: (\S+)", reference, re.M))
    command_line = {"__init__", "__main__", "cli", "cli_demo"}  # documented by --help
    modules = {f"{package}.{path.stem}" for package in ("minigraph", "models")
               for path in (ROOT / package).glob("*.py") if path.stem not in command_line}
    assert not modules - listed, f"docs/reference.md leaves out {sorted(modules - listed)}"


def test_site_loads_nothing_from_the_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', text), page.name


# The broken copies: one page, the real configuration (plugins, strict, validation) but no
# nav and no hooks, so each build takes a couple of seconds. Each names what must be reported.
BREAKAGES = {
    "a broken link": ("See [the missing page](missing.md).", "missing.md"),
    "a broken cross-reference": ("See [the node][minigraph.node.NoSuchThing].", "minigraph.node.NoSuchThing"),
    "a missing API entry": ("::: minigraph.no_such_module", "minigraph.no_such_module"),
    "a failing block": ('```python exec="on"\nraise ValueError("this block fails")\n```', "this block fails"),
}


def one_page_copy(folder, text):
    """A copy of the site's configuration whose only page says `text`."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    for key in ("nav", "hooks", "exclude_docs"):
        config.pop(key)
    config["docs_dir"] = str(folder / "docs")
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(ROOT)]
    (folder / "docs").mkdir()
    (folder / "docs" / "index.md").write_text(f"# A page\n\n{text}\n")
    (folder / "docs" / "other.md").write_text("# Another page\n\n::: minigraph.errors\n")
    (folder / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return folder / "mkdocs.yml"


def test_the_one_page_copy_builds_when_nothing_is_broken(tmp_path):
    text = 'See [the other page](other.md) and [the node][minigraph.errors.ShapeError].\n\n' \
           '```python exec="on"\nprint("fine")\n```'
    result = build(one_page_copy(tmp_path, text), tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.replace(" ", "-"))
def test_strict_build_fails_on(breakage, tmp_path):
    text, named = BREAKAGES[breakage]
    result = build(one_page_copy(tmp_path, text), tmp_path / "site")
    assert result.returncode != 0
    assert named in result.stdout + result.stderr


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_in_chromium_without_errors_or_network(page, site, browser):
    from selenium.webdriver.common.by import By

    browser.get((site / f"{page}.html").as_uri())
    assert browser.find_element(By.CSS_SELECTOR, "article h1").text
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                 for entry in browser.get_log("performance")
                 if '"Network.requestWillBeSent"' in entry["message"]]
    # Chromium's own start-up pages ask for chrome:// and data: URLs; the site only file://.
    assert [url for url in requested if not url.startswith(("file://", "chrome://", "data:"))] == []
    assert any(url.startswith((site / page).as_uri()) for url in requested)


def test_step_player_works_inside_the_lesson_page(site, browser):
    from selenium.webdriver.common.by import By

    browser.get((site / "tutorial.html").as_uri())
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.step-player"))
    try:
        assert browser.find_element(By.CSS_SELECTOR, ".counter").text == "Step 1 of 17"
        browser.find_element(By.CSS_SELECTOR, ".next").click()
        assert browser.find_element(By.CSS_SELECTOR, ".counter").text == "Step 2 of 17"
        assert browser.find_element(By.CSS_SELECTOR, ".picture svg")
    finally:
        browser.switch_to.default_content()
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []


# In a lesson's step player (an iframe in the docs column): the active box of each step,
# whether it is in view, and its smallest text in CSS pixels. A scope taller than the view
# is in view when it spans the view's width and its top, with its name, is at the view's top.
ACTIVE_IN_VIEW = """
const root = document.getElementById("player"), svg = root.querySelector("svg");
const picture = root.querySelector(".picture"), next = root.querySelector(".next");
const px = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
const seen = [];
while (true) {
  const active = svg.querySelector(".box.active, .cluster.active");
  if (active === null) break;
  const r = active.getBoundingClientRect(), view = picture.getBoundingClientRect();
  const across = r.left >= view.left - 1 && r.right <= view.left + picture.clientWidth + 1;
  const down = r.height > picture.clientHeight ? Math.abs(r.top - view.top) <= 1
    : r.top >= view.top - 1 && r.bottom <= view.top + picture.clientHeight + 1;
  seen.push({inside: across && down,
             font: Math.min(...Array.from(active.querySelectorAll("text")).filter((t) => t.textContent)
                                 .map((t) => parseFloat(getComputedStyle(t).fontSize) * px)),
             fits: svg.getBoundingClientRect().width <= picture.clientWidth});
  if (next.disabled) break;
  next.click();
}
return seen;
"""


# Each page with a step player, and how many of its steps mark a box or a scope as active
# (every step but the last; lessons 2 and 3 step through each layer as one scope step).
PLAYER_PAGES = {"tutorial": 16, "lesson-2-two-layer-network": 14, "lesson-3-ten-digits": 12,
                "lesson-4-convolution": 13}


@pytest.mark.parametrize("page", PLAYER_PAGES)
@pytest.mark.parametrize("window", [1220, 1400])
def test_the_lessons_player_fits_its_column_and_follows_the_active_node(page, window, site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(window, 900)
    try:
        browser.get((site / f"{page}.html").as_uri())
        frame = browser.find_element(By.CSS_SELECTOR, "iframe.step-player")
        browser.execute_script("arguments[0].scrollIntoView()", frame)
        browser.save_screenshot(str(tmp_path / "lesson-page.png"))
        browser.switch_to.frame(frame)
        try:
            steps = browser.execute_script(ACTIVE_IN_VIEW)
        finally:
            browser.switch_to.default_content()
    finally:
        browser.set_window_size(1400, 900)
    assert (tmp_path / "lesson-page.png").read_bytes().startswith(b"\x89PNG")
    assert len(steps) == PLAYER_PAGES[page] and all(step["fits"] for step in steps)  # no panning at natural size
    assert all(step["inside"] for step in steps) and min(step["font"] for step in steps) >= 10


def test_lesson_4s_player_frames_the_convolutions_window(site, browser):
    # Lesson 4 had no step player: the convolution, the op the lesson is about, could not be
    # stepped through on the site. Its conv step frames the window on x and the pixel on z.
    from selenium.webdriver.common.by import By

    browser.get((site / "lesson-4-convolution.html").as_uri())
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.step-player"))
    try:
        root = browser.find_element(By.CSS_SELECTOR, ".minigraph-player")
        while "conv2d" not in browser.find_element(By.CSS_SELECTOR, "pre.explanation").text:
            browser.find_element(By.CSS_SELECTOR, ".next").click()
        assert root.get_attribute("data-phase") == "forward"
        assert "the window's sum" in browser.find_element(By.CSS_SELECTOR, "pre.explanation").text
        assert len(browser.find_elements(By.CSS_SELECTOR, "rect.window")) == 2  # on x and on z
    finally:
        browser.switch_to.default_content()


def test_lesson_4s_kernel_pictures_say_the_range_their_colours_stand_for(site):
    # The kernels were drawn red and blue with no scale beside them: a learner could not tell
    # what the darkest red meant (the design asks a heatmap's range beside it).
    page = (site / "lesson-4-convolution.html").read_text()
    caption = re.search(r"The kernels run from (-?[\d.e-]+) to (-?[\d.e-]+); the darkest red and blue "
                        r"stand for ± ([\d.e-]+)", page)
    assert caption is not None
    low, high, limit = map(float, caption.groups())
    assert low < 0 < high and limit == pytest.approx(max(-low, high), rel=1e-2)
