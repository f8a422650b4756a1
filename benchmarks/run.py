"""Run every benchmark and write benchmarks/RESULTS.md (`make bench`).

    python benchmarks/run.py [--quick] [--out PATH] [--only SCRIPT ...]

--quick runs each script on tiny sizes (the test suite does this so they cannot rot); its
figures mean nothing. --only runs the named scripts (e.g. count_instructions) and replaces
their rows in the existing table. Targets that a full run misses, and instruction counts
that grew more than 5 % over benchmarks/instructions-baseline.json, are listed at the end;
the exit code is 0 either way, since a missed target is a finding, not a crash.
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_depth  # noqa: E402
import bench_float32  # noqa: E402
import bench_lesson  # noqa: E402
import bench_memory  # noqa: E402
import bench_networks  # noqa: E402
import bench_player  # noqa: E402
import bench_tiny_step  # noqa: E402
import count_instructions  # noqa: E402
from harness import markdown, print_rows, replace_rows  # noqa: E402

BENCHMARKS = [bench_lesson, bench_tiny_step, bench_depth, bench_memory, bench_float32, bench_networks, bench_player,
              count_instructions]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the scripts run")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write the table")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", choices=[b.__name__ for b in BENCHMARKS],
                        help="run only these and replace their rows in the existing table")
    args = parser.parse_args(argv)
    rows = []
    for benchmark in BENCHMARKS:
        if args.only and benchmark.__name__ not in args.only:
            continue
        print(f"== {benchmark.__name__}", flush=True)
        found = benchmark.run(quick=args.quick)
        print_rows(found)
        rows += found
    out = pathlib.Path(args.out)
    if args.only:
        out.write_text(replace_rows(out.read_text(encoding="utf-8"), rows), encoding="utf-8")
    else:
        command = "make bench" if not args.quick else "python benchmarks/run.py --quick"
        title = "minigraph benchmarks" + (" (quick smoke run: sizes too small to mean anything)" if args.quick else "")
        out.write_text(markdown(rows, title, command), encoding="utf-8")
    print(f"wrote {args.out}")
    for r in rows:
        if r.met is False:
            print(f"missed: {r.benchmark} / {r.workload}: {r.median:.4g} {r.unit}, target {r.target}")
        if count_instructions.REGRESSION_MARK in r.note:
            print(f"{r.note}: {r.benchmark} / {r.workload} is {r.median:.4g} {r.unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
