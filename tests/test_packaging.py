"""The package as a user gets it: sdist and wheel built, checked, installed in a fresh venv.

`python -m build` makes the sdist and then the wheel from that sdist, so a working wheel
proves the sdist is complete. The fresh virtualenv gets the wheel itself; for numpy,
scikit-learn and the rest it reuses the distributions of the virtualenv running the tests
through a path line (no download, seconds instead of a minute). A path line does not run
that virtualenv's own .pth files, so the editable install of this checkout cannot leak in,
and the tests check where minigraph is imported from.
"""

import ast
import email.parser
import html.parser
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "site", "dist", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", "minigraph-out", "figures")


def run(*command, cwd=None):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=cwd,
                            timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """sdist and wheel, built from a copy of the checkout (the build writes egg-info beside it)."""
    source = tmp_path_factory.mktemp("source") / "minigraph"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    # No isolation: setuptools is pinned in the test lock, so the build needs no download.
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source)
    [sdist], [wheel] = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    return sdist, wheel


@pytest.fixture(scope="module")
def fresh_venv(dist, tmp_path_factory):
    """A new virtualenv with the wheel installed: its python and its site-packages."""
    _, wheel = dist
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site_packages = pathlib.Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site_packages / "reuse-test-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel)
    return python, site_packages


def test_twine_accepts_both(dist):
    out = run(sys.executable, "-m", "twine", "check", "--strict", *dist)
    assert out.count("PASSED") == 2


def test_version_is_written_once_and_the_metadata_reads_it(dist):
    import minigraph

    _, wheel = dist
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"minigraph-{minigraph.__version__}.dist-info/METADATA").decode()
    assert email.parser.Parser().parsestr(metadata)["Version"] == minigraph.__version__
    assert "version = " not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("[")[0]


def wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


class LinkTargets(html.parser.HTMLParser):
    """Every href and src in a page of HTML."""

    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value for name, value in attrs if name in ("href", "src")]


def relative_targets(markdown_text):
    """The links and pictures of a Markdown text, as a package index renders it, that do not
    name their host: on the package's page they would point nowhere."""
    import markdown

    page = LinkTargets()
    page.feed(markdown.markdown(markdown_text, extensions=["fenced_code", "tables"]))
    return [target for target in page.targets if not re.match(r"https?://[^/]", target)]


def test_the_package_page_has_no_link_or_picture_that_points_nowhere(dist):
    _, wheel = dist
    metadata = wheel_metadata(wheel)
    assert metadata["Description-Content-Type"] == "text/markdown"
    page = metadata.get_payload()
    assert page.startswith("# minigraph") and "pip install minigraph" in page
    assert relative_targets(page) == []
    # The checker finds what broke the old page: the README's picture and its links into docs/.
    readme = relative_targets((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "docs/readme-graph.svg" in readme and "docs/tutorial.md" in readme


@pytest.mark.needs_dot  # the ten lines draw the graph
def test_the_package_pages_code_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "PYPI.md").read_text(encoding="utf-8"), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)  # it writes graph.svg and backprop.html here
    for block in blocks:
        exec(compile(block, "PYPI.md block", "exec"), {})
    assert {path.name for path in tmp_path.iterdir()} == {"graph.svg", "backprop.html"}


def test_the_mit_license_is_in_the_metadata_the_wheel_and_the_sdist(dist):
    sdist, wheel = dist
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 the minigraph authors\n")
    metadata = wheel_metadata(wheel)
    assert metadata["License-Expression"] == "MIT" and metadata.get_all("License-File") == ["LICENSE"]
    with zipfile.ZipFile(wheel) as archive:
        [licensed] = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licensed).decode() == license_text
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "PYPI.md"} <= names


def test_wheel_holds_minigraph_only(dist):
    _, wheel = dist
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("minigraph-")} == {"minigraph"}
    assert "minigraph/models/logistic_regression.py" in names


