"""Depth: a chain of 1,000 / 10,000 / 100,000 nodes, built, then backpropagated.

    python benchmarks/bench_depth.py [--quick]

Each link adds a constant vector (4 elements) and takes the sigmoid: two nodes per link.
Building the chain is the forward pass (as in an eager framework), then backward runs
from its end. The hand-written baseline does the same arithmetic, keeping each sigmoid's
output for its derivative σ(1−σ) on the way back. Targets: ≤ 5 µs per node at 100,000 and
≤ 0.5× PyTorch's µs per node in the same run; time per node flat (within 1.3×) from 1,000
to 100,000. A row with the garbage collector paused shows what its passes cost.
"""

import gc
import pathlib
import statistics
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import Row, optional_torch, print_rows, time_interleaved  # noqa: E402
from workloads import hand_chain, minigraph_chain, torch_chain  # noqa: E402

SHIFT = np.full(4, 0.001)
START = np.full(4, 0.5)


def four_values(chain):
    """workloads' chain on 4 values shifted by a constant vector: `nodes` nodes, two a link."""
    return lambda nodes: chain(nodes // 2, START, SHIFT)


def without_gc(chain):
    """The same chain with Python's cyclic garbage collector paused while it runs: what the
    collector's passes over the young nodes cost (a diagnostic; the library never pauses it)."""
    def run(nodes):
        gc.disable()
        try:
            return chain(nodes)
        finally:
            gc.enable()
    return run


def run(quick=False):
    lengths = (100, 1000) if quick else (1_000, 10_000, 100_000)
    workloads = {"hand-written numpy": four_values(hand_chain), "minigraph": four_values(minigraph_chain),
                 "minigraph, garbage collector paused": without_gc(four_values(minigraph_chain))}
    if (torch := optional_torch()) is not None:
        workloads["PyTorch eager (peer)"] = four_values(torch_chain(torch))
    np.testing.assert_allclose(workloads["minigraph"](lengths[0]), workloads["hand-written numpy"](lengths[0]))
    per_node = {}
    rows = []
    for length in lengths:
        # Short chains are quick and the noisiest, so they get more runs.
        repeats = 2 if quick else min(40, max(5, 400_000 // length))
        seconds = time_interleaved(
            {name: (lambda chain=chain: chain(length)) for name, chain in workloads.items()}, repeats
        )
        base = statistics.median(seconds["hand-written numpy"])
        for name, samples in seconds.items():
            micro = [s / length * 1e6 for s in samples]
            median = statistics.median(micro)
            per_node.setdefault(name, {})[length] = median
            target = met = None
            if name == "minigraph" and length == lengths[-1]:
                target, met = "≤ 5 µs/node", median <= 5.0
            rows.append(Row(f"depth, chain of {length:,}", name, median, min(micro), max(micro),
                            "µs/node", ratio=None if name == "hand-written numpy" else statistics.median(samples) / base,
                            target=target or "", met=met, baseline=name == "hand-written numpy"))
    ours = per_node["minigraph"]
    spread = max(ours.values()) / min(ours.values())
    rows.append(Row(f"depth, {lengths[0]:,} to {lengths[-1]:,}", "minigraph: slowest / fastest µs per node",
                    spread, spread, spread, "×", target="≤ 1.3×", met=spread <= 1.3,
                    note="flat means no hidden quadratic work"))
    if "PyTorch eager (peer)" in per_node:
        versus = ours[lengths[-1]] / per_node["PyTorch eager (peer)"][lengths[-1]]
        rows.append(Row(f"depth, chain of {lengths[-1]:,}", "minigraph / PyTorch µs per node", versus, versus,
                        versus, "×", target="≤ 0.5×", met=versus <= 0.5, note="both in this run"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
