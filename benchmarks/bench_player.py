"""The step player on big graphs: writing the page, its size, opening it, a step, memory.

    python benchmarks/bench_player.py [--quick]

Two kinds of graph. A recurrent net, h ← tanh(w·h + xₜ), whose one weight w feeds every
layer: Graphviz's dot took over 9 minutes to lay out one frame of the 300-node one when
every use of w was an edge from one box. Targets (issue 9): a 300-node graph's page is
written in under 10 s, is under 10 MB and opens in headless Chromium in under 5 s; a
2,000-node graph's page (here with a scope per layer) is written and opens, with memory
under 1 GB. And micrograd's network on scalars (one node per number, tanh neurons, a mean
squared error), flat or with a scope per layer and neuron, of about 2,000 and 5,000 nodes:
issue 19 asks that a step of its player take under 50 ms.

Each page is written in a fresh Python process, which reports its own peak RSS and that
of dot (its child). Another process opens it in headless Chromium: with Selenium (which
`make test` installs) the browser is started first and the navigation is timed up to the
load event, by which the player's script has run; without it, `chromium --dump-dom` is
timed, browser start included. Either way an empty page is timed the same way beside it,
the player must be at step 0 afterwards, and Chromium's largest process's peak RSS is
reported. Steps are timed in the page (Selenium only): every step from the first to the last,
each a click on Next running the player's whole update and the layout it reads to keep the
active box in view; the mean and the slowest (issue 19's target) are reported.
"""

import contextlib
import json
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # the pages are written by this checkout's minigraph, not an installed one

from harness import Row, print_rows  # noqa: E402

MIB = 2**20


def recurrent_net(layers, scoped):
    """cost = Σ h after `layers` steps of h ← tanh(w·h + xₜ); 4 nodes a layer, plus w, h₀
    and the cost. With `scoped`, layer t is built inside mg.scope('step{t}')."""
    import numpy as np

    import minigraph as mg

    rng = np.random.default_rng(0)
    w = mg.parameter(0.5, name="w")
    h = mg.constant(rng.uniform(-1, 1, size=(1, 3)), name="h0")
    for t in range(layers):
        with mg.scope(f"step{t}") if scoped else contextlib.nullcontext():
            x = mg.constant(rng.uniform(-1, 1, size=(1, 3)), name="x")
            h = mg.tanh(w * h + x, name="h")
    return mg.sum(h, name="cost")


# micrograd-style networks: (layer sizes, samples) for about 2,000 and 5,000 nodes.
SCALAR_MLPS = {20: ((2, 2, 1), 1), 2000: ((3, 12, 12, 1), 4), 5000: ((5, 16, 16, 1), 6)}


def scalar_mlp(nodes, scoped):
    """micrograd's MLP on scalars of about `nodes` nodes (SCALAR_MLPS), flat or with a scope
    per layer and neuron: minigraph.testing.scalar_mlp, which the tests draw too."""
    from minigraph.testing import scalar_mlp as build

    sizes, samples = SCALAR_MLPS[nodes]
    return build(sizes, samples, scoped)


def write_child(kind, size, scoped, path):
    """Runs in the subprocess: build the graph, write its page, print JSON figures."""
    import minigraph as mg

    cost = recurrent_net(size, scoped) if kind == "recurrent" else scalar_mlp(size, scoped)
    start = time.perf_counter()
    mg.save_steps_html(cost, path)
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as status:  # VmHWM: this process's own high-water RSS
        peak = int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
    dot_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"nodes": len(mg.Graph(cost)), "seconds": seconds, "peak": peak, "dot_peak": dot_peak}))


