"""The data loaders: scikit-learn's bundled digits and the Sign Language Digits set."""

import gc
import io
import pathlib
import re
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from minigraph.models import datasets
from minigraph.models.datasets import DataError, image_to_pixels, lesson_split, load_sign_language_digits


def test_npy_and_photo_folders_give_the_same_pixels(sign_language_dir):
    photos, labels = load_sign_language_digits(sign_language_dir / "jpg-sample", digits=range(10))
    assert photos.shape == (30, 4096)
    npy, npy_labels = load_sign_language_digits(sign_language_dir, digits=range(10))
    for image, label in zip(photos, labels):
        distance = np.abs(npy[npy_labels == label] - image).max(axis=1)
        # The same photo, converted as X.npy was made: equal but for a rare rounding tie.
        closest = npy[npy_labels == label][distance.argmin()]
        assert distance.min() <= 1 / 255 + 1e-6
        assert np.mean(closest == image) > 0.999


def test_loader_keeps_digit_order_and_limits(sign_language_dir):
    X, y = load_sign_language_digits(sign_language_dir, digits=(1, 0), max_per_digit=3)
    assert list(y) == [1, 1, 1, 0, 0, 0]


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        load_sign_language_digits(tmp_path / "absent")
    with pytest.raises(ValueError, match="neither X.npy/Y.npy nor image folders"):
        load_sign_language_digits(tmp_path)
    np.save(tmp_path / "X.npy", np.array([object()]), allow_pickle=True)
    np.save(tmp_path / "Y.npy", np.zeros((1, 10)))
    with pytest.raises(DataError, match="pickle"):
        load_sign_language_digits(tmp_path)


def test_lesson_split_is_the_classic_348_62_split(sign_language_dir):
    source, (X_train, X_test, y_train, y_test) = lesson_split(sign_language_dir)
    assert "Sign Language Digits" in source
    assert X_train.shape == (348, 4096) and X_test.shape == (62, 4096)
    assert set(y_train) == {0, 1}
    _, (digits_train, digits_test, _, _) = lesson_split()
    assert len(digits_train) == 306 and len(digits_test) == 54


def save_lesson_npy(folder, X, labels):
    folder.mkdir(exist_ok=True)
    np.save(folder / "X.npy", X)
    np.save(folder / "Y.npy", np.eye(10)[labels])
    return folder


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_max_per_digit_must_be_a_whole_number_of_at_least_one(tmp_path, bad, error):
    folder = save_lesson_npy(tmp_path, np.zeros((2, 64, 64)), [0, 1])
    with pytest.raises(error, match=f"max_per_digit must be .*, got {bad}"):
        load_sign_language_digits(folder, max_per_digit=bad)
    with pytest.raises(error, match="lesson_split: max_per_digit"):
        lesson_split(max_per_digit=bad)  # even for the bundled digits, where it is not used


def test_pixels_must_be_loaded_as_floats(tmp_path):
    folder = save_lesson_npy(tmp_path, np.zeros((2, 64, 64)), [0, 1])
    with pytest.raises(TypeError, match="dtype must be a float type .* got int64"):
        load_sign_language_digits(folder, dtype=np.int64)


def test_a_uint8_x_npy_is_scaled_as_the_float_release_was_made(tmp_path, sign_language_dir):
    X = np.load(sign_language_dir / "X.npy")
    labels = np.load(sign_language_dir / "Y.npy").argmax(axis=1)
    # The release is uint8 / 255 in float32, so ×255 and rounding gives the uint8 back.
    as_uint8 = np.round(X * 255).astype(np.uint8)
    folder = save_lesson_npy(tmp_path, as_uint8, labels)
    from_uint8, y = load_sign_language_digits(folder, digits=range(10))
    from_floats, y_floats = load_sign_language_digits(sign_language_dir, digits=range(10))
    np.testing.assert_array_equal(from_uint8, from_floats)
    np.testing.assert_array_equal(y, y_floats)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((2, 64, 64), 2.0), r"X.npy holds float64 pixels from 2.0 to 2.0; expected floats in \[0, 1\]"),
        (-np.ones((2, 64, 64), dtype=np.float32), "float32 pixels from -1.0 to -1.0"),
        (np.full((2, 64, 64), 300, dtype=np.int16), "int16 pixels from 300 to 300"),
        (np.full((2, 64, 64), np.nan), "X.npy holds NaN or infinite pixel values"),
        (np.full((2, 64, 64), 1j), "X.npy holds complex128 values, not pixel intensities"),
        (np.zeros((0, 64, 64)), r"X.npy holds no images \(shape \(0, 64, 64\)\)"),
    ],
)
def test_x_npy_outside_the_unit_range_or_empty_is_refused_naming_the_file(tmp_path, X, message):
    labels = [0, 1][: len(X)]
    folder = save_lesson_npy(tmp_path, X, labels)
    with pytest.raises(DataError, match=message) as caught:
        load_sign_language_digits(folder)
    assert str(folder / "X.npy") in str(caught.value)


