"""A tiny step (4 features × 1 sample, 10,000 gradient-descent steps): per-step overhead.

    python benchmarks/bench_tiny_step.py [--quick] [--profile]

With arrays this small every step is bookkeeping, so this measures what the engine costs
per node. Target: ≤ 2× the hand-written numpy step. --profile prints where the time goes.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import optional, optional_torch, print_rows, rows_against, time_interleaved  # noqa: E402
from workloads import autograd_lesson, hand_lesson, replay_lesson, synthetic_lesson_data, torch_lesson  # noqa: E402


def run(quick=False):
    steps, repeats = (100, 2) if quick else (10_000, 7)
    x, y = synthetic_lesson_data(4, 1)
    workloads = {"hand-written numpy": hand_lesson, "minigraph, Graph replay": replay_lesson}
    if (torch := optional_torch()) is not None:
        workloads["PyTorch eager (peer)"] = torch_lesson(torch)
    if (autograd := optional("autograd")) is not None:
        workloads["HIPS autograd (peer)"] = autograd_lesson(autograd)
    seconds = time_interleaved(
        {name: (lambda lesson=lesson: lesson(x, y, steps)) for name, lesson in workloads.items()}, repeats
    )
    return rows_against(
        f"tiny step 4×1, {steps} steps", seconds, "hand-written numpy", unit="µs/step",
        scale=1e6 / steps, targets={"minigraph, Graph replay": 2.0},
    )


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
