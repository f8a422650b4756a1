"""The lesson's notebook in a real JupyterLab, driven by headless Chromium.

tests/test_notebook_widget.py runs the widget's front end against a stand-in for Jupyter's
widget model; this runs the real thing once: a JupyterLab server on 127.0.0.1 (a free port,
a token, `--allow-root` because the tests run as root in CI), its configuration, settings,
workspaces and runtime files in a temporary folder, so nothing of the user's is read or
written. It opens examples/first_lesson.md (converted to .ipynb with jupytext, plus three
cells that drive a player from Python), runs every cell, and checks what a learner sees:
the graph drawn, the step player rendered and stepping, Python and the page agreeing on its
step both ways, and a console free of errors. Every wait is bounded; the server and its
kernels are stopped after the module, whatever happened.

The player is found by what minigraph/show/player.js documents as its interface: the root
element's class `minigraph-player` and its `data-frame` attribute, the `button.next`
button and the drawing in `.picture svg`.
"""

import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


jupytext = pytest.importorskip("jupytext")
pytest.importorskip("jupyterlab")
nbformat = pytest.importorskip("nbformat")

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
PLAYER = ".minigraph-player"
SERVER_START = 90  # seconds, the longest waits; the others are bounded where they wait
CELLS_RUN = 120

# Appended to the lesson: a player kept in a variable, then read and set from Python.
DRIVEN_PLAYER = "player = mg.notebook.StepPlayer(cost)\nplayer"
READ_STEP = "player.step"
SET_STEP = "player.step = 13"

pytestmark = pytest.mark.needs_dot  # the graph and the players are laid out by dot

# Settings, so that the test sees every cell and JupyterLab asks nothing of the network: all
# cells attached to the page (not only those in view), no news, no update check, no
# extension manager calling PyPI, no terminals.
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}
SERVER_CONFIG = {
    "ServerApp": {"terminals_enabled": False},
    "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
               "extension_manager": "readonly"},
}


# 127.0.0.1 straight, even where CI sets an HTTP proxy for the outside world.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lesson_notebook(folder):
    """examples/first_lesson.md as an .ipynb in `folder`, with the three driving cells after it."""
    notebook = jupytext.read(EXAMPLES / "first_lesson.md")
    notebook.cells += [nbformat.v4.new_code_cell(code) for code in (DRIVEN_PLAYER, READ_STEP, SET_STEP)]
    # Name the kernel, as a notebook saved by Jupyter does: without it JupyterLab may ask which
    # kernel to start after Run All was pressed, and the cells then wait on the dialog.
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    path = folder / "first_lesson.ipynb"
    nbformat.write(notebook, path)
    return path


