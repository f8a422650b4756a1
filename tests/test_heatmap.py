"""Arrays as pictures (minigraph.show.heatmap): every colour read back to its value, images equal
to their pixels, the tiles of 1-D to 4-D arrays, the PNG bytes, and the pictures inside
render's SVG and the player's page, and the first lesson's weight pictures on the docs site."""

import base64
import importlib.util
import pathlib
import re
import struct
import zlib

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigraph as mg
from minigraph.show import heatmap
from minigraph.display import format_number
from minigraph.show.player import player_data

ROOT = pathlib.Path(__file__).resolve().parents[1]


def decode_png(data):
    """The (height, width, 3) pixels of an 8-bit RGB PNG without filters, read independently
    of the writer: chunk by chunk, checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    rows = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 3 * width
    assert all(rows[r * stride] == 0 for r in range(height))  # filter 'none' on every row
    return np.frombuffer(rows, dtype=np.uint8).reshape(height, stride)[:, 1:].reshape(height, width, 3)


values = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12), elements=values))
@example(np.array([[-3.0, 428.0]]))  # one step from the middle, nearer the negative end
def test_each_cell_colour_maps_back_to_its_value(array):
    drawn = heatmap.picture(array)
    pixels = decode_png(drawn.png())
    scale = drawn.scale
    assert pixels.shape == (array.shape[0] * scale, array.shape[1] * scale, 3)
    limit = np.abs(array).max()
    for (i, j), value in np.ndenumerate(array):
        block = pixels[i * scale:(i + 1) * scale, j * scale:(j + 1) * scale]
        assert (block == block[0, 0]).all()  # one colour per element
        back = heatmap.value_of_colour(block[0, 0], array.min(), array.max())
        assert back == pytest.approx(value, abs=limit / 100 + 1e-12)  # colours step by < 1 %


def test_the_largest_magnitude_gets_an_end_colour_and_zero_the_middle():
    array = np.array([[-2.0, 0.0, 4.0, 1.0]])
    colours = heatmap.colours(array, False, -2.0, 4.0)
    assert tuple(colours[0, 1]) == heatmap.MIDDLE and tuple(colours[0, 2]) == heatmap.POSITIVE
    # the scale is centred on 0, so -2 is half way to the negative end, 1 a quarter to the positive
    middle, negative, positive = (np.array(c, dtype=float) for c in (heatmap.MIDDLE, heatmap.NEGATIVE, heatmap.POSITIVE))
    np.testing.assert_allclose(colours[0, 0], np.round(middle + 0.5 * (negative - middle)))
    np.testing.assert_allclose(colours[0, 3], np.round(middle + 0.25 * (positive - middle)))
    assert tuple(heatmap.colours(np.array([[-3.0]]), False, -3.0, 1.0)[0, 0]) == heatmap.NEGATIVE


def test_an_image_column_is_its_picture_and_a_batch_a_strip_of_a_few():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=(5, 64, 64))
    columns = images.reshape(5, 4096).T  # the course's layout: one flattened image per column
    drawn = heatmap.picture(columns, image=True)
    assert len(drawn.tiles) == 1 and len(drawn.tiles[0]) == heatmap.STRIP
    assert "first 3 of\n5 columns" == drawn.omitted
    pixels = decode_png(drawn.png())
    low, high = columns.min(), columns.max()
    for k in range(heatmap.STRIP):
        left = k * (64 + 2)  # one pixel per element, two between tiles
        tile = pixels[:, left:left + 64, 0]
        np.testing.assert_array_equal(tile, np.round(255 * (images[k] - low) / (high - low)))
        assert (pixels[:, left:left + 64, 0] == pixels[:, left:left + 64, 2]).all()  # grey


def test_a_batch_of_more_images_than_pixels_is_still_a_strip_of_images():
    # scikit-learn's digits in the course's layout: 64 pixels × 306 samples
    from sklearn.datasets import load_digits

    digits = load_digits().images[:306] / 16
    columns = digits.reshape(306, 64).T
    drawn = heatmap.picture(columns, image=True)
    assert [t.shape for t in drawn.tiles[0]] == [(8, 8)] * heatmap.STRIP and "306 columns" in drawn.omitted
    for k in range(heatmap.STRIP):
        np.testing.assert_array_equal(drawn.tiles[0][k], digits[k])
    assert len(heatmap.picture(columns).tiles[0]) == 1  # not pixels: the matrix as it is
    assert heatmap.locate(columns.shape, (slice(None), 1), image=True) == [[pytest.approx((8 * drawn.scale + 2) / drawn.size[0]), 0.0, pytest.approx(8 * drawn.scale / drawn.size[0]), 1.0]]


def test_a_row_of_one_value_per_sample_wraps_like_a_vector():
    row = np.linspace(-1, 1, 306).reshape(1, 306)  # a sigmoid's output on 306 samples
    (tile,), = heatmap.picture(row).tiles
    assert tile.shape == (20, heatmap.ROW)  # not a line one pixel high
    np.testing.assert_array_equal(tile.ravel()[:306], row.ravel())
    assert np.isnan(tile.ravel()[306:]).all()  # the rest of the last row is left blank
    column = row.T
    np.testing.assert_array_equal(heatmap.picture(column).tiles[0][0], tile, strict=True)
    assert heatmap.picture(np.ones((1, 16))).tiles[0][0].shape == (1, 16)  # fits a row as it is


def test_a_weight_row_of_a_square_count_is_a_picture_too():
    weights = np.arange(3 * 4096.0).reshape(3, 4096)
    drawn = heatmap.picture(weights)
    assert [t.shape for t in drawn.tiles[0]] == [(64, 64)] * 3
    np.testing.assert_array_equal(drawn.tiles[0][1], weights[1].reshape(64, 64))
    square = np.arange(64.0 * 64).reshape(64, 64)  # units × pixels or pixels × units: drawn as it is
    assert [t.shape for t in heatmap.picture(square).tiles[0]] == [(64, 64)]


@pytest.mark.parametrize("shape, grid", [
    ((2, 3, 5, 5), (2, 3)),      # N×C×H×W: a row per sample, a column per channel
    ((3, 6, 6), (1, 3)),         # C×H×W: the channels side by side
    ((2, 2, 2, 4, 4), (4, 2)),   # more axes: the leading ones as one batch
])
def test_arrays_of_three_and_four_axes_are_grids_of_small_images(shape, grid):
    array = np.arange(float(np.prod(shape))).reshape(shape)
    drawn = heatmap.picture(array)
    assert (len(drawn.tiles), len(drawn.tiles[0])) == grid
    flat = array.reshape(-1, *shape[-3:]) if len(shape) > 3 else array[None] if len(shape) == 3 else array
    np.testing.assert_array_equal(drawn.tiles[-1][-1], flat[len(drawn.tiles) - 1, len(drawn.tiles[0]) - 1])
    width, height = drawn.size
    assert decode_png(drawn.png()).shape == (height, width, 3)


def test_big_tiles_are_averaged_down_and_non_finite_elements_left_blank():
    array = np.arange(200.0 * 200).reshape(200, 200)
    (tile,) = heatmap.picture(array).tiles[0]
    assert tile.shape == (50, 50)  # blocks of 4×4
    assert tile[0, 0] == array[:4, :4].mean()
    gaps = np.array([[np.nan, 1.0], [-np.inf, -1.0]])
    colours = heatmap.colours(gaps, False, -1.0, 1.0)
    assert tuple(colours[0, 0]) == tuple(colours[1, 0]) == heatmap.GAP


def test_the_drawing_puts_its_pictures_inside_the_svg(tmp_path):
    pixels = np.linspace(0, 1, 4096).reshape(4096, 1)
    x = mg.constant(pixels, name="image")
    w = mg.parameter(np.linspace(-1, 1, 4096).reshape(1, 4096), name="w")
    cost = mg.sum(w @ x)
    cost.backward()
    svg = mg.render(cost, tmp_path / "pictures.svg").read_text()
    uris = re.findall(r'xlink:href="data:image/png;base64,([^"]+)"', svg)
    assert len(uris) == 3 and "minigraph-pictures-" not in svg  # x's value, w's value and gradient
    shown = [decode_png(base64.b64decode(uri)) for uri in uris]
    expected = np.round(255 * pixels.reshape(64, 64))  # the image, in grey, as it is
    assert any(p.shape == (64, 64, 3) and (p[..., 0] == expected).all() for p in shown)
    assert "from 0" in svg and "to 1" in svg  # the range beside it


def test_the_player_shows_the_pictures_in_their_places(tmp_path):
    x = mg.constant(np.linspace(0, 1, 4096).reshape(4096, 1), name="image")
    w = mg.parameter(np.linspace(-1, 1, 4096).reshape(1, 4096), name="w")
    data = player_data(mg.sum(w @ x))
    (box,) = [b for b in data["boxes"] if b["title"] == "w"]
    assert box["valuePicture"].startswith("data:image/png;base64,") and box["valueSlot"] and box["gradSlot"]
    x0, y0, width, height = box["valueSlot"]
    assert box["x"] <= x0 and x0 + width <= box["x"] + box["w"] and box["y"] <= y0 <= box["y"] + box["h"]
    (grad,) = box["grads"]
    assert grad[2].startswith("data:image/png;base64,")
    page = mg.save_steps_html(mg.sum(w @ x), tmp_path / "player.html").read_text()
    assert "img-src data:" in page


def test_a_long_vector_wraps_in_reading_order_and_a_thin_matrix_is_not_a_hairline():
    vector = np.arange(40.0)
    (tile,) = heatmap.picture(vector).tiles[0]
    assert tile.shape == (3, heatmap.ROW)
    np.testing.assert_array_equal(tile.ravel()[:40], vector)
    assert np.isnan(tile.ravel()[40:]).all()  # the rest of the last row is left blank
    width, height = heatmap.picture(np.ones((10, 55))).size
    assert height >= 20 and width <= 2 * heatmap.TILE_PIXELS


@pytest.mark.parametrize("shape, rows, omitted", [((4, 1, 3, 3), [4], ""), ((20, 1, 5, 5), [8, 8, 4], ""),
                                                  ((40, 1, 3, 3), [8, 8, 8, 8], "first 32 of\n40 samples")])
def test_one_channel_images_or_kernels_wrap_in_rows_of_eight(shape, rows, omitted):
    array = np.random.default_rng(0).standard_normal(shape)
    drawn = heatmap.picture(array)
    assert [len(row) for row in drawn.tiles] == rows and drawn.omitted == omitted
    flat = [tile for row in drawn.tiles for tile in row]
    for k, tile in enumerate(flat):
        np.testing.assert_array_equal(tile, array[k, 0])


@pytest.mark.parametrize("shape, index", [
    ((2, 1, 8, 8), (0, slice(None), slice(3, 6), slice(2, 5))),  # a conv's 3×3 window on an image
    ((3, 2, 6, 6), (slice(None), 1, slice(0, 6, 2), slice(1, 4))),  # every sample, strided rows
    ((4, 1, 3, 3), (2,)),  # one kernel of four
    ((4096, 2), (slice(100, 300), 1)),  # pixels of the second image column
])
def test_located_elements_are_where_the_picture_draws_them(shape, index):
    """Every pixel inside a located rectangle is drawn from a marked element (or a gap), and
    every marked element's colour is inside one: the mask drawn with the end colour."""
    mask = np.zeros(shape)
    mask[index] = 1.0
    pixels = heatmap.picture(mask).pixels()
    height, width, _ = pixels.shape
    inside = np.zeros((height, width), dtype=bool)
    for left, top, w, h in heatmap.locate(shape, index):
        x0, y0 = round(left * width), round(top * height)
        inside[y0:y0 + round(h * height), x0:x0 + round(w * width)] = True
    marked = (pixels == heatmap.POSITIVE).all(axis=2)
    assert marked.any() and (marked <= inside).all()  # every marked pixel is inside a rectangle
    # and each rectangle is the tight box around its marked pixels
    for left, top, w, h in heatmap.locate(shape, index):
        x0, y0 = round(left * width), round(top * height)
        box = marked[y0:y0 + round(h * height), x0:x0 + round(w * width)]
        assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any()


