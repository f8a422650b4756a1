"""MkDocs hooks: the parts of the site that code makes at build time (see mkdocs.yml).

- The home page is the README, and the benchmark table is benchmarks/RESULTS.md, both
  read when the site is built, so neither is ever copied by hand.
- The figures come from docs/make_figures.py and the step players from
  `mg.save_steps_html`, drawn afresh on every build (nothing drawn is committed).
- Links are written as they work in the repository (README.md links docs/tutorial.md,
  docs/performance.md links ../benchmarks/RESULTS.md) and rewritten to the site's layout,
  so one Markdown file reads right in both places.
- A page that embeds a step player hides its table of contents, and the player is laid out
  for the width its frame then has (PLAYER_WIDTH), so its drawing fits without panning.
- Code blocks run in a scratch folder, so `mg.render(cost, "graph.svg")` in a page
  writes no file into the repository.
"""

import ast
import os
import pathlib
import posixpath
import re
import tempfile

from mkdocs.structure.files import File

import make_figures  # docs/ is on the path while MkDocs loads this file
import minigraph as mg
from minigraph.models import tiny_conv_example, tiny_example, tiny_mlp_example, tiny_two_layer_example

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Each step player the site embeds: its path in the site, its title, the graph it steps
# through. A lesson with a player adds a line here and an <iframe> in its page.
STEP_PLAYERS = {
    "players/first-lesson.html": ("Backprop through the first lesson's graph, one node at a time", tiny_example),
    "players/lesson-2.html": ("Backprop through the two-layer network, one node at a time", tiny_two_layer_example),
    "players/lesson-3.html": ("Backprop through a softmax network, one node at a time", tiny_mlp_example),
    "players/lesson-4.html": ("Backprop through a convolution, one node at a time", tiny_conv_example),
}

# The width in CSS pixels of the drawing's area inside a player's frame: Material's column
# with its table of contents hidden (`on_page_markdown` hides it on the pages that embed a
# player), less the frame's border and the player's margins, measured in Chromium: 850 in
# a 1,220-px window, 865 at 1,300 and 1,400, 880 at 1,000 (the navigation folds away).
# Each player is laid out to fit it at its natural size (tests/test_site.py checks).
PLAYER_WIDTH = 850

# Repository files that become site pages under another name.
RENAMED = {"README.md": "index.md", "benchmarks/RESULTS.md": "benchmarks.md"}
PAGE_SOURCES = {site: repo for repo, site in RENAMED.items()}

LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")
FENCE = re.compile(r"^\s*(```|~~~)")


def site_path(repo_path):
    """Where the repository file `repo_path` is in the site, or None if the site lacks it."""
    repo_path = repo_path.rstrip("/")
    if repo_path in RENAMED:
        return RENAMED[repo_path]
    if repo_path == "examples" or repo_path.startswith("examples/"):
        return "examples.md"  # one page shows every example
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    return None


def rewrite_links(markdown, page_uri):
    """Links written relative to a page's place in the repository, made relative to its
    place in the site; links the site cannot serve are left for strict mode to report."""
    repo_dir = posixpath.dirname(PAGE_SOURCES.get(page_uri, "docs/" + page_uri))
    site_dir = posixpath.dirname(page_uri)

    def rewrite(match):
        target = match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return match.group(0)
        in_site = site_path(posixpath.normpath(posixpath.join(repo_dir, target)))
        if in_site is None:
            return match.group(0)
        return match.group(1) + posixpath.relpath(in_site, site_dir or ".") + match.group(3)

    lines, in_code = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            in_code = not in_code
        lines.append(line if in_code or FENCE.match(line) else LINK.sub(rewrite, line))
    return "\n".join(lines)


def examples_page():
    """Markdown for examples.md: each script in examples/ with its docstring and source,
    and each notebook with its title."""
    parts = ["# Examples", "",
             "Each script runs as it is (`python examples/NAME.py`); the tests run every one.", ""]
    for script in sorted((ROOT / "examples").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        summary, _, details = docstring.partition("\n")
        parts += [f"## {script.name}", "", summary, "", details.strip(), "",
                  "```python", source.rstrip("\n"), "```", ""]
    for notebook in sorted((ROOT / "examples").glob("*.md")):
        title = re.search(r"(?m)^# (.+)$", notebook.read_text(encoding="utf-8")).group(1)
        parts += [f"## {notebook.name} (notebook)", "",
                  f"{title}: a Jupyter notebook kept as text (MyST Markdown). Open it with Jupyter "
                  f"and jupytext, as the README's Lessons section shows.", ""]
    return "\n".join(parts)


# The scratch folder of the build under way and the folder to return to: MkDocs runs one
# build at a time and calls these hooks in turn, so module state is enough.
_scratch = None


def on_pre_build(config):
    """Run the pages' code blocks in a scratch folder, left again in on_post_build."""
    global _scratch
    _scratch = (tempfile.TemporaryDirectory(prefix="minigraph-docs-"), os.getcwd())
    os.chdir(_scratch[0].name)


def on_post_build(config):
    _leave_scratch()


def on_build_error(error):
    _leave_scratch()


def _leave_scratch():
    global _scratch
    if _scratch is not None:
        folder, previous = _scratch
        os.chdir(previous)
        folder.cleanup()
        _scratch = None


def on_files(files, config):
    """Add the pages and pictures that are made, not written: home, benchmark results,
    examples, figures, step players."""
    def add(uri, content):
        stale = files.get_file_from_path(uri)  # e.g. figures left in docs/figures by make_figures.py
        if stale is not None:
            files.remove(stale)
        files.append(File.generated(config, uri, content=content))

    add("index.md", (ROOT / "README.md").read_text(encoding="utf-8"))
    add("benchmarks.md", (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8"))
    add("examples.md", examples_page())
    with tempfile.TemporaryDirectory(prefix="minigraph-figures-") as folder:
        for path in make_figures.write_figures(folder):
            add(f"figures/{path.name}", path.read_bytes())
        for uri, (title, build_graph) in STEP_PLAYERS.items():
            player = mg.save_steps_html(build_graph(), pathlib.Path(folder) / "player.html", title=title,
                                        width=PLAYER_WIDTH)
            add(uri, player.read_bytes())
    return files


def on_page_markdown(markdown, page, config, files):
    """Links made relative to the site; a page that embeds a step player gives it the
    width of the table of contents too (Material's `hide: [toc]`), so the player's drawing
    needs no sideways panning."""
    if 'class="step-player"' in markdown:
        page.meta["hide"] = [*page.meta.get("hide", []), "toc"]
    return rewrite_links(markdown, page.file.src_uri)
