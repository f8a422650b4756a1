"""float32 end to end: the lesson trained in float32 against float64, time and accuracy.

    python benchmarks/bench_float32.py [--quick]

Trains models.LogisticRegression (150 steps) on the Sign Language Digits lesson when
../shared is there, else on synthetic 4096-pixel images labelled by a hidden linear rule.
Targets: float32 faster than float64, and the same test accuracy.
"""

import pathlib
import statistics
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import Row, print_rows, time_interleaved  # noqa: E402
from minigraph.models import LogisticRegression  # noqa: E402
from workloads import sign_language_split  # noqa: E402

def data_split(quick):
    if not quick and (split := sign_language_split()) is not None:
        return "sign-language 348/62", split
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    features = 64 if quick else 4096
    X = rng.random((410, features))
    y = (X @ rng.standard_normal(features) > 0).astype(int)
    return f"synthetic {features} features", train_test_split(X, y, test_size=0.15, random_state=42)


def run(quick=False):
    source, (X_train, X_test, y_train, y_test) = data_split(quick)
    iterations, repeats = (10, 2) if quick else (150, 7)
    data = {np.float64: (X_train, X_test), np.float32: (X_train.astype(np.float32), X_test.astype(np.float32))}
    models = {}

    def fit(dtype):
        models[dtype] = LogisticRegression(iterations=iterations).fit(data[dtype][0], y_train)

    seconds = time_interleaved({"float64": lambda: fit(np.float64), "float32": lambda: fit(np.float32)}, repeats)
    accuracy = {dtype: model.score(data[dtype][1], y_test) for dtype, model in models.items()}
    assert models[np.float32].coef_.dtype == np.float32
    label = f"float32 lesson, {source}, {iterations} steps"
    base = statistics.median(seconds["float64"])
    ratio = statistics.median(seconds["float32"]) / base
    same = accuracy[np.float32] == accuracy[np.float64]
    return [
        Row(label, "float64 fit", base, min(seconds["float64"]), max(seconds["float64"]), "s",
            note=f"test accuracy {accuracy[np.float64]:.2%}", baseline=True),
        Row(label, "float32 fit", statistics.median(seconds["float32"]), min(seconds["float32"]),
            max(seconds["float32"]), "s", ratio=ratio, target="< 1× and same accuracy",
            met=ratio < 1 and same, note=f"test accuracy {accuracy[np.float32]:.2%}"),
    ]


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