def make_figures():
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lesson_by_numpy(X, y, steps):
    """The first lesson's gradient descent, written out: w = 0.01, b = 0, learning rate 0.01;
    the first step's ∂cost/∂w and the weights after `steps` steps."""
    w, b, m = np.full(X.shape[1], 0.01), 0.0, len(y)
    first = None
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w + b)))
        dw, db = X.T @ (p - y) / m, np.mean(p - y)
        first = dw if first is None else first
        w, b = w - 0.01 * dw, b - 0.01 * db
    return first, w


@pytest.mark.parametrize("found", [True, False])
def test_the_first_lessons_weight_pictures_are_the_reshaped_weights(found, tmp_path, request):
    """The tutorial's pictures: on the Sign Language Digits 64×64 (bundled 8×8 digits where
    they are missing, and the caption says so), each pixel's colour reads back as the
    gradient or weight that numpy's own gradient descent gives for that pixel."""
    figures = make_figures()
    folder = request.getfixturevalue("sign_language_dir") if found else tmp_path / "nowhere"
    arrays = figures.weight_pictures(tmp_path, folder)
    X, y = figures.weight_data(folder)
    side = 64 if found else 8
    assert X.shape[1] == side * side
    assert figures.weight_source(folder).startswith("the Sign Language Digits" if found else "scikit-learn's bundled")
    caption = figures.weight_caption(folder)
    assert figures.weight_source(folder) in caption
    gradient, weights = lesson_by_numpy(X, y, 150)
    np.testing.assert_allclose(arrays["lesson-gradient.png"], gradient.reshape(side, side), rtol=1e-9)
    np.testing.assert_allclose(arrays["lesson-weights.png"], weights.reshape(side, side), rtol=1e-9, atol=1e-12)
    scale = figures.WEIGHT_PICTURES_PX // side
    for name, expected in (("lesson-gradient.png", gradient), ("lesson-weights.png", weights)):
        low, high = (format_number(v).replace("-", "−") for v in (expected.min(), expected.max()))
        assert f"from {low} to {high}" in caption.replace("-", "−")  # the range beside the picture
        pixels = decode_png((tmp_path / name).read_bytes())
        assert pixels.shape == (side * scale, side * scale, 3)
        centres = pixels[scale // 2::scale, scale // 2::scale]  # one pixel per weight
        low, high = expected.min(), expected.max()
        read = np.array([[heatmap.value_of_colour(c, low, high) for c in row] for row in centres])
        limit = max(abs(low), abs(high))
        np.testing.assert_allclose(read, expected.reshape(side, side), atol=limit / 50)  # two colour steps
    one = decode_png((tmp_path / "lesson-one.png").read_bytes())[scale // 2::scale, scale // 2::scale, 0]
    image = X[y == 1][0]
    np.testing.assert_array_equal(one, np.round(255 * (image - image.min()) / np.ptp(image)).reshape(side, side))
