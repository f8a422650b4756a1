"""Instructions per node and per step, counted by valgrind: a measure noisy machines cannot blur.

    python benchmarks/count_instructions.py [--quick] [--update-baseline] [WORD ...]

Wall-clock ratios on a shared 2-core machine move by ±20 % from run to run, which hides a
change worth 5 %. The number of instructions a workload executes barely moves, so each
workload runs in a fresh interpreter under `valgrind --tool=callgrind` (BLAS and PyTorch on
one thread): set up, warmed up by a small run, then run inside `operator.call`, the only
place where callgrind collects (--toggle-collect), so starting Python, imports and set-up
are left out exactly; the count, divided by its nodes or steps, is its cost. WORDs pick
the workloads whose group or name contains one of them.

The workloads (issue 21): a chain of sigmoid(x + 0.1) on 8 values, per op node; micrograd's
demo network, 2-16-16-1 scalar neurons on 100 points (64,401 op nodes), one training step,
per op node; the lesson's step on 4 features × 1 sample (all bookkeeping) and on 4096 × 348,
replayed and rebuilt, per step. Each beside hand-written numpy and, where installed,
PyTorch and micrograd.

`make bench` (benchmarks/run.py) runs this and compares every count with the committed
benchmarks/instructions-baseline.json, printing a REGRESSION line for any workload that
grew more than 5 %; --update-baseline rewrites that file from this run. --quick runs every
workload in this process on tiny sizes without valgrind (the test suite does, so this script
cannot rot) and checks that the engines agree. Instructions are not time (a cache miss
costs more than an add): keep a change only if the wall-clock tables agree.
"""

import dataclasses
import functools
import importlib.util
import json
import operator
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Row  # noqa: E402
from workloads import (  # noqa: E402
    hand_chain, hand_lesson, micrograd_chain, micrograd_scalar_mlp, minigraph_chain, minigraph_scalar_mlp,
    rebuild_lesson, replay_lesson, scalar_mlp_data, synthetic_lesson_data, torch_chain, torch_lesson,
    torch_scalar_mlp,
)

BASELINE = HERE / "instructions-baseline.json"
REGRESSION = 1.05  # a workload that grows by more than this factor is reported
CHAIN_LINKS, MLP_POINTS, TINY_STEPS, LESSON_STEPS = 5_000, 100, 2_000, 20
REGRESSION_MARK = "REGRESSION"


def _at_most(limit, reference=None):
    """A target: at most `limit` k instructions, or `limit` times the reference workload's
    count (None when that one was not counted)."""
    def met(value, counts):
        if reference is None:
            return value <= limit
        return value <= limit * counts[reference] if reference in counts else None
    return met


# What issue 21 asks, by workload key: (as the table says it, whether a count meets it).
TARGETS = {
    "chain | minigraph": ("≤ 1.5× PyTorch", _at_most(1.5, "chain | PyTorch")),
    "scalar MLP | minigraph": ("≤ 50k", _at_most(50)),
    "tiny step | minigraph, rebuilt each step": ("≤ 3.5× hand", _at_most(3.5, "tiny step | hand-written numpy")),
    "tiny step | minigraph, Graph replay": ("≤ 2.0× hand", _at_most(2.0, "tiny step | hand-written numpy")),
    "lesson | minigraph, Graph replay": ("≤ 1.10× hand", _at_most(1.10, "lesson | hand-written numpy")),
}


@dataclasses.dataclass
class Workload:
    group: str  # workloads of a group do the same work and are compared with each other
    name: str
    make: object  # make(size) -> a function of no arguments running the workload at that size
    size: int
    warm_size: int  # run once before counting starts, so first-call costs are left out
    per: object  # size -> how many nodes or steps the count is divided by
    unit: str
    peer: str = None  # the module it needs, if not minigraph's own

    @property
    def key(self):
        return f"{self.group} | {self.name}"


def _torch():
    torch = __import__("torch")
    torch.set_num_threads(1)
    return torch


