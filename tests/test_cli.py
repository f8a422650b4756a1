"""The command line, run as a user runs it, in a subprocess; its many failures also in process."""

import io
import math
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minigraph import cli, cli_demo


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


def test_demo_help_names_every_lesson_an_option_serves_and_its_default_there():
    # The help said '--epochs  with mlp (default: 30)' while --model cnn takes it too, with
    # 40; a learner reading it could not tell that --epochs, --batch-size, --hidden and
    # --seed work for the CNN, nor with which defaults.
    from minigraph.cli_demo import DEMO_DEFAULTS

    text = " ".join(run("demo", "--help").stdout.split()).replace("two- layer", "two-layer")  # wrapped at its hyphen
    options = text[text.index("options:"):]
    flags = ["--no-progress", "--model"] + ["--" + o.replace("_", "-") for o in DEMO_DEFAULTS["logistic"] | DEMO_DEFAULTS["mlp"]]
    for model, defaults in DEMO_DEFAULTS.items():
        for option, default in defaults.items():
            flag = "--" + option.replace("_", "-")
            start = options.index(flag + " ")  # each entry begins with its flag and metavar
            ends = [options.find(f" {other} ", start + 1) for other in flags if other != flag]
            described = options[start:min([end for end in ends if end > start] + [len(options)])]
            assert f"{default} for {model}" in described, (flag, model, described)


