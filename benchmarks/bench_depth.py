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

import minigraph as mg  # noqa: E402
from harness import Row, optional_torch, print_rows, time_interleaved  # noqa: E402

SHIFT = np.full(4, 0.001)
START = np.full(4, 0.5)


def hand_chain(nodes):
    value, outputs = START, []
    for _ in range(nodes // 2):
        value = 1 / (1 + np.exp(-(value + SHIFT)))
        outputs.append(value)
    grad = np.ones_like(value)
    for out in reversed(outputs):
        grad = grad * out * (1 - out)  # the add passes the gradient through unchanged
    return grad


def minigraph_chain(nodes):
    x, shift = mg.parameter(START), mg.constant(SHIFT)
    node = x
    for _ in range(nodes // 2):
        node = mg.sigmoid(node + shift)
    node.backward(np.ones_like(START))
    return x.grad


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


def torch_chain(torch):
    def chain(nodes):
        x = torch.tensor(START, requires_grad=True)
        shift = torch.tensor(SHIFT)
        node = x
        for _ in range(nodes // 2):
            node = torch.sigmoid(node + shift)
        node.backward(torch.ones(4, dtype=torch.float64))
        return x.grad
    return chain


def run(quick=False):
    lengths = (100, 1000) if quick else (1_000, 10_000, 100_000)
    workloads = {"hand-written numpy": hand_chain, "minigraph": minigraph_chain,
                 "minigraph, garbage collector paused": without_gc(minigraph_chain)}
    if (torch := optional_torch()) is not None:
        workloads["PyTorch eager (peer)"] = torch_chain(torch)
    np.testing.assert_allclose(minigraph_chain(lengths[0]), hand_chain(lengths[0]))
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
