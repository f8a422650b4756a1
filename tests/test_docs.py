"""The docs stay true: their code runs, their links resolve, their figures are current."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_images_resolve(page):
    for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text()):
        if not re.match(r"[a-z]+://", target):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


@pytest.mark.needs_dot
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace = {}
    for block in blocks:
        exec(compile(block, f"{page.name} block", "exec"), namespace)


def test_committed_narration_is_what_trace_prints_now():
    result = subprocess.run([sys.executable, "-m", "minigraph", "trace"], capture_output=True, text=True)
    assert (ROOT / "docs" / "figures" / "trace.txt").read_text() == result.stdout


@pytest.mark.needs_dot
def test_figure_script_makes_every_figure_the_docs_show(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "docs" / "make_figures.py"), str(tmp_path)], check=True,
                   capture_output=True)
    made = {p.name for p in tmp_path.iterdir()}
    shown = {pathlib.Path(t).name for page in PAGES
             for t in re.findall(r"\]\((?:docs/)?figures/([^)]+)\)", page.read_text())}
    assert shown and shown <= made


def test_narration_quoted_in_the_tutorial_is_what_trace_prints():
    tutorial = (ROOT / "docs" / "tutorial.md").read_text()
    quoted = tutorial.split("prints (abridged")[1].split("```\n")[1]
    trace = (ROOT / "docs" / "figures" / "trace.txt").read_text()
    lines = [line for line in quoted.splitlines() if line.strip()]
    assert lines and [line for line in lines if line not in trace] == []