def test_a_reader_that_stops_early_gets_no_error_message():
    # `minigraph trace | head -5` printed 'minigraph trace: error: [Errno 32] Broken pipe'.
    process = subprocess.Popen([sys.executable, "-m", "minigraph", "trace"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # before it writes anything (it takes a moment to start)
    _, errors = process.communicate(timeout=120)
    assert errors == "" and process.returncode in (0, 141)


def test_version_is_the_packages():
    import minigraph

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"minigraph {minigraph.__version__}\n"


@pytest.mark.parametrize("command, mistake", [
    (["demo"], ["--modle", "mlp"]), (["demo"], ["--modle=mlp"]), (["demo", "--model", "mlp"], ["extra"]),
    (["render", "graph.svg"], ["--rankdr", "TB"]), (["trace"], ["--shown", "3"]),
])
def test_an_unknown_option_is_reported_by_its_command_with_the_commands_usage(capsys, command, mistake):
    with pytest.raises(SystemExit) as exit:
        cli.main([*command, *mistake])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: minigraph {command[0]} [-h]")  # the command's options, not the top level's
    assert err.endswith(f"minigraph {command[0]}: error: unrecognized arguments: {' '.join(mistake)}\n")


def test_a_misspelt_demo_option_end_to_end_lists_the_demos_options():
    result = run("demo", "--modle", "mlp")
    assert result.returncode == 2 and result.stdout == ""
    assert "--model {logistic,two-layer,mlp,cnn}" in result.stderr
    assert result.stderr.splitlines()[-1] == "minigraph demo: error: unrecognized arguments: --modle mlp"


@pytest.mark.needs_dot
def test_demo_on_bundled_digits(tmp_path):
    result = run("demo", "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("cost after iteration") for line in lines) == 15
    assert any(line.startswith("minigraph     train accuracy") for line in lines)
    assert any(line.startswith("scikit-learn  train accuracy") for line in lines)
    assert "warning" not in result.stdout + result.stderr  # 306 train and 54 test images are enough
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


@pytest.mark.parametrize("train, test, warned", [(30, 30, []), (29, 30, ["train"]), (30, 1, ["test"]),
                                                  (5, 1, ["train", "test"])])
def test_a_split_under_30_images_is_named_as_too_small_for_its_accuracy(train, test, warned):
    warnings = cli_demo.small_split_warnings(train, test)
    assert [line.split()[2] for line in warnings] == warned  # "warning: the <split> split ..."
    sizes = {"train": train, "test": test}
    for line, split in zip(warnings, warned):
        assert f"only {sizes[split]} image" in line and f"moves it by {100 / sizes[split]:.0f} points" in line


@pytest.mark.needs_dot
@pytest.mark.parametrize("model", [[], ["--model", "two-layer", "--iterations", "5"]], ids=["logistic", "two-layer"])
def test_demo_on_a_tiny_folder_warns_that_its_accuracies_mean_little(tmp_path, sign_language_dir, capsys, model):
    sample = sign_language_dir / "jpg-sample"
    images = sum(len(list((sample / digit).iterdir())) for digit in "01")  # zeros vs ones
    test = math.ceil(0.15 * images)  # the demo's 85/15 split, rounded as train_test_split does
    assert cli.main(["demo", "--no-progress", "--data", str(sample), "--out", str(tmp_path), *model]) == 0
    out = capsys.readouterr().out
    assert f"{images - test} train / {test} test images" in out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: the train split has only {images - test} images, so its accuracy means little: one image "
        f"moves it by {100 / (images - test):.0f} points; give the demo at least 30 train images",
        f"warning: the test split has only {test} image, so its accuracy means little: one image "
        f"moves it by 100 points; give the demo at least 30 test images",
    ]


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_a_ten_digit_demo_on_a_folder_too_small_to_split_says_how_many_images_it_needs(tmp_path, sign_language_dir,
                                                                                      model):
    sample = sign_language_dir / "jpg-sample"
    each = {len(list(folder.iterdir())) for folder in sample.iterdir()}
    assert len(each) == 1  # (the sample holds as many photos of every digit)
    result = run("demo", "--model", model, "--data", str(sample), "--out", str(tmp_path))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (f"minigraph demo: error: ten_digits_split: {sample} holds {10 * each.pop()} images, "
            in result.stderr)
    assert "so it needs at least 61 images and 2 of each digit (e.g. 7 of each)" in result.stderr
    assert "test_size" not in result.stderr  # scikit-learn's own words are gone


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
    assert "∂cost/∂b = −0.1643" in result.stdout


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


def lesson_folder(root, X):
    root.mkdir()
    np.save(root / "X.npy", X)
    np.save(root / "Y.npy", np.eye(10)[[0, 1] * (len(X) // 2)])
    return root


def photo_folder(root, bad_photo):
    """A good photo of a 0, and `bad_photo` as the photo of a 1."""
    for digit, content in [("0", jpeg_bytes()), ("1", bad_photo)]:
        (root / digit).mkdir(parents=True)
        (root / digit / "photo.jpg").write_bytes(content)
    return root


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.linear_gradient("L").save(buffer, "JPEG")
    return buffer.getvalue()


def one_line_error(stderr, command):
    """The error line, checking that it is the only line on stderr (no traceback)."""
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith(f"minigraph {command}: error: "), stderr
    return stderr


DEMO = ["demo", "--no-progress", "--out", "{tmp}/out"]


# In process, so that a dozen failures cost no dozen interpreter start-ups; the end-to-end
# tests below run a few of them as a user would, in a subprocess.
@pytest.mark.parametrize(
    "arguments, message",
    [
        ([*DEMO, "--iterations", "0"], "The 'iterations' parameter of LogisticRegression must be an int in the range [1, inf). Got 0 instead."),
        ([*DEMO, "--learning-rate", "nan"], "The 'learning_rate' parameter of LogisticRegression must be a float"),
        ([*DEMO, "--per-digit", "0"], "lesson_split: max_per_digit must be at least 1, got 0"),
        ([*DEMO, "--data", "{bad range}"], "{bad range}/X.npy holds float64 pixels from 2.0 to 2.0"),
        ([*DEMO, "--data", "{empty}"], "{empty}/X.npy holds no images"),
        ([*DEMO, "--data", "{not an image}"], "cannot read the image {not an image}/1/photo.jpg: cannot identify image file"),
        ([*DEMO, "--data", "{truncated}"], "cannot read the image {truncated}/1/photo.jpg: Truncated File Read"),
        (["render", "--model", "lesson", "{tmp}/graph.svg", "--data", "{truncated}"], "{truncated}/1/photo.jpg"),
        (["demo", "--no-progress", "--out", "{a file}"], "--out {a file} is a file; give a folder"),
        (["demo", "--no-progress", "--out", "{a file}/out"], "Not a directory: '{a file}/out'"),
        (["render", "{a folder}"], "Is a directory: '{a folder}'"),
        (["render", "{a file}/graph.svg"], "Not a directory: '{a file}/graph.svg'"),
    ],
    ids=["iterations", "learning rate", "per digit", "X.npy out of [0, 1]", "empty X.npy", "not an image",
         "truncated photo", "render's data", "out is a file", "out under a file", "render onto a folder",
         "render under a file"],
)
def test_every_failure_ends_in_one_line_naming_what_is_wrong(tmp_path, capsys, arguments, message):
    paths = {
        "tmp": tmp_path,
        "bad range": lesson_folder(tmp_path / "bad-range", np.full((2, 64, 64), 2.0)),
        "empty": lesson_folder(tmp_path / "empty", np.zeros((0, 64, 64))),
        "not an image": photo_folder(tmp_path / "not-an-image", b"not a photo"),
        "truncated": photo_folder(tmp_path / "truncated", jpeg_bytes()[:300]),
        "a file": tmp_path / "a-file",
        "a folder": tmp_path / "a-folder.svg",
    }
    paths["a file"].write_text("not a folder")
    paths["a folder"].mkdir()
    with pytest.raises(SystemExit) as exit:
        cli.main([argument.format_map(paths) for argument in arguments])
    assert exit.value.code == 2
    assert message.format_map(paths) in one_line_error(capsys.readouterr().err, arguments[0])


def test_a_message_of_several_lines_is_joined_into_one(capsys, monkeypatch):
    def fails(args):
        raise ValueError("Input X contains NaN.\nLogisticRegression does not accept NaN.")

    monkeypatch.setitem(cli.COMMANDS, "trace", fails)
    with pytest.raises(SystemExit):
        cli.main(["trace"])
    assert one_line_error(capsys.readouterr().err, "trace").endswith("contains NaN. LogisticRegression does not accept NaN.\n")


def test_bad_data_fails_in_one_line_end_to_end(tmp_path):
    data = photo_folder(tmp_path / "data", jpeg_bytes()[:300])
    result = run("demo", "--data", str(data), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(data / "1" / "photo.jpg") in one_line_error(result.stderr, "demo")


def test_an_output_folder_that_cannot_be_made_fails_in_one_line_end_to_end(tmp_path):
    (tmp_path / "a-file").write_text("a file, so nothing can be made under it, even by root")
    result = run("demo", "--out", str(tmp_path / "a-file" / "out"), "--no-progress")
    assert result.returncode == 2
    assert "Not a directory" in one_line_error(result.stderr, "demo")


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no one may write into: chmod for users, the immutable attribute for root."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if is_writable(folder) and shutil.which("chattr"):  # root ignores permissions
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        if is_writable(folder):
            pytest.skip("cannot make a folder read-only here (root, and no chattr +i)")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def is_writable(folder):
    try:
        (folder / "probe").write_text("")
    except PermissionError:
        return False
    (folder / "probe").unlink()
    return True


def test_a_read_only_output_folder_fails_in_one_line_end_to_end(read_only_folder):
    result = run("demo", "--out", str(read_only_folder), "--no-progress")
    assert result.returncode == 2
    assert str(read_only_folder / "cost.png") in one_line_error(result.stderr, "demo")


@pytest.mark.parametrize("progress", [False, True], ids=["quiet", "with progress bar"])
def test_ctrl_c_ends_with_one_line_and_exit_code_130(tmp_path, progress):
    command = [sys.executable, "-m", "minigraph", "demo", "--iterations", "100000000", "--out", str(tmp_path)]
    demo = subprocess.Popen(command + ([] if progress else ["--no-progress"]), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        demo.stdout.readline()
        assert "100000000 iterations" in demo.stdout.readline()  # printed just before training
        if progress:
            bar = ""
            while "training:" not in bar and demo.poll() is None:  # until the bar is drawn
                bar += demo.stderr.read(1)
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=60)
    finally:
        demo.kill()
    assert demo.returncode == 130
    if progress:  # the bar stops where it was, on its own line; the message follows
        assert "Traceback" not in stderr
        stderr = stderr.splitlines(keepends=True)[-1]
    assert stderr == "minigraph demo: interrupted\n"


# trace and render: the user's own graph, options that do not apply, formats ---------------

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
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def test_trace_max_shown_elides_bigger_arrays(capsys):
    full = succeeds(capsys, "trace", "--max-shown", "6")
    short = succeeds(capsys, "trace", "--max-shown", "2")
    assert "x is a constant (2×3): [[0.2 0.9 0.4]" in full
    assert "x is a constant (2×3): too big to print: min 0.1, max 0.9" in short  # labelled, never equated
    assert "∂cost/∂b = −0.1643" in short  # a scalar is always a number


def fails(capsys, *argv):
    """Run the CLI in this process; return its one line of error, checking the exit code."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(list(argv))
    assert stopped.value.code == 2
    return one_line_error(capsys.readouterr().err, argv[0])


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
    assert message in fails(capsys, *argv)


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


@pytest.mark.needs_dot
def test_render_fits_the_width_it_is_told_unless_a_rankdir_is_given(capsys, tmp_path):
    succeeds(capsys, "render", str(tmp_path / "column.svg"))
    succeeds(capsys, "render", str(tmp_path / "wall.svg"), "--width", "5000")
    column, wall = svg_size(tmp_path / "column.svg"), svg_size(tmp_path / "wall.svg")
    assert column[0] * 4 / 3 <= 700 < wall[0] * 4 / 3 <= 5000  # pt to CSS px
    assert "positive number; got 0" in fails(capsys, "render", str(tmp_path / "none.svg"), "--width", "0")
