"""The classic lesson (4096 features × 348 images, 150 steps): minigraph against hand numpy.

    python benchmarks/bench_lesson.py [--quick]

Targets: Graph replay ≤ 1.10× the hand-written loop, rebuilding every iteration ≤ 1.25×,
the same final cost within 1e-9 relative. PyTorch and HIPS autograd join the table when
they are installed.
"""

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import optional, optional_torch, print_rows, rows_against, time_interleaved  # noqa: E402
from workloads import (  # noqa: E402
    autograd_lesson, hand_lesson, rebuild_lesson, replay_lesson, sign_language_split, synthetic_lesson_data,
    torch_lesson,
)

def sign_language_data():
    """The lesson's 348 training images as x (4096, 348) and y (1, 348), or None."""
    split = sign_language_split()
    if split is None:
        return None
    X_train, _, y_train, _ = split
    return np.ascontiguousarray(X_train.T), y_train[np.newaxis, :].astype(float)


def run(quick=False):
    iterations, repeats = (5, 2) if quick else (150, 15)
    datasets = {"synthetic": synthetic_lesson_data(*((64, 20) if quick else (4096, 348)))}
    if not quick and (real := sign_language_data()) is not None:
        datasets["sign-language"] = real
    rows = []
    for data_name, (x, y) in datasets.items():
        workloads = {
            "hand-written numpy": hand_lesson,
            "minigraph, Graph replay": replay_lesson,
            "minigraph, rebuilt each step": rebuild_lesson,
        }
        if (torch := optional_torch()) is not None:
            workloads["PyTorch eager (peer)"] = torch_lesson(torch)
        if (autograd := optional("autograd")) is not None:
            workloads["HIPS autograd (peer)"] = autograd_lesson(autograd)
        finals = {name: lesson(x.copy(), y, iterations) for name, lesson in workloads.items()}
        seconds = time_interleaved(
            {name: (lambda lesson=lesson: lesson(x, y, iterations)) for name, lesson in workloads.items()},
            repeats,
        )
        base = finals["hand-written numpy"]
        notes = {name: f"final cost {cost:.12g}, rel. diff {abs(cost - base) / abs(base):.1e}"
                 for name, cost in finals.items()}
        rows += rows_against(
            f"lesson {data_name} {x.shape[0]}×{x.shape[1]}, {iterations} steps", seconds,
            "hand-written numpy",
            targets={"minigraph, Graph replay": 1.10, "minigraph, rebuilt each step": 1.25},
            notes=notes,
        )
        for name in ("minigraph, Graph replay", "minigraph, rebuilt each step"):
            if abs(finals[name] - base) > 1e-9 * abs(base):
                raise AssertionError(f"{name} ends at cost {finals[name]!r}, the hand loop at {base!r}")
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
