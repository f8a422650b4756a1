"""`--model FILE.py:FUNCTION`: the user's file runs as their own script would, and when their
code fails the CLI shows their frames and lines, not its own or runpy's."""

import sys

import pytest

from minigraph import cli

BROKEN_SYNTAX = '''import minigraph as mg


def cost(:
    return mg.parameter(1.0)
'''

RAISES = '''import minigraph as mg


def scale():
    return 1 / 0


def cost():
    w = mg.parameter([1.0, 2.0], name="w")
    return mg.sum(w * scale())
'''

RAISES_ON_IMPORT = '''import minigraph as mg

START = undefined_name + 1


def cost():
    return mg.parameter(1.0)
'''

RECORDS_ARGV = '''import sys
import minigraph as mg

ARGV_WHEN_RUN = list(sys.argv)


def cost():
    assert ARGV_WHEN_RUN == sys.argv, (ARGV_WHEN_RUN, sys.argv)
    return mg.sum(mg.parameter([float(len(sys.argv)), 2.0], name=sys.argv[0].rsplit("/", 1)[-1]))
'''


def write(tmp_path, text):
    path = tmp_path / "model.py"
    path.write_text(text)
    return path


def failure(capsys, *argv):
    with pytest.raises(SystemExit) as stopped:
        cli.main(list(argv))
    return stopped.value.code, capsys.readouterr().err


def assert_only_the_users_frames(err):
    for internal in ("runpy", "minigraph/cli.py", "_run_code", "load_user_graph"):
        assert internal not in err


def test_a_syntax_error_shows_the_users_line_and_caret(tmp_path, capsys):
    path = write(tmp_path, BROKEN_SYNTAX)
    code, err = failure(capsys, "trace", "--model", f"{path}:cost")
    assert code == 1
    assert err.startswith(f"minigraph trace: --model {path}:cost: {path} failed:\n")
    assert f'File "{path}", line 4\n' in err and "    def cost(:\n" in err and "^" in err
    assert err.rstrip().splitlines()[-1].startswith("SyntaxError: ")
    assert "Traceback" not in err
    assert_only_the_users_frames(err)


def test_a_function_that_raises_shows_the_users_frames_from_the_call_on(tmp_path, capsys):
    path = write(tmp_path, RAISES)
    code, err = failure(capsys, "trace", "--model", f"{path}:cost")
    assert code == 1
    lines = err.rstrip().splitlines()
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[2] == f'  File "{path}", line 10, in cost'
    assert lines[3].strip() == "return mg.sum(w * scale())"
    inner = lines.index(f'  File "{path}", line 5, in scale')
    assert inner > 3 and lines[inner + 1].strip() == "return 1 / 0"
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert_only_the_users_frames(err)


def test_an_error_while_the_file_runs_shows_its_module_line(tmp_path, capsys):
    path = write(tmp_path, RAISES_ON_IMPORT)
    code, err = failure(capsys, "render", str(tmp_path / "out.svg"), "--model", f"{path}:cost")
    assert code == 1
    assert f'  File "{path}", line 3, in <module>\n' in err
    assert err.rstrip().splitlines()[-1] == "NameError: name 'undefined_name' is not defined"
    assert_only_the_users_frames(err)


def test_a_folder_named_like_a_python_file_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "dir.py").mkdir()
    code, err = failure(capsys, "trace", "--model", f"{tmp_path / 'dir.py'}:cost")
    assert code == 2
    assert f"--model {tmp_path / 'dir.py'}:cost: {tmp_path / 'dir.py'} is a folder, not a Python file" in err


def test_the_file_runs_with_its_own_argv_and_the_clis_is_given_back(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, RECORDS_ARGV)
    argv = ["minigraph", "trace", "--model", f"{path}:cost"]
    monkeypatch.setattr(sys, "argv", list(argv))
    assert cli.main(argv[1:]) == 0
    out = capsys.readouterr().out
    assert "model.py is a parameter (2): [1 2]" in out  # len(sys.argv) == 1: [FILE]
    assert sys.argv == argv


def test_a_minigraph_error_in_the_users_code_points_at_their_line_not_into_the_engine(tmp_path, capsys):
    path = write(tmp_path, """import minigraph as mg


def cost():
    w = mg.parameter([1.0, 2.0], name="w")
    return mg.sum(w @ mg.constant([[1.0, 2.0, 3.0]]))
""")
    code, err = failure(capsys, "trace", "--model", f"{path}:cost")
    assert code == 1
    lines = err.rstrip().splitlines()
    assert lines[2] == f'  File "{path}", line 6, in cost'
    assert not [line for line in lines if line.startswith("  File ") and str(path) not in line]
    assert lines[-1].startswith("minigraph.errors.ShapeError: matmul: needs operands of 2 or more dimensions")
