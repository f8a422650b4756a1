"""Data for the lessons: scikit-learn's bundled digits, and the Sign Language Digits set.

Every loader returns X with one row per sample (n_samples, n_features), values in [0, 1],
and y with one digit label per row.
"""

import pathlib

import numpy as np

IMAGE_SIDE = 64
# The widely circulated X.npy / Y.npy release groups its rows by digit in this order.
NPY_DIGIT_ORDER = (9, 0, 7, 6, 1, 8, 4, 3, 2, 5)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


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

    if path is None:
        X, y = load_digits_binary()
        X, source = X.astype(dtype), "scikit-learn's bundled digits (8x8)"
    else:
        X, y = load_sign_language_digits(path, max_per_digit=max_per_digit, dtype=dtype)
        source = f"Sign Language Digits from {path} (64x64)"
    return source, train_test_split(X, y, test_size=0.15, random_state=42)


def load_sign_language_digits(path, digits=(0, 1), max_per_digit=None, dtype=np.float64):
    """Sign Language Digits images of the given digits, flattened to 4096 pixels.

    `path` is a folder holding either `X.npy` and `Y.npy` (the widely used release) or one
    sub-folder per digit (`0/`, `1/`, ...) of the original photos, which are converted the
    way X.npy was made (see `image_to_pixels`). Rows come digit by digit in the order of
    `digits`; `max_per_digit` keeps the first N of each, e.g. 205 for the classic 410-image
    lesson on zeros and ones.
    """
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
    # Saved arrays are data, never code: refuse pickled objects.
    X = np.load(folder / "X.npy", allow_pickle=False)
    Y = np.load(folder / "Y.npy", allow_pickle=False)
    if X.ndim != 3 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(
            f"load_sign_language_digits: expected X (n, 64, 64) and one-hot Y (n, 10) in "
            f"{folder}, got X {X.shape} and Y {Y.shape}"
        )
    return X, Y.argmax(axis=1)


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

    RGB to luma (0.299 R + 0.587 G + 0.114 B), stretched so its own minimum is 0 and its
    maximum 255, rounded to uint8, resized with bilinear resampling, divided by 255.
    """
    from PIL import Image

    with Image.open(file) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    low, high = luma.min(), luma.max()
    stretched = (luma - low) * (255.0 / max(high - low, 1e-12))
    gray = Image.fromarray(np.round(stretched).astype(np.uint8))
    small = gray.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0


def ten_digits_split(path=None, dtype=np.float64):
    """The ten-digit lesson's data: every digit, split 85/15 with random_state 42, stratified.

    Without `path`, scikit-learn's bundled 8×8 digits (1,797 images, nothing to download);
    with it, all 2,062 Sign Language Digits images (64×64). Stratified, so each digit keeps
    its share in both parts. Returns a short description of the source and (X_train,
    X_test, y_train, y_test), X with one row per image.
    """
    from sklearn.model_selection import train_test_split

    if path is None:
        X, y = load_digits_binary(digits=range(10))
        X, source = X.astype(dtype), "scikit-learn's bundled digits (8x8)"
    else:
        X, y = load_sign_language_digits(path, digits=range(10), dtype=dtype)
        source = f"Sign Language Digits from {path} (64x64)"
    return source, train_test_split(X, y, test_size=0.15, random_state=42, stratify=y)