def _lesson(lesson, features, samples):
    def make(steps):
        x, y = synthetic_lesson_data(features, samples)
        return lambda: lesson(x, y, steps)
    return make


def _torch_lesson(features, samples):
    return lambda steps: _lesson(torch_lesson(_torch()), features, samples)(steps)


def _chain(chain):
    return lambda links: functools.partial(chain, links)


def _scalar_mlp(prepare):
    return lambda points: prepare(scalar_mlp_data(points))


def scalar_mlp_nodes(points):
    """Op nodes of micrograd's demo on `points` points (see workloads.scalar_mlp_cost)."""
    return 643 * points + points + 1


def workloads(quick=False):
    links, points, tiny, lesson = (20, 2, 5, 2) if quick else (CHAIN_LINKS, MLP_POINTS, TINY_STEPS, LESSON_STEPS)
    lesson_data = (64, 20) if quick else (4096, 348)
    chain_nodes, step = (lambda n: 2 * n), (lambda n: n)
    found = [
        Workload("chain", "hand-written numpy", _chain(hand_chain), links, 10, chain_nodes, "node"),
        Workload("chain", "minigraph", _chain(minigraph_chain), links, 10, chain_nodes, "node"),
        Workload("chain", "PyTorch", lambda n: _chain(torch_chain(_torch()))(n), links, 10, chain_nodes, "node",
                 peer="torch"),
        Workload("chain", "micrograd (ReLU for sigmoid)", _chain(micrograd_chain), links, 10, chain_nodes, "node",
                 peer="micrograd"),
        Workload("scalar MLP", "minigraph", _scalar_mlp(minigraph_scalar_mlp), points, 1, scalar_mlp_nodes,
                 "node"),
        Workload("scalar MLP", "PyTorch", lambda n: _scalar_mlp(torch_scalar_mlp(_torch()))(n), points, 1,
                 scalar_mlp_nodes, "node", peer="torch"),
        Workload("scalar MLP", "micrograd", _scalar_mlp(micrograd_scalar_mlp), points, 1, scalar_mlp_nodes,
                 "node", peer="micrograd"),
    ]
    for group, steps, (features, samples) in (("tiny step", tiny, (4, 1)), ("lesson", lesson, lesson_data)):
        found += [
            Workload(group, "hand-written numpy", _lesson(hand_lesson, features, samples), steps, 2, step, "step"),
            Workload(group, "minigraph, Graph replay", _lesson(replay_lesson, features, samples), steps, 2, step,
                     "step"),
            Workload(group, "minigraph, Graph replay, unfused",
                     _lesson(functools.partial(replay_lesson, fuse=False), features, samples), steps, 2, step,
                     "step"),
            Workload(group, "minigraph, rebuilt each step", _lesson(rebuild_lesson, features, samples), steps, 2,
                     step, "step"),
        ]
        if group == "tiny step":
            found.append(Workload(group, "PyTorch", _torch_lesson(features, samples), steps, 2, step, "step",
                                  peer="torch"))
    return [w for w in found if w.peer is None or importlib.util.find_spec(w.peer) is not None]


def _inside(key):
    """In the interpreter valgrind runs: set up and warm up, then run the workload inside
    operator.call, the one C function whose instructions callgrind collects."""
    workload = next(w for w in workloads() if w.key == key)
    workload.make(workload.warm_size)()
    run = workload.make(workload.size)
    operator.call(lambda: (run(), None)[1])  # what it built is freed inside: freeing is a cost too


def instructions(workload):
    """Instructions the workload executes in a fresh interpreter, after its set-up."""
    with tempfile.TemporaryDirectory() as tmp:
        threads = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", "--collect-atstart=no",
             "--toggle-collect=_operator_call*", sys.executable, __file__, "--inside", workload.key],
            capture_output=True, text=True, env={**os.environ, **threads}, check=True,
        )
    collected = int(re.search(r"Collected\s*:\s*(\d+)", result.stderr).group(1))
    if not collected:
        raise RuntimeError("callgrind collected nothing: this Python hides its C function _operator_call")
    return collected


