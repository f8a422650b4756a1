"""Each benchmark script runs on tiny sizes, so none of them can rot between `make bench`es.

The figures of a quick run mean nothing and are not checked; that the table is written
with every benchmark in it is.
"""

import pathlib
import subprocess
import sys

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
                 "two-layer network, bundled digits", "MLP bundled digits", "test accuracy: minigraph",
                 "player: 23 nodes"):
        assert name in table, name
    assert "did NOT start" not in table  # the player's page opened and its script ran
    assert "numpy" in table and "cores" in table
