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


def test_instruction_counts_run_quick_and_flag_a_workload_that_grew(monkeypatch):
    """count_instructions.py runs every workload in-process on tiny sizes (no valgrind needed),
    the committed baseline names only workloads that exist, and a count 5 % over it is
    reported as a regression while one within 5 % is not."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "count_instructions.py"), "--quick"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import count_instructions

    keys = {w.key for w in count_instructions.workloads()}
    baseline = count_instructions.load_baseline()
    assert baseline and set(baseline) <= keys | {k for k in baseline if "PyTorch" in k or "micrograd" in k}
    grown = {key: value * 1.06 for key, value in baseline.items()}
    lines = count_instructions.regressions(grown, baseline)
    assert len(lines) == len(baseline) and all(line.startswith("REGRESSION: ") for line in lines)
    assert count_instructions.regressions({key: value * 1.04 for key, value in baseline.items()}, baseline) == []
    selected = [w for w in count_instructions.workloads() if w.key in baseline]
    rows = count_instructions.rows(selected, {w.key: grown[w.key] for w in selected}, baseline)
    assert all(count_instructions.REGRESSION_MARK in row.note for row in rows)