def test_sdist_holds_what_builds_tests_and_documents_it(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ["pyproject.toml", "README.md", "models/datasets.py", "minigraph/node.py", "tests/conftest.py",
                   "docs/tutorial.md", "docs/hooks.py", "mkdocs.yml", "examples/first_lesson.md",
                   "requirements.lock", "requirements-test.lock", "Makefile"]:
        assert needed in names, needed
    assert not [name for name in names if name.startswith(("site/", "docs/figures/", ".venv/"))]


def test_fresh_install_imports_from_itself_and_adds_no_top_level_models(fresh_venv, tmp_path):
    python, site_packages = fresh_venv
    # Run from an empty folder: from the checkout, the current folder would shadow the install.
    out = run(python, "-c", "import importlib.util, minigraph, minigraph.models; "
                            "print(minigraph.__file__); print(minigraph.models.__file__); "
                            "print(importlib.util.find_spec('models'))", cwd=tmp_path)
    package, models, top_level_models = out.splitlines()
    assert pathlib.Path(package).is_relative_to(site_packages)
    assert pathlib.Path(models).is_relative_to(site_packages / "minigraph")
    assert top_level_models == "None"
    assert not (site_packages / "models").exists()


def test_installed_command_runs_the_first_lesson(fresh_venv, tmp_path):
    python, _ = fresh_venv
    command = python.parent / "minigraph"
    assert "demo" in run(command, "--help", cwd=tmp_path)
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (make test installs it)")
    out = run(command, "demo", "--no-progress", "--out", tmp_path / "out", cwd=tmp_path)
    assert "cost after iteration   0: 0.698154" in out and "test accuracy  98.15 %" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"cost.png", "graph.svg", "backprop.html"}


def requirement_name(line):
    """`scikit-learn>=1.6; extra == "x"` -> "scikit-learn", normalised as pip compares names."""
    return re.split(r"[\s<>=!~;\[(]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def imported_top_level_modules(code):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_every_module_the_library_imports_is_a_core_dependency_pinned_in_the_runtime_lock(dist):
    """What `pip install minigraph` (or make demo's requirements.lock) brings is enough to import
    every module, minigraph.testing (Hypothesis) included. The one exception is
    minigraph.show.notebook, whose anywidget is the `notebook` extra and whose ImportError names it
    (tests/test_notebook_widget.py)."""
    _, wheel = dist
    metadata = wheel_metadata(wheel)
    core = {requirement_name(r) for r in metadata.get_all("Requires-Dist") if "extra ==" not in r}
    assert "hypothesis" in core
    sources = {f"{package}/{path.name}": path.read_text(encoding="utf-8")
               for package in ("minigraph", "models") for path in (ROOT / package).glob("*.py")
               if path.name != "notebook.py"}
    needed = distributions_imported_by(sources, local={"minigraph", "models"})
    missing = {name: sorted(files) for name, files in needed.items() if name not in core}
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"
    pinned = pinned_in("requirements.lock")
    assert not core - pinned, f"core dependencies requirements.lock does not pin: {sorted(core - pinned)}"


def pinned_in(*locks):
    """The distributions the lock files pin (each lock pins what it installs, dependencies included)."""
    return {requirement_name(line) for lock in locks for line in (ROOT / lock).read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def distributions_imported_by(sources, local):
    """{distribution: where it is imported} for the third-party imports of Python `sources`
    ({where: code}); stdlib and the `local` modules left out."""
    import importlib.metadata

    distributions = importlib.metadata.packages_distributions()
    needed = {}
    for where, code in sources.items():
        for module in imported_top_level_modules(code):
            if module in sys.stdlib_module_names or module in local:
                continue
            for name in distributions.get(module, [module]):
                needed.setdefault(requirement_name(name), set()).add(where)
    return needed


def test_the_site_imports_only_what_make_docs_installs():
    """`make docs` installs requirements.lock and requirements-docs.lock, none of the tests'
    packages: every import in the code blocks the site runs and in its build hooks must come
    from those two. (A page importing Hypothesis, which only the tests installed, broke
    make docs on a fresh clone while make test, whose venv has everything, built the site.)
    CI proves it for real: .ci/run runs make demo, then make docs, before make test."""
    sources = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.py")}
    for page in (ROOT / "docs").glob("*.md"):
        blocks = re.findall(r"^```python[^\n]*exec=\"on\"[^\n]*\n(.*?)^```", page.read_text(encoding="utf-8"),
                            re.S | re.M)
        sources.update({f"{page.name} block {i}": block for i, block in enumerate(blocks, 1)})
    assert len(sources) > 20  # the pages' blocks were found
    needed = distributions_imported_by(sources, local={"minigraph", "models", "make_figures", "hooks"})
    installed = pinned_in("requirements.lock", "requirements-docs.lock")
    missing = {name: sorted(where) for name, where in needed.items() if name not in installed}
    assert not missing, f"the site imports what make docs does not install: {missing}"


def test_ci_runs_every_readme_command_in_a_newcomers_order_and_stops_on_a_failure():
    """.ci/run runs the README's make commands, each as the README gives it, in the order a
    newcomer meets them (demo, docs, then test, in full), and any failure fails the run."""
    readme = re.findall(r"^ {4}make (\w+) ", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    run = re.findall(r"^make (?:VENV=\S+ )?(\w+)$", ci, re.M)
    assert run == ["demo", "docs", "test"]
    assert sorted(readme) == sorted(run)
    assert "set -euo pipefail" in ci and "|| true" not in ci
