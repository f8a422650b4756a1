"""minibatches: every sample once per epoch, in batches of the size asked for."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigraph.data import minibatches


@given(st.integers(0, 50), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_batches_cover_every_sample_once_and_only_the_last_is_smaller(n, batch_size, seed):
    batches = list(minibatches(n, batch_size, seed))
    assert len(batches) == -(-n // batch_size)
    assert all(len(batch) == batch_size for batch in batches[:-1])
    assert sorted(np.concatenate(batches).tolist() if batches else []) == list(range(n))


def test_the_order_is_shuffled_reproducibly_or_kept():
    first = np.concatenate(list(minibatches(100, 32, rng=4)))
    again = np.concatenate(list(minibatches(100, 32, rng=np.random.default_rng(4))))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, np.arange(100))
    assert [batch.tolist() for batch in minibatches(5, 2, shuffle=False)] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("n, batch_size, message", [
    (10, 0, r"batch_size must be a whole number ≥ 1, got 0"),
    (10, 2.5, r"batch_size must be a whole number ≥ 1, got 2.5"),
    (-1, 2, r"n must be a whole number ≥ 0, got -1"),
])
def test_minibatches_refuses_bad_sizes(n, batch_size, message):
    with pytest.raises(ValueError, match=message):
        minibatches(n, batch_size)  # at the call, not at the first batch
