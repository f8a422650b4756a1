"""The data loaders: scikit-learn's bundled digits and the Sign Language Digits set."""

import numpy as np
import pytest

from minigraph.models.datasets import lesson_split, load_sign_language_digits


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
    with pytest.raises(ValueError, match="pickle"):
        load_sign_language_digits(tmp_path)


def test_lesson_split_is_the_classic_348_62_split(sign_language_dir):
    source, (X_train, X_test, y_train, y_test) = lesson_split(sign_language_dir)
    assert "Sign Language Digits" in source
    assert X_train.shape == (348, 4096) and X_test.shape == (62, 4096)
    assert set(y_train) == {0, 1}
    _, (digits_train, digits_test, _, _) = lesson_split()
    assert len(digits_train) == 306 and len(digits_test) == 54
