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
