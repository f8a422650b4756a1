"""Shared test set-up: Hypothesis profiles and the path to ../shared/data."""

import os
import pathlib
import shutil

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