def count(selected):
    """{workload key: thousands of instructions per node or step}, printed as they come."""
    counts = {}
    for workload in selected:
        counts[workload.key] = instructions(workload) / workload.per(workload.size) / 1e3
        print(f"{workload.key:<52} {counts[workload.key]:9.1f} k instructions per {workload.unit}", flush=True)
    return counts


def rows(selected, counts, baseline):
    """Rows for RESULTS.md: each count, its ratio to the group's hand-written one (to
    PyTorch's in the scalar MLP, which has no hand-written version), the target, and the
    change from the committed baseline, marked when it grew more than 5 %."""
    found = []
    for workload in selected:
        value = counts[workload.key]
        reference = next((key for key in (f"{workload.group} | hand-written numpy", f"{workload.group} | PyTorch")
                          if key in counts), None)
        is_reference = workload.key == reference
        target, met = TARGETS.get(workload.key, ("", None))
        before = baseline.get(workload.key)
        note = ""
        if before is not None:
            note = f"baseline {before:.1f}k, {value / before - 1:+.1%}"
            if value > REGRESSION * before:
                note = f"{REGRESSION_MARK} ({note})"
        found.append(Row(f"instructions, {workload.group}", workload.name, value, value, value,
                         f"k instructions/{workload.unit}",
                         ratio=None if is_reference or reference is None else value / counts[reference],
                         target=target, met=met and met(value, counts), note=note, baseline=is_reference))
    return found


def regressions(counts, baseline):
    """A line for each workload that grew by more than 5 % over the committed baseline."""
    return [f"{REGRESSION_MARK}: {key}: {value:.1f}k instructions, {value / baseline[key] - 1:+.1%} over the "
            f"baseline {baseline[key]:.1f}k (benchmarks/{BASELINE.name})"
            for key, value in counts.items() if key in baseline and value > REGRESSION * baseline[key]]


def load_baseline():
    return json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.is_file() else {}


def quick_check():
    """Every workload once, on tiny sizes, in this process; the engines must agree."""
    results = {w.key: w.make(w.size)() for w in workloads(quick=True)}
    chains = [np.asarray(v) for k, v in results.items() if k.startswith("chain |") and "micrograd" not in k]
    for other in chains[1:]:
        np.testing.assert_allclose(other, chains[0], rtol=1e-10)
    # the cost: a minigraph Node's value, a micrograd Value's or a PyTorch tensor's data
    costs = [float(v.value if hasattr(v, "value") else v.data) for k, v in results.items()
             if k.startswith("scalar MLP |")]
    np.testing.assert_allclose(costs, costs[0], rtol=1e-12)
    return results


def run(quick=False, words=()):
    """Rows for `make bench` (benchmarks/run.py): counts compared with the baseline. Without
    valgrind it says so and gives no rows; --quick checks the workloads without counting."""
    if quick:
        quick_check()
        return []
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: instruction counts skipped (Debian: apt-get install valgrind)")
        return []
    selected = [w for w in workloads() if not words or any(word in w.key for word in words)]
    baseline = load_baseline()
    counts = count(selected)
    for line in regressions(counts, baseline):
        print(line, flush=True)
    return rows(selected, counts, baseline)


def main(argv):
    if argv[:1] == ["--inside"]:
        _inside(argv[1])
        return 0
    if "--quick" in argv:
        quick_check()
        print("every workload ran on tiny sizes and the engines agree")
        return 0
    words = [word for word in argv if not word.startswith("--")]
    if shutil.which("valgrind") is None:
        print("count_instructions.py needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    selected = [w for w in workloads() if not words or any(word in w.key for word in words)]
    counts = count(selected)
    baseline = load_baseline()
    for line in regressions(counts, baseline):
        print(line)
    if "--update-baseline" in argv:
        BASELINE.write_text(json.dumps({**baseline, **{k: round(v, 1) for k, v in counts.items()}}, indent=1,
                                       ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {BASELINE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
