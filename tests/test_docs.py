"""The docs stay true where the site build cannot see: the README's code, the numbers the
lesson quotes from a data set the site does not ship, and numbers said in prose beside the
output they explain.

The pages' own code blocks run, and their links and figures are checked, when the site is
built in strict mode (tests/test_site.py).
"""

import pathlib
import re

import pytest

from minigraph.models import LogisticRegression
from minigraph.models.datasets import lesson_split

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.needs_dot
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md block", "exec"), namespace)


def test_sign_language_numbers_in_the_lesson_are_what_it_computes(sign_language_dir):
    tutorial = " ".join((ROOT / "docs" / "tutorial.md").read_text().split())
    quoted = re.search(r"cost ([\d.]+) at iteration 0 and ([\d.]+) at 140, ([\d.]+) % train and "
                       r"([\d.]+) % test accuracy", tutorial)
    assert quoted, "the lesson no longer quotes the Sign Language Digits results"
    _, (X_train, X_test, y_train, y_test) = lesson_split(sign_language_dir)
    model = LogisticRegression(learning_rate=0.01, iterations=150).fit(X_train, y_train)
    computed = (f"{model.cost_history_[0]:.6f}", f"{model.cost_history_[140]:.6f}",
                f"{100 * model.score(X_train, y_train):.2f}", f"{100 * model.score(X_test, y_test):.2f}")
    assert quoted.groups() == computed


def test_the_convolution_lesson_says_what_its_first_convolution_computes():
    page = (ROOT / "docs" / "lesson-4-convolution.md").read_text()
    namespace = {}
    exec(re.search(r"```python[^\n]*\n(.*?)```", page.split("## 1. One convolution")[1], re.S).group(1), namespace)
    image, kernel, bias = namespace["image"], namespace["w"].value[0, 0], namespace["b"].value[0]
    by_loops = [[float((image[i:i + 3, j:j + 3] * kernel).sum() + bias) for j in range(3)] for i in range(3)]
    said = re.search(r"the two windows where the bar starts give (.+?) = ([\d.]+), the window where it ends "
                     r"(.+?) = (−?[\d.]+)\.", " ".join(page.split()))
    assert said, "lesson 4 no longer works out its first convolution in words"
    starts, start_value, ends, end_value = said.groups()
    assert [row[:2] for row in by_loops] == [[float(start_value)] * 2] * 3
    assert [row[2] for row in by_loops] == [float(end_value.replace("−", "-"))] * 3
    for sum_in_words, value in ((starts, start_value), (ends, end_value)):
        assert eval(sum_in_words.replace("×", "*").replace("−", "-")) == float(value.replace("−", "-"))


@pytest.mark.needs_dot
def test_the_readme_picture_is_what_the_code_draws_now():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    assert "](docs/readme-graph.svg)" in (ROOT / "README.md").read_text()
    assert make_figures.README_PICTURE.read_bytes() == make_figures.readme_picture(), (
        "the README's picture is out of date: run `.venv/bin/python docs/make_figures.py --readme`")
