"""Memory: peak RSS of the 150-step lesson, minigraph against the hand-written loop.

    python benchmarks/bench_memory.py [--quick]

Each workload runs in a fresh Python process (so neither inherits the other's heap), with
the same imports, on the same synthetic 4096×348 data. Targets: peak RSS ≤ 1.10× the hand
loop's, and no growth across iterations: RSS at step 150 within 64 KiB of RSS at step 10.
A leak of even one small (1, 348) array per step would add 380 KiB over those 140 steps;
64 KiB leaves room for the allocator taking a page or two.
"""

import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Row, print_rows  # noqa: E402

PAGE = 4096
GROWTH_ALLOWED_MIB = 64 / 1024


def current_rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def peak_rss_mib():
    """This process's high-water RSS. Not getrusage's ru_maxrss: Linux carries that over
    from the parent across fork and exec, so a child of a big process reports the parent's."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def child(workload, features, samples, steps):
    """Runs in the subprocess: train, sample RSS at steps 10 and last, print JSON."""
    from workloads import hand_lesson, replay_lesson, synthetic_lesson_data

    lesson = {"hand": hand_lesson, "replay": replay_lesson}[workload]
    x, y = synthetic_lesson_data(features, samples)
    samples_at = {}
    checkpoints = {min(10, steps) - 1, steps - 1}

    def on_step(step):
        if step in checkpoints:
            samples_at[step + 1] = current_rss_mib()

    lesson(x, y, steps, on_step=on_step)
    print(json.dumps({"peak": peak_rss_mib(), "at": samples_at}))


def measure(workload, features, samples, steps):
    result = subprocess.run(
        [sys.executable, __file__, "--child", workload, str(features), str(samples), str(steps)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def run(quick=False):
    features, samples, steps, repeats = (64, 20, 12, 1) if quick else (4096, 348, 150, 3)
    runs = {name: [measure(name, features, samples, steps) for _ in range(repeats)] for name in ("hand", "replay")}
    peak = {name: sorted(r["peak"] for r in results)[len(results) // 2] for name, results in runs.items()}
    label = f"memory {features}×{samples}, {steps} steps"
    rows = [
        Row(label, "hand-written numpy: peak RSS", peak["hand"], min(r["peak"] for r in runs["hand"]),
            max(r["peak"] for r in runs["hand"]), "MiB", baseline=True),
        Row(label, "minigraph, Graph replay: peak RSS", peak["replay"],
            min(r["peak"] for r in runs["replay"]), max(r["peak"] for r in runs["replay"]), "MiB",
            ratio=peak["replay"] / peak["hand"], target="≤ 1.1×", met=peak["replay"] <= 1.1 * peak["hand"]),
    ]
    first, last = min(10, steps), steps
    for name, results in runs.items():
        growth = max(r["at"][str(last)] - r["at"][str(first)] for r in results)
        rows.append(Row(label, f"{'hand-written numpy' if name == 'hand' else 'minigraph, Graph replay'}: "
                               f"RSS growth step {first}→{last}", growth, growth, growth, "MiB",
                        target="≤ 64 KiB" if name == "replay" else "",
                        met=(growth <= GROWTH_ALLOWED_MIB) if name == "replay" else None,
                        note="largest over the runs"))
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        position = sys.argv.index("--child")
        workload, features, samples, steps = sys.argv[position + 1:position + 5]
        child(workload, int(features), int(samples), int(steps))
    else:
        print_rows(run(quick="--quick" in sys.argv))
