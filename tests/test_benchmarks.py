"""Each benchmark script runs on tiny sizes, so none of them can rot between `make bench`es.

The figures of a quick run mean nothing and are not checked; that the table is written
with every benchmark in it is. The figures the README and the performance page quote must
be in the committed table that `make bench` wrote.
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_and_the_table_is_written(tmp_path):
    out = tmp_path / "RESULTS.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    table = out.read_text()
    assert "| benchmark | workload | median | min | max | unit | ratio | target | met | note |" in table
    for name in ("lesson synthetic", "tiny step", "depth, chain of", "memory", "float32 lesson",
                 "two-layer network, bundled digits", "MLP bundled digits", "test accuracy: minigraph", "CNN bundled digits",
                 "player: 23 nodes"):
        assert name in table, name
    assert "did NOT start" not in table  # the player's page opened and its script ran
    assert "numpy" in table and "cores" in table


def numbers(text, pattern=r"(?<![\w.])\d+\.\d+(?![\d.]*e)"):
    """Every number written with a decimal point (or, given a pattern, as it matches), as
    (value, decimals shown)."""
    return [(float(n), len(n.partition(".")[2])) for n in re.findall(pattern, text)]


@pytest.mark.parametrize("page, section", [
    ("README.md", ("## How fast", "## Read more")),
    ("docs/performance.md", ("| script |", None)),
])
def test_every_figure_the_docs_quote_is_in_the_measured_table(page, section):
    text = (ROOT / page).read_text(encoding="utf-8")
    start, end = section
    text = text[text.index(start):text.index(end) if end else None]
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    measured = [value for value, _ in numbers(results, r"\d+(?:\.\d+)?")]
    quoted = numbers(text)
    assert len(quoted) > 20
    missing = [f"{value:.{places}f}" for value, places in quoted
               if not any(abs(m - value) <= 0.5 * 10**-places + 1e-12 for m in measured)]
    assert not missing, f"{page} quotes figures that benchmarks/RESULTS.md does not hold: {missing}"
