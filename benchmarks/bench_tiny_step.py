"""A tiny step (4 features × 1 sample, 10,000 gradient-descent steps): per-step overhead.

    python benchmarks/bench_tiny_step.py [--quick] [--profile]

With arrays this small every step is bookkeeping, so this measures what the engine costs
per node. Target: ≤ 2× the hand-written numpy step. The step is also timed in parts
(forward, backward fused and as written, the SGD update) beside one numpy call, the unit
every part is made of; --profile prints a cProfile.
"""

import functools
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import minigraph as mg  # noqa: E402
from harness import optional, optional_torch, print_rows, rows_against, time_interleaved  # noqa: E402
from workloads import (  # noqa: E402
    LEARNING_RATE, autograd_lesson, hand_lesson, lesson_graph, replay_lesson, synthetic_lesson_data, torch_lesson,
)


def run(quick=False):
    steps, repeats = (100, 2) if quick else (10_000, 7)
    x, y = synthetic_lesson_data(4, 1)
    workloads = {"hand-written numpy": hand_lesson, "minigraph, Graph replay": replay_lesson,
                 "minigraph, Graph replay, unfused": functools.partial(replay_lesson, fuse=False)}
    if (torch := optional_torch()) is not None:
        workloads["PyTorch eager (peer)"] = torch_lesson(torch)
    if (autograd := optional("autograd")) is not None:
        workloads["HIPS autograd (peer)"] = autograd_lesson(autograd)
    seconds = time_interleaved(
        {name: (lambda lesson=lesson: lesson(x, y, steps)) for name, lesson in workloads.items()}, repeats
    )
    rows = rows_against(
        f"tiny step 4×1, {steps} steps", seconds, "hand-written numpy", unit="µs/step",
        scale=1e6 / steps, targets={"minigraph, Graph replay": 2.0},
    )
    return rows + parts(x, y, steps, repeats)


def parts(x, y, steps, repeats):
    """The replayed step taken apart: each part run `steps` times on its own, as µs per step
    and as a ratio to the whole hand-written step, timed interleaved with it."""
    cost, w, b = lesson_graph(mg.constant(x, name="x"), mg.constant(y, name="y"))
    graph, optimizer = mg.Graph(cost), mg.SGD([w, b], LEARNING_RATE)
    graph.backward(fuse=True)

    def repeat(part):
        def run():
            for _ in range(steps):
                part()
        return run

    seconds = time_interleaved({
        "hand-written numpy": lambda: hand_lesson(x, y, steps),
        "minigraph part: forward() replay": repeat(graph.forward),
        "minigraph part: backward(fuse=True)": repeat(lambda: graph.backward(fuse=True)),
        "minigraph part: backward() as written": repeat(graph.backward),
        "minigraph part: SGD step()": repeat(optimizer.step),
        "numpy: one multiply of two 4-element arrays": repeat(lambda: np.multiply(x, x)),
    }, repeats)
    return rows_against(f"tiny step 4×1 in parts, {steps} each", seconds, "hand-written numpy",
                        unit="µs/step", scale=1e6 / steps)


def profile(steps=20_000):
    """Where a replayed step spends its time, by function (cProfile, sorted by own time)."""
    import cProfile
    import pstats

    x, y = synthetic_lesson_data(4, 1)
    profiler = cProfile.Profile()
    profiler.runcall(replay_lesson, x, y, steps)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        print_rows(run(quick="--quick" in sys.argv))
