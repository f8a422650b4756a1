"""Data for the lessons: scikit-learn's bundled digits, and the Sign Language Digits set.

Every loader returns X with one row per sample (n_samples, n_features), values in [0, 1],
and y with one digit label per row. A file that cannot serve raises `DataError`, naming it.
"""

import itertools
import math
import numbers
import pathlib

import numpy as np

from minigraph.errors import DataError

IMAGE_SIDE = 64
# The widely circulated X.npy / Y.npy release groups its rows by digit in this order.
NPY_DIGIT_ORDER = (9, 0, 7, 6, 1, 8, 4, 3, 2, 5)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
# Photos are converted a band of rows at a time, about a million pixels per band, so a
# 12-megapixel photo never has a float64 copy of itself (that alone would be 288 MB in RGB).
BAND_PIXELS = 1 << 20


def load_digits_binary(digits=(0, 1)):
    """scikit-learn's bundled 8×8 digits (no download), only the two given, scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    keep = np.isin(data.target, digits)
    return data.data[keep] / 16.0, data.target[keep]


def lesson_split(path=None, max_per_digit=205, dtype=np.float64):
    """The first lesson's data: zeros vs ones, split 85/15 with random_state 42.

    Without `path`, scikit-learn's bundled digits; with it, the Sign Language Digits set
    (the first 205 images of each digit, the classic 348/62 split). Returns a short
    description of the source and (X_train, X_test, y_train, y_test).
    """
    from sklearn.model_selection import train_test_split

    # Checked even without a path, so that a wrong value is never silently unused.
    check_loader_arguments("lesson_split", max_per_digit, dtype)
    if path is None:
        X, y = load_digits_binary()
        X, source = X.astype(dtype), "scikit-learn's bundled digits (8x8)"
    else:
        X, y = load_sign_language_digits(path, max_per_digit=max_per_digit, dtype=dtype)
        source = f"Sign Language Digits from {path} (64x64)"
    return source, train_test_split(X, y, test_size=0.15, random_state=42)


def ten_digits_split(path=None, dtype=np.float64):
    """The ten-digit lesson's data: every digit, split 85/15 with random_state 42, stratified.

    Without `path`, scikit-learn's bundled 8×8 digits (1,797 images, nothing to download);
    with it, all 2,062 Sign Language Digits images (64×64). Stratified, so each digit keeps
    its share in both parts. Returns a short description of the source and (X_train,
    X_test, y_train, y_test), X with one row per image.
    """
    from sklearn.model_selection import train_test_split

    check_loader_arguments("ten_digits_split", None, dtype)
    if path is None:
        X, y = load_digits_binary(digits=range(10))
        X, source = X.astype(dtype), "scikit-learn's bundled digits (8x8)"
    else:
        X, y = load_sign_language_digits(path, digits=range(10), dtype=dtype)
        source = f"Sign Language Digits from {path} (64x64)"
    check_stratified_split("ten_digits_split", y, TEST_SHARE, path)
    return source, train_test_split(X, y, test_size=TEST_SHARE, random_state=42, stratify=y)


TEST_SHARE = 0.15


def check_stratified_split(caller, y, test_share, path):
    """A DataError saying how many images of each digit there are and how many a stratified
    split needs: every digit in both parts, so each part must hold at least one image per
    digit (and each digit two images), where scikit-learn's own message speaks of classes."""
    digits, counts = np.unique(y, return_counts=True)
    n, k = len(y), len(digits)
    if counts.min() >= 2 and k <= _test_size(n, test_share) <= n - k:
        return
    least = next(m for m in itertools.count(2 * k) if k <= _test_size(m, test_share) <= m - k)
    per_digit = (f"{counts[0]} of each of the {k} digits" if (counts == counts[0]).all() else
                 "per digit " + ", ".join(f"{d}: {c}" for d, c in zip(digits, counts)))
    raise DataError(
        f"{caller}: {path} holds {n} images, {per_digit}; the {1 - test_share:.0%}/{test_share:.0%} split keeps "
        f"every digit in both parts, so it needs at least {least} images and 2 of each digit "
        f"(e.g. {max(2, -(-least // k))} of each)"
    )


