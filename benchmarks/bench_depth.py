"""Depth: a chain of 1,000 / 10,000 / 100,000 elementwise nodes, forward + backward.

    python benchmarks/bench_depth.py [--quick]

Each link multiplies by a constant vector (4 elements): building the chain is the forward
pass (as in an eager framework), then backward runs from its end. The hand-written baseline
does the same multiplications and the backward products in a plain loop. Targets: ≤ 3 µs
per node at 100,000, and time per node flat (within 1.5×) from 1,000 to 100,000.
"""

import pathlib
import statistics
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import minigraph as mg  # noqa: E402
from harness import Row, optional, print_rows, time_interleaved  # noqa: E402

FACTOR = np.full(4, 0.9999)
START = np.full(4, 0.5)


def hand_chain(length):
    value, values = START, []
    for _ in range(length):
        values.append(value)
        value = value * FACTOR
    grad = np.ones_like(value)
    for _ in range(length):
        grad = grad * FACTOR
    return grad


def minigraph_chain(length):
    x, factor = mg.parameter(START), mg.constant(FACTOR)
    node = x
    for _ in range(length):
        node = node * factor
    node.backward(np.ones_like(START))
    return x.grad


def torch_chain(torch):
    def chain(length):
        x = torch.tensor(START, requires_grad=True)
        factor = torch.tensor(FACTOR)
        node = x
        for _ in range(length):
            node = node * factor
        node.backward(torch.ones(4, dtype=torch.float64))
        return x.grad
    return chain


def run(quick=False):
    lengths = (100, 1000) if quick else (1_000, 10_000, 100_000)
    workloads = {"hand-written numpy": hand_chain, "minigraph": minigraph_chain}
    if (torch := optional("torch")) is not None:
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
                target, met = "≤ 3 µs/node", median <= 3.0
            rows.append(Row(f"depth, chain of {length:,}", name, median, min(micro), max(micro),
                            "µs/node", ratio=None if name == "hand-written numpy" else statistics.median(samples) / base,
                            target=target or "", met=met, baseline=name == "hand-written numpy"))
    ours = per_node["minigraph"]
    spread = max(ours.values()) / min(ours.values())
    rows.append(Row(f"depth, {lengths[0]:,} to {lengths[-1]:,}", "minigraph: slowest / fastest µs per node",
                    spread, spread, spread, "×", target="≤ 1.5×", met=spread <= 1.5,
                    note="flat means no hidden quadratic work"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
