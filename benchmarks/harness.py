"""Timing and reporting shared by the benchmark scripts.

Machines here are shared and noisy, so every figure is a ratio against a baseline timed in
the same process, with the workloads interleaved (baseline, candidate, baseline, ...) so
that a slow spell hits both, and medians reported alongside min and max.
"""

import dataclasses
import datetime
import os
import platform
import statistics
import time

import numpy as np


@dataclasses.dataclass
class Row:
    """One line of RESULTS.md."""

    benchmark: str
    workload: str
    median: float
    low: float
    high: float
    unit: str
    ratio: float = None  # median / baseline median; None for the baseline itself
    target: str = ""
    met: bool = None
    note: str = ""
    baseline: bool = False  # the row the others' ratios are taken against


def time_interleaved(workloads, repeats, warmup=1):
    """Seconds per call of each workload, as {name: [seconds, ...]}, runs interleaved."""
    for _ in range(warmup):
        for run in workloads.values():
            run()
    seconds = {name: [] for name in workloads}
    for _ in range(repeats):
        for name, run in workloads.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def rows_against(benchmark, seconds, baseline, unit="s", scale=1.0, targets=None, notes=None):
    """Rows for every workload, each with its ratio to the baseline's median."""
    targets, notes = targets or {}, notes or {}
    base = statistics.median(seconds[baseline])
    rows = []
    for name, samples in seconds.items():
        median = statistics.median(samples)
        ratio = None if name == baseline else median / base
        limit = targets.get(name)
        rows.append(Row(
            benchmark, name, median * scale, min(samples) * scale, max(samples) * scale, unit,
            ratio=ratio,
            target="" if limit is None else f"≤ {limit:g}×",
            met=None if limit is None else ratio <= limit,
            note=notes.get(name, ""),
            baseline=name == baseline,
        ))
    return rows


def optional(module):
    """The module if it is installed, else None: peers are measured only where present."""
    try:
        return __import__(module)
    except ImportError:
        return None


def blas_threads():
    """How many threads numpy's BLAS runs (threadpoolctl), or None if it cannot tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return max(counts) if counts else None


def optional_torch():
    """PyTorch if installed, running as many threads as numpy's BLAS, so that both peers get
    the same cores (PyTorch's own default can differ); else None."""
    torch = optional("torch")
    if torch is not None and (threads := blas_threads()):
        torch.set_num_threads(threads)
    return torch


def machine():
    """Cores, BLAS, numpy and Python versions: what the figures were measured on."""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{info['internal_api']} {info['version']} ({info.get('architecture', '?')}, "
            f"{info['num_threads']} threads)"
            for info in threadpool_info() if info["user_api"] == "blas"
        )
    except ImportError:
        blas = "unknown"
    return {
        "cores": os.cpu_count(),
        "blas": blas or "none found",
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.date.today().isoformat(),
    }


def format_number(value):
    return "" if value is None else f"{value:.4g}"


def markdown(rows, title, command):
    """RESULTS.md: the machine, the command, and one table of every row."""
    info = machine()
    lines = [
        f"# {title}",
        "",
        f"Measured {info['date']} with `{command}` on {info['cores']} cores, "
        f"BLAS {info['blas']}, numpy {info['numpy']}, Python {info['python']} "
        f"({info['platform']}).",
        "",
        "Ratios are medians against the baseline of the same benchmark, timed in the same "
        "process with the runs interleaved. A target column shows what the workload must "
        "reach; `met` says whether this run reached it.",
        "",
        "| benchmark | workload | median | min | max | unit | ratio | target | met | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [table_line(r) for r in rows]
    return "\n".join(lines) + "\n"


def table_line(r):
    """One row of RESULTS.md's table."""
    met = "" if r.met is None else ("yes" if r.met else "**no**")
    ratio = "baseline" if r.baseline else format_number(r.ratio)
    return (f"| {r.benchmark} | {r.workload} | {format_number(r.median)} | {format_number(r.low)} | "
            f"{format_number(r.high)} | {r.unit} | {ratio} | {r.target} | {met} | {r.note} |")


def replace_rows(table, rows):
    """RESULTS.md's text with the rows of `rows`' benchmarks replaced by `rows` (added at the
    end of the table when new): one benchmark measured again without running them all."""
    names = {r.benchmark for r in rows}
    lines = [line for line in table.splitlines() if line.split(" | ")[0][2:] not in names]
    end = max(i for i, line in enumerate(lines) if line.startswith("|")) + 1
    return "\n".join(lines[:end] + [table_line(r) for r in rows] + lines[end:]) + "\n"


def print_rows(rows):
    for r in rows:
        ratio = "" if r.ratio is None else f"  ratio {r.ratio:.3f}"
        verdict = "" if r.met is None else ("  met" if r.met else "  MISSED")
        print(f"{r.benchmark:>10} | {r.workload:<34} median {r.median:.4g} {r.unit}{ratio} "
              f"{r.target}{verdict} {r.note}")