def _test_size(n, test_share):
    return math.ceil(test_share * n)  # as train_test_split rounds it


def check_loader_arguments(caller, max_per_digit, dtype):
    """Refuse a `max_per_digit` that is not a whole number ≥ 1 (or None), a non-float dtype."""
    if max_per_digit is not None:
        if isinstance(max_per_digit, bool) or not isinstance(max_per_digit, numbers.Integral):
            raise TypeError(f"{caller}: max_per_digit must be a whole number or None, got {max_per_digit!r}")
        if max_per_digit < 1:
            raise ValueError(f"{caller}: max_per_digit must be at least 1, got {max_per_digit}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{caller}: dtype must be a float type for pixels in [0, 1], got {np.dtype(dtype)}")


def load_sign_language_digits(path, digits=(0, 1), max_per_digit=None, dtype=np.float64):
    """Sign Language Digits images of the given digits, flattened to 4096 pixels.

    `path` is a folder holding either `X.npy` and `Y.npy` (the widely used release) or one
    sub-folder per digit (`0/`, `1/`, ...) of the original photos, which are converted the
    way X.npy was made (see `image_to_pixels`). Rows come digit by digit in the order of
    `digits`; `max_per_digit` keeps the first N of each, e.g. 205 for the classic 410-image
    lesson on zeros and ones.

    X.npy may hold floats in [0, 1] or uint8 in [0, 255] (divided by 255); anything else,
    an empty file, or a photo that cannot be read raises `DataError` naming the file.
    """
    check_loader_arguments("load_sign_language_digits", max_per_digit, dtype)
    folder = pathlib.Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"load_sign_language_digits: no folder at {folder}")
    if (folder / "X.npy").is_file() and (folder / "Y.npy").is_file():
        images, labels = _load_npy(folder)
    else:
        images, labels = _load_photos(folder, digits)
    rows = []
    for digit in digits:
        found = np.flatnonzero(labels == digit)
        if found.size == 0:
            raise ValueError(f"load_sign_language_digits: no images of digit {digit} in {folder}")
        rows.append(found[:max_per_digit])
    rows = np.concatenate(rows)
    X = images[rows].reshape(len(rows), -1).astype(dtype)
    return X, labels[rows]


def _load_npy(folder):
    X, Y = _read_npy(folder / "X.npy"), _read_npy(folder / "Y.npy")
    if X.ndim != 3 or Y.ndim != 2 or len(X) != len(Y) or Y.shape[1] == 0:
        raise DataError(
            f"load_sign_language_digits: expected X (n, 64, 64) and one-hot Y (n, 10) in "
            f"{folder}, got X {X.shape} and Y {Y.shape}"
        )
    if Y.dtype.kind not in "biuf":
        raise DataError(f"load_sign_language_digits: {folder / 'Y.npy'} holds {Y.dtype} values, not one-hot labels")
    if len(X) == 0:
        raise DataError(f"load_sign_language_digits: {folder / 'X.npy'} holds no images (shape {X.shape})")
    return _unit_pixels(X, folder / "X.npy"), Y.argmax(axis=1)


def _read_npy(path):
    # Saved arrays are data, never code: refuse pickled objects, and anything that is not
    # a .npy file at all (numpy would take it for a pickle and say so, misleadingly).
    with open(path, "rb") as file:
        if file.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
            raise DataError(f"load_sign_language_digits: {path} is not a .npy file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise DataError(f"load_sign_language_digits: cannot read {path}: {exc}") from None


def _unit_pixels(X, path):
    """X as pixels in [0, 1]: uint8 divided by 255 (in float32, as the release was made);
    other numbers are checked, never guessed at."""
    if X.dtype == np.uint8:
        return X.astype(np.float32) / 255
    if X.dtype.kind not in "biuf":
        raise DataError(f"load_sign_language_digits: {path} holds {X.dtype} values, not pixel intensities")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"load_sign_language_digits: {path} holds NaN or infinite pixel values")
    low, high = X.min(), X.max()
    if low < 0 or high > 1:
        raise DataError(
            f"load_sign_language_digits: {path} holds {X.dtype} pixels from {low} to {high}; "
            f"expected floats in [0, 1] or uint8 in [0, 255]"
        )
    return X


