"""Drawing: DOT text, escaping, SVG output, large graphs and a missing dot binary."""

import re

import numpy as np
import pytest

import minigraph as mg
from minigraph.render import MAX_DRAWN
from minigraph.models import tiny_example



def test_dot_text_has_every_node_edge_and_label():
    cost = tiny_example()
    cost.backward()
    dot = mg.to_dot(cost)
    assert "rankdir=LR" in dot
    for name in ["w", "wᵀ", "x", "b", "z", "ŷ", "y", "loss", "cost"]:
        assert f"<B>{name}</B>" in dot
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == 10
    assert len(re.findall(r"^\s*n\d+ -> n\d+", dot, re.M)) == 9
    assert 'n4 -> n5 [label="1st · 1×2"]' in dot  # wᵀ (built 5th) is matmul's first argument
    assert 'n0 -> n5 [label="2nd · 2×3"]' in dot  # x, built first, is its second
    assert "grad [[-0.1821] [0.01765]]" in dot  # w's gradient, shown once known
    assert "value 0.6915" in dot and "grad 1" in dot
    # parameters, constants and ops look different
    assert 'fillcolor="#fff2cc"' in dot and 'fillcolor="#eeeeee"' in dot and 'fillcolor="#dbe9f6"' in dot


def test_large_values_are_summarised():
    w = mg.parameter(np.arange(100.0).reshape(100, 1), name="w")
    dot = mg.to_dot(mg.sum(w))
    assert "value mean 49.5, min 0, max 99" in dot


def test_gradients_appear_only_after_backward():
    cost = tiny_example()
    assert "grad" not in mg.to_dot(cost)
    cost.backward()
    assert "grad" in mg.to_dot(cost)


def test_a_node_used_twice_draws_two_edges():
    x = mg.parameter(3.0, name="x")
    dot = mg.to_dot(x * x)
    assert 'n0 -> n1 [label="1st · scalar"]' in dot and 'n0 -> n1 [label="2nd · scalar"]' in dot


AWKWARD = 'a "quoted" <b> {c|d} back\\slash & \nnew line'


def test_awkward_names_are_escaped_in_dot():
    node = mg.parameter(1.0, name=AWKWARD) * 2.0
    dot = mg.to_dot(node)
    assert "a &quot;quoted&quot; &lt;b&gt; {c|d} back\\slash &amp; <BR/>new line" in dot


@pytest.mark.needs_dot
def test_awkward_names_render_to_svg(tmp_path):
    node = mg.parameter(1.0, name=AWKWARD) * 2.0
    svg = mg.render(node, tmp_path / "awkward.svg").read_text()
    assert "a &quot;quoted&quot; &lt;b&gt; {c|d} back\\slash &amp;" in svg
    assert ">new line<" in svg


@pytest.mark.needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    path = mg.render(tiny_example(), tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_needs_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="give it a suffix"):
        mg.render(tiny_example(), tmp_path / "graph")


@pytest.mark.needs_dot
def test_five_thousand_node_graph_draws_its_last_nodes_and_a_note(tmp_path):
    node = mg.parameter(np.ones(2), name="x")
    for _ in range(2500):
        node = mg.tanh(node) * 0.5
    dot = mg.to_dot(node)
    assert len(mg.Graph(node)) > 5000
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == MAX_DRAWN
    assert re.search(r"hidden \[label=\"\d+ earlier nodes not drawn", dot)
    svg = mg.render(node, tmp_path / "big.svg").read_text()
    assert "earlier nodes not drawn" in svg


def test_missing_dot_gives_an_install_hint_and_to_dot_still_works(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere on it
    cost = tiny_example()
    assert "digraph" in mg.to_dot(cost)
    with pytest.raises(mg.DotNotFoundError, match="apt-get install graphviz"):
        mg.render(cost, tmp_path / "graph.svg")


@pytest.mark.needs_dot
def test_graph_shows_inline_in_jupyter():
    bundle = mg.Graph(tiny_example())._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


CONTROL = "w\x00\x07\x1b[31m\u202eevil"


@pytest.mark.needs_dot
def test_names_with_control_characters_render_and_step_with_visible_escapes(tmp_path):
    w = mg.parameter([1.0, 2.0], name=CONTROL)
    cost = mg.sum(w * w, name="cost\x00")
    svg = mg.render(cost, tmp_path / "control.svg").read_text()
    assert "w\\x00\\x07\\x1b[31m\\u202eevil" in svg and "\x00" not in svg and "\u202e" not in svg
    page = mg.save_steps_html(cost, tmp_path / "control.html", title="t\x00{{frames}}").read_text()
    assert "\x00" not in page and "\u202e" not in page
    assert "<title>t\\x00{{frames}}</title>" in page  # the title stays text, filled in one pass
