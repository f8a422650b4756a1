"""Shared test set-up: Hypothesis profiles, the path to ../shared/data, headless Chromium."""

import os
import pathlib
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# CI: the same examples every run (derandomize), no deadline on shared, noisy machines.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIGN_LANGUAGE = ROOT.parent / "shared" / "data" / "sign-language-digits"


@pytest.fixture
def sign_language_dir():
    if not (SIGN_LANGUAGE / "X.npy").is_file():
        pytest.skip(f"the Sign Language Digits copy is not at {SIGN_LANGUAGE}")
    return SIGN_LANGUAGE


def pytest_runtest_setup(item):
    """`@pytest.mark.needs_dot`: skip, saying why, where Graphviz's dot is missing."""
    if item.get_closest_marker("needs_dot") and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (make test installs it)")


def chromium():
    """Headless Debian Chromium through Selenium, logging the console and the network."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("chromium and chromedriver are not installed (make test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    # The background-networking flags keep Chromium from calling home through the closed network.
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--window-size=1400,900",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='minigraph-chromium-')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (see `chromium`)."""
    driver = chromium()
    yield driver
    driver.quit()