def _load_photos(folder, digits):
    images, labels = [], []
    for digit in digits:
        files = sorted(
            f for f in (folder / str(digit)).glob("*") if f.suffix.lower() in IMAGE_SUFFIXES
        )
        images += [image_to_pixels(f) for f in files]
        labels += [digit] * len(files)
    if not images:
        raise ValueError(
            f"load_sign_language_digits: {folder} has neither X.npy/Y.npy nor image folders "
            f"named after the digits {tuple(digits)}"
        )
    return np.stack(images), np.array(labels)


def image_to_pixels(file, side=IMAGE_SIDE):
    """One photo as the .npy release stores it: side×side float32 in [0, 1].

    Turned upright first, as its EXIF orientation tag says (phones store the sensor's
    pixels and the turn separately); then RGB to luma (0.299 R + 0.587 G + 0.114 B; a
    one-channel image, 8 or 16 bits, is its own luma), stretched so its own minimum is 0
    and its maximum 255, rounded to uint8, resized with bilinear resampling, divided by
    255. The photo is read at its full size, a band of rows at a time; the file is closed
    before this returns. A file Pillow cannot read raises `DataError` naming it.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(file) as image:
            image.load()  # decode now, so a truncated file fails here, with its name
            # In place: no full-size copy of a photo that needs no turn.
            ImageOps.exif_transpose(image, in_place=True)
            bands = _row_bands(image)
            low, high = _luma_range(image, bands)
            if not np.isfinite(high - low):  # possible in float images (TIFF mode F)
                raise DataError(f"image_to_pixels: {file} has NaN or infinite pixels")
            gray = Image.fromarray(_stretched_luma(image, bands, low, high))
    except (OSError, Image.DecompressionBombError) as exc:
        raise DataError(f"image_to_pixels: cannot read the image {file}: {exc}") from None
    small = gray.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0


def _row_bands(image):
    """(top, bottom) of each band of rows, about BAND_PIXELS pixels each."""
    width, height = image.size
    rows = max(1, BAND_PIXELS // width)
    return [(top, min(top + rows, height)) for top in range(0, height, rows)]


def _luma_range(image, bands):
    """The smallest and largest luma in the photo, one band at a time."""
    low, high = np.inf, -np.inf
    for top, bottom in bands:
        luma = _luma(image, top, bottom)
        # np.minimum, not min(): a NaN must carry through to the check, not be skipped.
        low, high = np.minimum(low, luma.min()), np.maximum(high, luma.max())
    return low, high


def _stretched_luma(image, bands, low, high):
    """Luma stretched from [low, high] to [0, 255] and rounded, as uint8.

    Each band's luma is computed again rather than kept from `_luma_range`: keeping it
    would be the full-size float64 copy the bands avoid.
    """
    scale = 255.0 / max(high - low, 1e-12)
    stretched = np.empty((image.height, image.width), dtype=np.uint8)
    for top, bottom in bands:
        stretched[top:bottom] = np.round((_luma(image, top, bottom) - low) * scale)
    return stretched


def _luma(image, top, bottom):
    band = image.crop((0, top, image.width, bottom))
    if len(band.getbands()) == 1 and band.mode != "P":
        # Gray at any depth (L, I;16, I, F) is its own luma. Converting it to RGB would clip
        # 16-bit values to 255 rather than scale them; the stretch makes the depth irrelevant.
        return np.asarray(band, dtype=np.float64)
    return np.asarray(band.convert("RGB"), dtype=np.float64) @ LUMA_WEIGHTS
