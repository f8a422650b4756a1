"""The notebooks in examples/ run from top to bottom in a real Jupyter kernel.

They are kept as text (MyST Markdown, read by jupytext) and executed with nbclient on the
ipykernel of this same virtualenv, so a notebook runs against the code under test.
"""

import pathlib

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.needs_dot  # graphs display as drawings made by dot


@pytest.fixture(scope="module")
def first_lesson(tmp_path_factory):
    """The first lesson's notebook, executed in a scratch folder."""
    folder = tmp_path_factory.mktemp("notebook")
    notebook = jupytext.read(EXAMPLES / "first_lesson.md")
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if one fails
    return notebook, folder


def tagged(notebook, tag):
    [cell] = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    return cell


def displayed_types(cell):
    return {kind for output in cell.outputs for kind in output.get("data", {})}


def test_every_cell_ran_and_wrote_nothing_to_stderr(first_lesson):
    notebook, _ = first_lesson
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    errors = [output for cell in code for output in cell.outputs
              if output.output_type == "error" or output.get("name") == "stderr"]
    assert errors == []  # no exception, and no warning leaked to the user


def test_training_prints_the_accuracy_and_plots_the_cost(first_lesson):
    notebook, _ = first_lesson
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs if output.output_type == "stream")
    assert "test accuracy" in printed
    assert any("image/png" in displayed_types(cell) for cell in notebook.cells if cell.cell_type == "code")


def test_a_graph_displays_as_a_drawing(first_lesson):
    notebook, _ = first_lesson
    assert "image/svg+xml" in displayed_types(tagged(notebook, "graph-display"))


def test_a_node_displays_as_a_drawing(first_lesson):
    notebook, _ = first_lesson
    assert "image/svg+xml" in displayed_types(tagged(notebook, "node-display"))


def test_the_step_player_cell_displays_the_widget_with_the_lessons_steps(first_lesson):
    """The kernel side of the notebook widget: the cell's output is a widget view, and the
    widget state nbclient saves is a StepPlayer model running player.js on the lesson's 17
    frames. (Drawing it takes a Jupyter front end; tests/test_notebook_widget.py runs its
    front-end code in Chromium.)"""
    from minigraph.show.player import asset

    notebook, _ = first_lesson
    cell = tagged(notebook, "step-player")
    assert "application/vnd.jupyter.widget-view+json" in displayed_types(cell)
    (view,) = [output["data"]["application/vnd.jupyter.widget-view+json"] for output in cell.outputs]
    models = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    state = models[view["model_id"]]["state"]
    assert state["_anywidget_id"] == "minigraph.show.notebook.StepPlayer"
    assert state["_esm"].startswith(asset("player.js"))
    assert len(state["data"]["frames"]) == 17 and state["step"] == 0
