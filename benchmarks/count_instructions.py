"""Instructions per step, counted by valgrind: a measure these noisy machines cannot blur.

    python benchmarks/count_instructions.py [WORKLOAD ...]

Wall-clock ratios on a shared 2-core machine move by ±20 % from run to run, which hides a
change worth 5 %. The number of instructions a workload executes barely moves, so this
script runs each workload under `valgrind --tool=callgrind` (BLAS on one thread), subtracts
the instructions of starting Python and importing everything, and prints millions of
instructions per step, with each minigraph workload's ratio to the hand-written one. It
is a diagnostic for development, not part of `make bench`: valgrind is slow (a few minutes
for all workloads) and not installed everywhere. Instructions are not time (a cache miss
costs more than an add), so a change is kept only if the wall-clock table agrees.
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import minigraph as mg  # noqa: E402
from workloads import hand_lesson, rebuild_lesson, replay_lesson, synthetic_lesson_data  # noqa: E402

TINY_STEPS, LESSON_STEPS, CHAIN_NODES = 2000, 20, 10_000


def chain(nodes):
    node = x = mg.parameter(np.full(4, 0.5))
    shift = mg.constant(np.full(4, 0.001))
    for _ in range(nodes // 2):
        node = mg.sigmoid(node + shift)
    node.backward(np.ones(4))
    return x.grad


def hand_chain(nodes):
    value, outputs = np.full(4, 0.5), []
    for _ in range(nodes // 2):
        value = 1 / (1 + np.exp(-(value + 0.001)))
        outputs.append(value)
    grad = np.ones(4)
    for out in reversed(outputs):
        grad = grad * out * (1 - out)
    return grad


def lesson_workloads(steps):
    def run(lesson):
        return lambda data: lesson(*data, steps)
    return {
        "hand-written numpy": run(hand_lesson),
        "minigraph, Graph replay": run(replay_lesson),
        "minigraph, Graph replay, unfused": run(functools.partial(replay_lesson, fuse=False)),
        "minigraph, rebuilt each step": run(rebuild_lesson),
    }


# name: (steps or nodes to divide by, data made before counting starts, {workload: function of that data})
GROUPS = {
    f"tiny step 4×1 ({TINY_STEPS} steps)": (
        TINY_STEPS, lambda: synthetic_lesson_data(4, 1), lesson_workloads(TINY_STEPS)),
    f"lesson 4096×348 ({LESSON_STEPS} steps)": (
        LESSON_STEPS, lambda: synthetic_lesson_data(4096, 348), lesson_workloads(LESSON_STEPS)),
    f"chain of {CHAIN_NODES:,} nodes": (CHAIN_NODES, lambda: CHAIN_NODES, {
        "hand-written numpy": hand_chain,
        "minigraph": chain,
    }),
}


def instructions(group, workload):
    """Instructions of one workload in a fresh interpreter under callgrind (None: only the
    start, imports and the group's data, which every count then has subtracted)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             sys.executable, __file__, "--inside", group, workload or ""],
            capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, check=True,
        )
    return int(re.search(r"Collected\s*:\s*(\d+)", result.stderr).group(1))


def main(argv):
    if argv[:1] == ["--inside"]:
        group, workload = argv[1], argv[2]
        _, prepare, workloads = GROUPS[group]
        data = prepare()
        if workload:
            workloads[workload](data)
        return 0
    if shutil.which("valgrind") is None:
        print("count_instructions.py needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    for group, (steps, _, workloads) in GROUPS.items():
        if argv and not any(word in group for word in argv):
            continue
        startup = instructions(group, None)
        per_unit = {name: (instructions(group, name) - startup) / steps / 1e6 for name in workloads}
        unit = "node" if "chain" in group else "step"
        base = per_unit["hand-written numpy"]
        for name, count in per_unit.items():
            ratio = "" if name == "hand-written numpy" else f"  {count / base:.3f}× the hand-written"
            print(f"{group} | {name:<34} {count:.4f} M instructions per {unit}{ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
