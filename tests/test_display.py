"""How numbers are shown: the same in drawings, narration and the player."""

import numpy as np

from minigraph.display import format_array, printable


def test_drawings_never_show_minus_zero():
    assert format_array(-0.0) == "0"
    assert format_array(np.array([[-0.0, -0.695, 0.5]])) == "[[0 -0.695 0.5]]"
    assert format_array(np.full(10, -0.0)) == "mean 0, min 0, max 0"


def test_control_characters_become_visible_escapes_but_newlines_stay():
    assert printable("a\x00b\u202ec\nd") == "a\\x00b\\u202ec\nd"