def wait_until(condition, timeout, what):
    """Poll `condition` until it returns something true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 whose every file lives in a temporary folder:
    (url, token, root folder). Stopped, kernels included, when the module ends."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root, config, settings = home / "root", home / "config", home / "settings"
    for folder in (root, config, settings):
        folder.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    for name, values in USER_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    port, token = free_port(), secrets.token_hex(16)
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {process.returncode}:\n{(home / 'server.log').read_text()}")
        request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
        try:
            with DIRECT.open(request, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, SERVER_START, "JupyterLab to answer")
        yield url, token, root
    finally:
        # Its own session: SIGTERM lets the server stop its kernels; what is left is killed.
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def lab(server, browser):
    """Chromium (conftest's `browser`) showing the lesson's notebook in JupyterLab after Run
    All Cells: (driver, the code cells' tags in order, the console's messages so far)."""
    url, token, root = server
    path = lesson_notebook(root)
    tags = [cell.metadata.get("tags", []) for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code"]
    from selenium.common.exceptions import WebDriverException

    driver = browser
    driver.set_page_load_timeout(60)
    driver.get(f"{url}/lab/tree/{path.name}?token={token}")
    wait_until(lambda: len(code_cells(driver)) == len(tags), 60, "the notebook's cells")
    # JupyterLab may ask which kernel to start after it looked idle, and a Run All pressed as
    # its session settles can be dropped (no cell even queued): answer the dialog and press it
    # again then, as a user would, but never once a cell has started.
    for attempt in range(3):
        wait_until(lambda: kernel_ready(driver), 60, "the kernel to start")  # (and its late dialog answered)
        try:
            run_all_cells(driver)  # (a dialog that opens now intercepts the click)
            wait_until(lambda: started_cells(driver), 15, "a cell to start")
            break
        except (AssertionError, WebDriverException):
            if attempt == 2:
                raise
    wait_until(lambda: executed_cells(driver) == len(tags) and kernel_ready(driver), CELLS_RUN,
               "every cell to run")
    return driver, tags, driver.get_log("browser")


def code_cells(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell")


def kernel_ready(driver):
    """The kernel is idle and no dialog is open. JupyterLab sometimes asks which kernel to
    start, when its list of kernels comes after the notebook: press Select, as a user would."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
        button.click()
        return False
    return driver.execute_script(
        "const s = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');"
        "return s !== null && s.getAttribute('data-status') === 'idle';")


def prompt(cell):
    """A code cell's execution count, or None before it has run (its prompt reads [ ] or [*])."""
    from selenium.webdriver.common.by import By

    text = cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()
    return int(text[1:-2]) if text[1:-2].isdigit() else None


def started_cells(driver):
    """How many code cells are queued, running or done (their prompt is not [ ])."""
    from selenium.webdriver.common.by import By

    return sum(cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip() not in ("", "[ ]:")
               for cell in code_cells(driver))


def executed_cells(driver):
    return sum(prompt(cell) is not None for cell in code_cells(driver))


def run_all_cells(driver):
    """Run → Run All Cells, from JupyterLab's menu bar, found by the labels a user reads."""
    from selenium.webdriver.common.by import By

    [run_menu] = [item for item in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
                  if item.text.strip() == "Run"]
    run_menu.click()
    [run_all] = wait_until(lambda: driver.find_elements(
        By.XPATH, "//li[contains(@class, 'lm-Menu-item')][.//*[contains(@class, 'lm-Menu-itemLabel')]"
                  "[normalize-space() = 'Run All Cells']]"), 10, "the Run menu")
    run_all.click()


def run_cell(driver, cell):
    """Select a cell by its prompt and run it with Ctrl+Enter, as a user would; wait until it has."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    before = prompt(cell)
    cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    wait_until(lambda: (prompt(cell) or 0) > (before or 0) and kernel_ready(driver), 30, "the cell to run")


def cell_of(lab, code):
    """The code cell whose source is `code`, or the one tagged `code`."""
    driver, tags, _ = lab
    cells = code_cells(driver)
    if code in (DRIVEN_PLAYER, READ_STEP, SET_STEP):  # the three cells appended after the lesson
        return cells[len(tags) - 3 + (DRIVEN_PLAYER, READ_STEP, SET_STEP).index(code)]
    [index] = [i for i, cell_tags in enumerate(tags) if code in cell_tags]
    return cells[index]


def player_in(cell):
    from selenium.webdriver.common.by import By

    [player] = cell.find_elements(By.CSS_SELECTOR, f".jp-OutputArea-output {PLAYER}")
    return player


def shows_frame(player, frame):
    return player.get_attribute("data-frame") == str(frame)


def test_every_cell_ran_without_an_error_or_a_warning(lab):
    from selenium.webdriver.common.by import By

    driver, tags, _ = lab
    # Each cell ran, in order, right after the one before it. (The first count may exceed 1
    # when JupyterLab ran a cell for a Run All the fixture had to press again.)
    counts = [prompt(cell) for cell in code_cells(driver)]
    assert counts[0] is not None and counts == list(range(counts[0], counts[0] + len(tags)))
    outputs = [output.get_attribute("data-mime-type") for output in
               driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-OutputArea-output")]
    assert "application/vnd.jupyter.stderr" not in outputs and "application/vnd.jupyter.error" not in outputs


@pytest.mark.parametrize("tag", ["graph-display", "node-display"])
def test_the_graph_displays_as_a_drawing(lab, tag):
    from selenium.webdriver.common.by import By

    [output] = cell_of(lab, tag).find_elements(By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type="image/svg+xml"]')
    [image] = output.find_elements(By.CSS_SELECTOR, "img, svg")
    drawn = lab[0].execute_script(
        "const e = arguments[0], box = e.getBoundingClientRect();"
        "return (e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0)) && box.width > 100 && box.height > 50;",
        image)
    assert drawn  # decoded, and big enough to read


def test_the_step_player_renders_and_steps_with_its_next_button(lab):
    from selenium.webdriver.common.by import By

    player = player_in(cell_of(lab, "step-player"))
    picture = player.find_element(By.CSS_SELECTOR, ".picture svg")
    assert picture.size["width"] > 100 and picture.size["height"] > 50
    assert shows_frame(player, 0)
    player.find_element(By.CSS_SELECTOR, "button.next").click()
    wait_until(lambda: shows_frame(player, 1), 10, "the player to show frame 1")


def test_python_and_the_page_agree_on_the_step_both_ways(lab):
    from selenium.webdriver.common.by import By

    driver = lab[0]
    player = player_in(cell_of(lab, DRIVEN_PLAYER))
    wait_until(lambda: shows_frame(player, 13), 10, "the page to follow `player.step = 13`, run by Run All")
    player.find_element(By.CSS_SELECTOR, "button.next").click()  # the page moves, and tells Python
    wait_until(lambda: shows_frame(player, 14), 10, "the player to show frame 14")
    read = cell_of(lab, READ_STEP)
    run_cell(driver, read)
    assert read.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output").text.strip() == "14"
    run_cell(driver, cell_of(lab, SET_STEP))  # Python sets the step, and the page moves
    wait_until(lambda: shows_frame(player, 13), 10, "the page to follow `player.step = 13`")


def test_the_console_has_no_errors(lab):
    driver, _, console = lab
    console += driver.get_log("browser")
    assert [entry for entry in console if entry["level"] in ("SEVERE", "ERROR")] == []