def open_child(page, empty):
    """Runs in a subprocess: open the empty page, then the player, in one headless Chromium;
    print JSON with both times, whether the player started, and the browser's peak RSS.

    With Selenium (installed by `make test`) the browser is started first and only the
    navigation is timed, until the load event, by which the page's script has run. Without
    it, `chromium --dump-dom` is timed as a whole, browser start included."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run"]
    with tempfile.TemporaryDirectory(prefix="minigraph-bench-chromium-") as profile:
        flags.append(f"--user-data-dir={profile}")
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            figures = {}
            for name, path in (("empty", empty), ("page", page)):
                start = time.perf_counter()
                dump = subprocess.run([browser, *flags, "--dump-dom", pathlib.Path(path).resolve().as_uri()],
                                      capture_output=True, text=True, timeout=300).stdout
                figures[name] = time.perf_counter() - start
            print(json.dumps({**figures, "ran": 'data-step="0"' in dump, "how": "chromium --dump-dom, start included",
                              "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
            return
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in flags:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
        try:
            driver.get("about:blank")  # the first navigation waits for the browser to settle
            figures = {}
            for name, path in (("empty", empty), ("page", page)):
                start = time.perf_counter()
                driver.get(pathlib.Path(path).resolve().as_uri())
                figures[name] = time.perf_counter() - start
            ran = driver.execute_script("return document.getElementById('player').dataset.step") == "0"
            driver.set_script_timeout(900)  # every step of a 5,000-node graph
            figures["step"] = driver.execute_script(STEP_TIMER)
            peak = max(_peak_rss_mib(pid) for pid in _descendants(driver.service.process.pid))
        finally:
            driver.quit()
    print(json.dumps({**figures, "ran": ran, "how": "Selenium: navigation to load, browser already started",
                      "peak": peak}))


# Every step from the first to the last, each a click on Next (the player's whole update, and
# the layout it reads to keep the active box in view): the mean and the slowest, in seconds.
STEP_TIMER = """
const next = document.querySelector('#player .next');
const times = [];
while (!next.disabled) {
  const start = performance.now();
  next.click();
  times.push((performance.now() - start) / 1000);
}
return {mean: times.reduce((a, b) => a + b) / times.length, slowest: Math.max(...times), steps: times.length};
"""


def _descendants(pid):
    """The ids of every process below `pid` (Linux /proc)."""
    parents = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for kid in parents.get(stack.pop(), []):
            found.append(kid)
            stack.append(kid)
    return found


def _peak_rss_mib(pid):
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        return next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")), 0.0)
    return 0.0


def child(*args):
    result = subprocess.run([sys.executable, __file__, "--child", *map(str, args)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def measure(kind, size, scoped, repeats, folder):
    """Rows for one graph: write time, page size, open time, step time and peak memory."""
    path = folder / f"player-{kind}-{size}-{'scoped' if scoped else 'flat'}.html"
    writes = [child("write", kind, size, int(scoped), path) for _ in range(repeats)]
    nodes = writes[0]["nodes"]
    if kind == "recurrent":
        label = f"player: {nodes} nodes, {size} layers sharing w" + (", a scope each" if scoped else "")
    else:
        label = f"player: micrograd-style MLP on scalars, {nodes} nodes" + (
            ", a scope per layer and neuron" if scoped else ", no scopes")
    big = nodes >= 1000  # the 2,000-node graph must be written and open; the 300-node one, fast
    rows = [_row(label, "write the page", [w["seconds"] for w in writes], "s", *(() if big else (10, "< 10 s"))),
            _row(label, "page size", [path.stat().st_size / MIB], "MiB", *(() if big else (10, "< 10 MiB")))]
    gib = (1024, "< 1 GiB") if big else ()
    rows += [_row(label, "peak RSS: Python writing the page", [w["peak"] for w in writes], "MiB", *gib),
             _row(label, "peak RSS: dot", [w["dot_peak"] for w in writes], "MiB", *gib)]
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        empty = folder / "empty.html"
        empty.write_text('<!DOCTYPE html><html><body><div id="player" data-step="0"></div></body></html>')
        opens = [child("open", path, empty) for _ in range(repeats)]
        baseline = statistics.median([o["empty"] for o in opens])
        ran = all(o["ran"] for o in opens)
        limit, target = (float("inf"), "the player starts") if big else (5, "< 5 s")
        rows.append(_row(label, "open in headless Chromium", [o["page"] for o in opens], "s", limit, target,
                         ok=ran, note=f"{opens[0]['how']}; an empty page: {baseline:.3f} s"
                         + ("" if ran else "; the player did NOT start")))
        steps = [o["step"] for o in opens if "step" in o]
        if steps:
            note = f"{steps[0]['steps']} steps, each a click on Next"
            rows += [_row(label, "a step (Next) in headless Chromium, mean", [1000 * s["mean"] for s in steps], "ms",
                          note=note),
                     _row(label, "the slowest step in headless Chromium", [1000 * s["slowest"] for s in steps], "ms",
                          50, "< 50 ms", note=note)]
        rows.append(_row(label, "peak RSS: Chromium", [o["peak"] for o in opens], "MiB", *gib,
                         note="its largest process"))
    else:
        rows.append(Row(label, "open in headless Chromium", float("nan"), float("nan"), float("nan"), "s",
                        note="chromium is not installed: not measured"))
    return rows


def _row(label, workload, samples, unit, limit=None, target="", ok=True, note=""):
    median = statistics.median(samples)
    return Row(label, workload, median, min(samples), max(samples), unit, target=target,
               met=None if limit is None else (median < limit and ok), note=note)


def run(quick=False):
    plans = [("recurrent", 5, False, 1), ("recurrent", 5, True, 1), ("mlp", 20, True, 1)] if quick else [
        ("recurrent", 75, False, 3), ("recurrent", 500, True, 1), ("recurrent", 500, False, 1),
        ("mlp", 2000, False, 1), ("mlp", 2000, True, 1), ("mlp", 5000, False, 1), ("mlp", 5000, True, 1)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="minigraph-bench-player-") as folder:
        for kind, size, scoped, repeats in plans:
            rows += measure(kind, size, scoped, repeats, pathlib.Path(folder))
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        kind, *rest = sys.argv[sys.argv.index("--child") + 1:]
        if kind == "write":
            write_child(rest[0], int(rest[1]), rest[2] == "1", rest[3])
        else:
            open_child(rest[0], rest[1])
    else:
        print_rows(run(quick="--quick" in sys.argv))