def test_y_npy_must_hold_one_hot_numbers(tmp_path):
    folder = save_lesson_npy(tmp_path, np.zeros((2, 64, 64)), [0, 1])
    np.save(folder / "Y.npy", np.array([["0"], ["1"]]))
    with pytest.raises(DataError, match=f"{folder / 'Y.npy'} holds <U1 values, not one-hot labels"):
        load_sign_language_digits(folder)
    np.save(folder / "Y.npy", np.zeros((2, 0)))
    with pytest.raises(DataError, match=r"got X \(2, 64, 64\) and Y \(2, 0\)"):
        load_sign_language_digits(folder)


def test_an_unreadable_npy_is_reported_with_its_path(tmp_path):
    folder = save_lesson_npy(tmp_path, np.zeros((4, 64, 64)), [0, 1, 0, 1])
    saved = (folder / "X.npy").read_bytes()
    for content, reason in [(saved[:1000], "could only read"), (b"", "not a .npy file"),
                            (b"pixels,as,text", "not a .npy file")]:
        (folder / "X.npy").write_bytes(content)
        with pytest.raises(DataError, match=reason) as caught:
            load_sign_language_digits(folder)
        assert str(folder / "X.npy") in str(caught.value)


def photo_folder(root, files):
    """root/0/a.jpg, root/1/b.jpg: the original layout, one folder of photos per digit."""
    for digit, (name, content) in enumerate(files):
        (root / str(digit)).mkdir(parents=True)
        (root / str(digit) / name).write_bytes(content)
    return root


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_truncated_or_non_image_photo_is_reported_with_its_path(tmp_path):
    whole = jpeg_bytes()
    for case, content, reason in [("truncated", whole[: len(whole) // 2], "truncated"),
                                  ("text", b"not a photo", "cannot identify image file")]:
        folder = photo_folder(tmp_path / case, [("good.jpg", whole), ("bad.jpg", content)])
        with pytest.raises(DataError, match=reason) as caught:
            load_sign_language_digits(folder)
        assert str(folder / "1" / "bad.jpg") in str(caught.value)


def test_a_16_bit_png_gives_the_pixels_of_its_8_bit_equivalent(tmp_path):
    rows, columns = np.mgrid[0:150, 0:200]
    ramp = (rows + columns) * 255 // (149 + 199)  # 0 to 255 along the diagonal
    Image.fromarray(ramp.astype(np.uint8)).save(tmp_path / "8-bit.png")
    Image.fromarray((ramp * 257).astype(np.uint16)).save(tmp_path / "16-bit.png")  # 255 → 65535
    with Image.open(tmp_path / "16-bit.png") as sixteen:
        assert sixteen.mode == "I;16"
    eight_bit = image_to_pixels(tmp_path / "8-bit.png")
    np.testing.assert_array_equal(image_to_pixels(tmp_path / "16-bit.png"), eight_bit)
    # Not a blank: the stretch spread the ramp over [0, 1] (resizing averages the ends in).
    assert eight_bit.min() < 0.01 and eight_bit.max() > 0.99 and len(np.unique(eight_bit)) > 100


def test_converting_band_by_band_changes_no_pixel(sign_language_dir, monkeypatch):
    photos = sorted((sign_language_dir / "jpg-sample").glob("*/*"))[::5]
    whole = [image_to_pixels(photo) for photo in photos]  # 100×100: a single band
    monkeypatch.setattr(datasets, "BAND_PIXELS", 700)  # bands of 7 rows, the last one of 2
    for photo, expected in zip(photos, whole):
        np.testing.assert_array_equal(image_to_pixels(photo), expected)


def test_a_float_image_with_nan_is_refused_naming_it(tmp_path, monkeypatch):
    pixels = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    pixels[7, 4] = np.nan
    Image.fromarray(pixels).save(tmp_path / "float.tiff")  # mode F: 32-bit float pixels
    monkeypatch.setattr(datasets, "BAND_PIXELS", 30)  # the NaN in the third band of three rows
    with pytest.raises(DataError, match=f"{tmp_path / 'float.tiff'} has NaN or infinite pixels"):
        image_to_pixels(tmp_path / "float.tiff")


PEAK_MEMORY_OF_A_CONVERSION = """
import pathlib, sys
from PIL import Image  # imported before the baseline, as the loader itself is
from minigraph.models.datasets import image_to_pixels

def peak_mib():  # this process's peak resident memory; ru_maxrss would count pytest's too
    status = pathlib.Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024

before = peak_mib()
pixels = image_to_pixels(sys.argv[1])
assert pixels.shape == (64, 64) and pixels.min() >= 0 and pixels.max() <= 1
print(peak_mib() - before)
"""


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc")
def test_a_12_megapixel_photo_converts_without_a_full_size_float64_copy(tmp_path):
    gradient = Image.linear_gradient("L").resize((4000, 3000))
    channels = [gradient, gradient.transpose(Image.Transpose.ROTATE_180), Image.new("L", (4000, 3000), 90)]
    Image.merge("RGB", channels).save(tmp_path / "photo.jpg")
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY_OF_A_CONVERSION, str(tmp_path / "photo.jpg")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # Converting it all at once in float64 took 608 MiB; band by band it takes about 100,
    # of which 46 are Pillow's own decoded RGB image.
    assert float(result.stdout) < 200


def upright_photo():
    """An RGB photo that looks different turned any way: a bright top-left corner on a ramp."""
    rows, columns = np.mgrid[0:90, 0:120]
    pixels = np.stack([rows * 2, columns * 2, (rows + columns)], axis=-1).astype(np.uint8)
    pixels[:20, :30] = 255
    return Image.fromarray(pixels)


# EXIF orientation → how the stored pixels turn upright (what exif_transpose applies).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_a_photo_is_turned_upright_by_its_exif_orientation(tmp_path, orientation):
    # Phones store the sensor's pixels and say in EXIF how to turn them; a loader that
    # ignores the tag trains on sideways or mirrored hands.
    upright = upright_photo()
    upright.save(tmp_path / "upright.png")
    undo = {Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
            Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270}.get(ORIENTATIONS[orientation], ORIENTATIONS[orientation])
    stored = upright.transpose(undo)  # what the camera wrote: upright after ORIENTATIONS[orientation]
    assert stored.transpose(ORIENTATIONS[orientation]).tobytes() == upright.tobytes()
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "stored.png", exif=exif)
    expected = image_to_pixels(tmp_path / "upright.png")
    np.testing.assert_array_equal(image_to_pixels(tmp_path / "stored.png"), expected)
    # A loader that ignored the tag would give another picture: the test can tell.
    stored.save(tmp_path / "untagged.png")
    assert not np.array_equal(image_to_pixels(tmp_path / "untagged.png"), expected)


@pytest.mark.parametrize("mode, channels", [("gray", 1), ("gray+alpha", 2), ("RGB", 3), ("RGBA", 4)])
def test_16_bit_pngs_load_without_leaving_a_file_open(tmp_path, mode, channels):
    # PNG keeps 16 bits per channel big-endian; Pillow opens these in several modes.
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    pixels = np.random.default_rng(channels).integers(0, 65536, (30, 40, channels), dtype=np.uint16)
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (40).to_bytes(4, "big") + (30).to_bytes(4, "big") + bytes([16, color_type, 0, 0, 0])
    folder = tmp_path / "1"
    folder.mkdir()
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    # Recorded, not raised: a file collected unclosed warns from inside the garbage
    # collector, where an error would only be printed.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y = load_sign_language_digits(tmp_path, digits=(1,))
        gc.collect()
    assert [str(warning.message) for warning in caught] == []
    assert X.shape == (1, 4096) and y.tolist() == [1]
    assert 0 <= X.min() < X.max() <= 1


def test_a_folder_too_small_for_the_stratified_split_says_how_many_images_it_needs():
    from sklearn.model_selection import train_test_split

    from minigraph.errors import DataError
    from minigraph.models.datasets import TEST_SHARE, check_stratified_split

    message = (r"ten_digits_split: here holds 30 images, 3 of each of the 10 digits; the 85%/15% split keeps every "
               r"digit in both parts, so it needs at least (\d+) images and 2 of each digit \(e\.g\. (\d+) of each\)")
    with pytest.raises(DataError, match=message) as raised:
        check_stratified_split("ten_digits_split", np.repeat(np.arange(10), 3), TEST_SHARE, "here")
    least, each = map(int, re.search(message, str(raised.value)).groups())
    # The numbers it gives are scikit-learn's own limits: one image fewer fails, that many works.
    labels_of = lambda n: np.arange(n) % 10  # noqa: E731 (n images, the digits in turn)
    with pytest.raises(ValueError):
        train_test_split(np.zeros(least - 1), labels_of(least - 1), test_size=TEST_SHARE, stratify=labels_of(least - 1))
    train_test_split(np.zeros(least), labels_of(least), test_size=TEST_SHARE, stratify=labels_of(least))
    even = np.repeat(np.arange(10), each)
    check_stratified_split("ten_digits_split", even, TEST_SHARE, "here")
    train_test_split(np.zeros(len(even)), even, test_size=TEST_SHARE, stratify=even)
    # Uneven folders list their counts; a digit with one image cannot be in both parts.
    uneven = np.concatenate([np.repeat(np.arange(9), 8), [9]])
    with pytest.raises(DataError, match=r"per digit 0: 8, 1: 8, .*9: 1;"):
        check_stratified_split("ten_digits_split", uneven, TEST_SHARE, "here")
    with pytest.raises(ValueError):
        train_test_split(np.zeros(len(uneven)), uneven, test_size=TEST_SHARE, stratify=uneven)
