"""The command line, run as a user runs it: in a subprocess."""

import subprocess
import sys

import pytest



def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "minigraph", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("demo", "trace", "render"))
    demo = run("demo", "--help")
    assert "--data PATH" in demo.stdout and "--out DIR" in demo.stdout and "bundled" in demo.stdout


@pytest.mark.needs_dot
def test_demo_on_bundled_digits(tmp_path):
    result = run("demo", "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("cost after iteration") for line in lines) == 15
    assert any(line.startswith("minigraph     train accuracy") for line in lines)
    assert any(line.startswith("scikit-learn  train accuracy") for line in lines)
    assert (tmp_path / "out" / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "out" / "graph.svg").read_text()
    assert "<svg" in svg and "grad" in svg and ">cost<" in svg
    page = (tmp_path / "out" / "backprop.html").read_text()
    assert "first step on 3 images" in page and "Step" in page


@pytest.mark.needs_dot
def test_demo_on_sign_language_prints_the_classic_lesson(tmp_path, sign_language_dir):
    result = run("demo", "--data", str(sign_language_dir), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "cost after iteration   0: 14.011394" in result.stdout
    assert "cost after iteration 140: 0.209658" in result.stdout
    assert "train accuracy  91.95 %   test accuracy  93.55 %" in result.stdout
    assert "100%" in result.stderr  # the progress bar ran to the end


def test_demo_with_a_missing_folder_fails_clearly(tmp_path):
    result = run("demo", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert result.returncode != 0
    assert "minigraph demo: error: load_sign_language_digits: no folder at" in result.stderr
    assert "Traceback" not in result.stderr


def test_trace_narrates_the_tiny_example():
    result = run("trace")
    assert result.returncode == 0, result.stderr
    assert "Forward pass: 10 nodes" in result.stdout
    assert " 16. wᵀ = transpose(w)" in result.stdout
    assert "∂cost/∂b = -0.1643" in result.stdout


@pytest.mark.needs_dot
@pytest.mark.parametrize("name, magic", [("tiny.svg", b"<?xml"), ("tiny.pdf", b"%PDF")])
def test_render_writes_the_format_of_the_file_name(tmp_path, name, magic):
    result = run("render", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_bytes().startswith(magic)


@pytest.mark.needs_dot
def test_render_the_trained_lesson(tmp_path):
    result = run("render", str(tmp_path / "lesson.svg"), "--model", "lesson")
    assert result.returncode == 0, result.stderr
    assert "parameter · 64×1" in (tmp_path / "lesson.svg").read_text()


def test_render_to_a_name_without_suffix_fails_clearly(tmp_path):
    result = run("render", str(tmp_path / "graph"))
    assert result.returncode == 2 and "give it a suffix" in result.stderr


# trace and render: the user's own graph, options that do not apply, formats ---------------

import numpy as np  # noqa: E402

from minigraph.cli import main  # noqa: E402

USER_GRAPH = '''
import minigraph as mg
from neighbour import START  # a module beside this file, as when the file runs as a script


def cost():
    w = mg.parameter([[START], [-1.0]], name="w")
    x = mg.constant([[1.0, 2.0], [3.0, 4.0]], name="x")
    return mg.mean(mg.tanh(w.T @ x, name="h"), name="cost")


def vector():
    return mg.parameter([1.0, 2.0], name="v") * 2


def needs_data(data, scale=1):
    return data


def number():
    return 3


if __name__ == "__main__":
    raise SystemExit("the file must not run as __main__")
'''


@pytest.fixture
def user_graph(tmp_path):
    (tmp_path / "neighbour.py").write_text("START = 0.5\n")
    path = tmp_path / "my_graph.py"
    path.write_text(USER_GRAPH)
    return path


def test_trace_narrates_a_function_from_the_users_file(user_graph):
    result = run("trace", "--model", f"{user_graph}:cost")
    assert result.returncode == 0, result.stderr
    w, x = np.array([[0.5], [-1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    h = np.tanh(w.T @ x)
    dw = x @ ((1 - h**2) / 2).T  # ∂mean(tanh(wᵀx))/∂w, by hand
    assert "Forward pass: 6 nodes" in result.stdout
    assert f"    ∂cost/∂w = [[{dw[0, 0]:.4g}]\n" in result.stdout
    assert f"                [{dw[1, 0]:.4g}]]\n" in result.stdout


def succeeds(capsys, *argv):
    """Run the CLI in this process (no new interpreter to start); return what it printed."""
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_trace_max_shown_summarises_bigger_arrays(capsys):
    full = succeeds(capsys, "trace", "--max-shown", "6")
    short = succeeds(capsys, "trace", "--max-shown", "2")
    assert "x is a constant (2×3): [[0.2 0.9 0.4]" in full
    assert "x is a constant (2×3): mean 0.4667, min 0.1, max 0.9" in short
    assert "∂cost/∂b = -0.1643" in short  # a scalar is always a number


def fails(capsys, *argv):
    """Run the CLI in this process; return its one line of error, checking the exit code."""
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, message", [
    (["trace", "--model", "my_graph"], "--model takes tiny, lesson or FILE.py:FUNCTION, got 'my_graph'"),
    (["trace", "--model", "missing.py:cost"], "there is no file missing.py"),
    (["trace", "--model", "{file}:nothing"], "defines no function 'nothing'"),
    (["trace", "--model", "{file}:needs_data"], "needs_data(data, scale=1) needs arguments"),
    (["trace", "--model", "{file}:number"], "number() returned int, not a minigraph Node or Graph"),
    (["trace", "--model", "{file}:vector"], "trace narrates backward from a scalar (a cost), but 'mul' has shape (2,)"),
    (["trace", "--data", "somewhere"], "--data is only used with --model lesson, not with --model tiny"),
    (["render", "out.svg", "--data", "somewhere"], "--data is only used with --model lesson"),
    (["render", "out.svg", "--model", "{file}:cost", "--data", "x"], "--data is only used with --model lesson"),
    (["render", "out.xyz"], "Graphviz knows no format 'xyz'; name the file such as .svg, .png or .pdf"),
    (["render", "out"], "cannot tell the format of out: give it a suffix such as .svg, .png or .pdf"),
    (["trace", "--max-shown", "-1"], "max_shown must be 0 or more, got -1"),
])
def test_trace_and_render_refuse_what_they_cannot_use_in_one_line(capsys, monkeypatch, user_graph, argv, message):
    monkeypatch.chdir(user_graph.parent)
    argv = [arg.replace("{file}", user_graph.name) for arg in argv]
    err = fails(capsys, *argv)
    assert err.startswith(f"minigraph {argv[0]}: error: ") and message in err


@pytest.mark.needs_dot
def test_render_draws_the_users_graph_with_one_pass_of_gradients(capsys, tmp_path, user_graph):
    succeeds(capsys, "render", str(tmp_path / "mine.svg"), "--model", f"{user_graph}:cost")
    svg = (tmp_path / "mine.svg").read_text()
    assert ">h<" in svg and "grad" in svg
    assert "values only" in succeeds(capsys, "render", str(tmp_path / "v.svg"), "--model", f"{user_graph}:vector")


def svg_size(path):
    import re

    width, height = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', path.read_text()).groups()
    return int(width), int(height)


@pytest.mark.needs_dot
def test_render_rankdir_lays_the_graph_out_across_or_down(capsys, tmp_path):
    for rankdir in ("LR", "TB"):
        succeeds(capsys, "render", str(tmp_path / f"{rankdir}.svg"), "--rankdir", rankdir)
    across, down = svg_size(tmp_path / "LR.svg"), svg_size(tmp_path / "TB.svg")
    assert across[0] > across[1] and down[1] > down[0]
