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
    assert "demo" in result.stdout
    demo = run("demo", "--help")
    assert "--data PATH" in demo.stdout and "--out DIR" in demo.stdout and "bundled" in demo.stdout


def test_demo_on_bundled_digits(tmp_path):
    result = run("demo", "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("cost after iteration") for line in lines) == 15
    assert any(line.startswith("minigraph     train accuracy") for line in lines)
    assert any(line.startswith("scikit-learn  train accuracy") for line in lines)
    assert (tmp_path / "out" / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
