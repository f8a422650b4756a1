"""Every script in examples/ runs, as a user would run it."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(script, *args):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_example_has_a_test():
    tested = {"first_lesson.py", "step_through.py", "custom_op.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_first_lesson_on_bundled_digits():
    out = run("first_lesson.py")
    assert "cost after iteration 0: 0.698154" in out and "test accuracy 98.15%" in out


def test_first_lesson_on_sign_language(sign_language_dir):
    out = run("first_lesson.py", sign_language_dir)
    assert "cost after iteration 0: 14.011394" in out and "test accuracy 93.55%" in out


@pytest.mark.needs_dot
def test_step_through_writes_the_picture_and_the_player(tmp_path):
    out = run("step_through.py", tmp_path)
    assert "∂cost/∂w = [[−0.1821 ]\n                [ 0.01765]]" in out
    assert (tmp_path / "graph.svg").stat().st_size > 0 and (tmp_path / "backprop.html").stat().st_size > 0


def test_custom_op_checks_and_explains_softplus():
    out = run("custom_op.py")
    assert out.count("gradient check (central): passed") == 2
    assert "s = softplus(v)" in out and "∂cost/∂v = [[0.2689 0.6225]]" in out
