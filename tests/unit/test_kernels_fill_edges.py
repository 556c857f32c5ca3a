"""toolkit.kernels.fill against a plain loop over each segment (issue 19: fill limits at the edges).

The reference walks every segment row by row: the last valid row before and the first valid
row after each row, inside the segment, and the length of the run of missing values -- the
definitions, with none of the kernel's cumulative-count arithmetic. The arrays are drawn so
that segments open and close with gaps, hold one row, or hold no valid value at all.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.kernels.fill import FILL_METHODS, row_segment_bounds, segment_fill, segment_neighbours

NAN = np.nan


def segments(seed, n_segments=12, missing=0.5):
    """Values with NaN runs at segment edges, and the segment offsets (lengths 1 to 9).

    The first segment opens with a valid value followed by a gap (row 0 is the last valid row
    before it); two one-row segments follow (one valid, one missing), then one with nothing valid;
    the others open and close with a gap.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 10, n_segments)
    lengths[:3] = [6, 1, 1]
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = rng.integers(-3, 9, int(bounds[-1])).astype(float)
    x[rng.random(x.shape[0]) < missing] = NAN
    x[0], x[1:4] = 3.0, NAN
    x[bounds[1]], x[bounds[2]] = 2.0, NAN
    x[bounds[3]:bounds[4]] = NAN
    x[bounds[:-1][4:]] = NAN
    x[bounds[1:][4:] - 1] = NAN
    return x, bounds


def loop_neighbours(valid, bounds):
    n = valid.shape[0]
    prev, nxt = np.full(n, -1), np.full(n, -1)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        last = -1
        for i in range(lo, hi):
            last = i if valid[i] else last
            prev[i] = last
        first = -1
        for i in range(hi - 1, lo - 1, -1):
            first = i if valid[i] else first
            nxt[i] = first
    return prev, nxt


def loop_fill(x, bounds, method, limit=None, value=None):
    out, mask = x.copy(), np.zeros(x.shape[0], dtype=bool)
    prev, nxt = loop_neighbours(~np.isnan(x), bounds)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for i in range(lo, hi):
            if not np.isnan(x[i]):
                continue
            p, q = prev[i], nxt[i]
            if method == "ffill" and p >= 0:
                new, run = x[p], i - p
            elif method == "bfill" and q >= 0:
                new, run = x[q], q - i
            elif method == "linear" and p >= 0 and q >= 0:
                new, run = x[p] + (x[q] - x[p]) * (i - p) / (q - p), i - p
            elif method == "value" and not np.isnan(value[i]):
                new, run = value[i], (i - p if p >= 0 else i - lo + 1)
            else:
                continue
            if limit is None or run <= limit:
                out[i], mask[i] = new, True
    return out, mask


@pytest.mark.parametrize("seed", range(6))
def test_row_segment_bounds_and_neighbours_match_the_loop(seed):
    x, bounds = segments(seed)
    first, last = row_segment_bounds(bounds, x.shape[0])
    lengths = np.diff(bounds)
    np.testing.assert_array_equal(first, np.repeat(bounds[:-1], lengths))
    np.testing.assert_array_equal(last, np.repeat(bounds[1:] - 1, lengths))
    prev, nxt = segment_neighbours(~np.isnan(x), bounds)
    ref_prev, ref_nxt = loop_neighbours(~np.isnan(x), bounds)
    np.testing.assert_array_equal(prev, ref_prev)
    np.testing.assert_array_equal(nxt, ref_nxt)


@pytest.mark.parametrize("valid", [[False] * 5, [True] * 5, [True, False, False, False, False],
                                   [False, False, False, False, True], [False, True, False, True, False]])
def test_neighbours_with_one_or_no_valid_row(valid):
    valid = np.array(valid)
    for bounds in (np.array([0, 5]), np.array([0, 2, 5]), np.array([0, 1, 2, 3, 4, 5])):
        got = segment_neighbours(valid, bounds)
        ref = loop_neighbours(valid, bounds)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("limit", [None, 1, 2, 3])
@pytest.mark.parametrize("method", ["ffill", "bfill", "linear", "value"])
@pytest.mark.parametrize("seed", range(4))
def test_segment_fill_matches_the_loop(seed, method, limit):
    x, bounds = segments(seed)
    value = np.where(np.random.default_rng(seed + 100).random(x.shape[0]) < 0.2, NAN, 10.0 + np.arange(x.shape[0]))
    got, mask = segment_fill(x, bounds, method, limit, value if method == "value" else None)
    ref, ref_mask = loop_fill(x, bounds, method, limit, value)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)  # NaN in the same places
    np.testing.assert_array_equal(mask, ref_mask)
    assert mask.dtype == bool and not mask[~np.isnan(x)].any()


@pytest.mark.parametrize("method,limit,expected", [
    ("ffill", 1, [NAN, NAN, 1, 1, NAN, 4, 4, NAN]),
    ("bfill", 1, [NAN, 1, 1, NAN, 4, 4, NAN, NAN]),
    ("bfill", None, [1, 1, 1, 4, 4, 4, NAN, NAN]),
    ("linear", None, [NAN, NAN, 1, 2, 3, 4, NAN, NAN]),
    ("linear", 1, [NAN, NAN, 1, 2, NAN, 4, NAN, NAN]),
    ("value", 1, [9, NAN, 1, 9, NAN, 4, 9, NAN]),
    ("value", 2, [9, 9, 1, 9, 9, 4, 9, 9]),
])
def test_segment_fill_by_hand_at_both_ends(method, limit, expected):
    """One segment: gaps of 2 open it, lie inside and close it; value fills count a gap that opens
    the segment from its first row."""
    x = np.array([NAN, NAN, 1, NAN, NAN, 4, NAN, NAN])
    got, mask = segment_fill(x, np.array([0, 8]), method, limit, np.full(8, 9.0))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(mask, np.isnan(x) & ~np.isnan(expected))


@pytest.mark.parametrize("method,limit,expected", [
    ("linear", None, [1, 2, 3, 4, 5, NAN]),
    ("linear", 2, [1, 2, 3, NAN, 5, NAN]),
    ("value", 2, [1, 9, 9, NAN, 5, 9]),
    ("value", 1, [1, 9, NAN, NAN, 5, 9]),
    ("ffill", 2, [1, 1, 1, NAN, 5, 5]),
])
def test_segment_fill_after_a_valid_first_row(method, limit, expected):
    """Row 0 is the last valid row before the first gap: its run counts from row 0, not from the segment start."""
    x = np.array([1, NAN, NAN, NAN, 5, NAN])
    got, mask = segment_fill(x, np.array([0, 6]), method, limit, np.full(6, 9.0))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(mask, np.isnan(x) & ~np.isnan(expected))


@pytest.mark.parametrize("method", FILL_METHODS)
@pytest.mark.parametrize("x", [[2.0], [NAN]])
def test_segment_fill_one_row(method, x):
    got, mask = segment_fill(np.array(x), np.array([0, 1]), method, 1, np.array([9.0]))
    filled = method == "value" and np.isnan(x[0])
    np.testing.assert_array_equal(got, [9.0] if filled else x)
    assert mask.tolist() == [filled]


def test_segment_fill_never_crosses_a_boundary():
    x = np.array([1.0, NAN, NAN, 5.0, NAN])
    bounds = np.array([0, 1, 3, 5])  # [1] [nan nan] [5 nan]
    for method in ("ffill", "bfill", "linear"):
        got, mask = segment_fill(x, bounds, method)
        assert np.isnan(got[1:3]).all() and not mask[1:3].any()
    np.testing.assert_array_equal(segment_fill(x, bounds, "ffill")[0], [1, NAN, NAN, 5, 5])
    np.testing.assert_array_equal(segment_fill(x, bounds, "bfill")[0], [1, NAN, NAN, 5, NAN])


def test_segment_fill_empty_and_unknown_method():
    got, mask = segment_fill(np.array([]), np.array([0]), "ffill", 2)
    assert got.shape == mask.shape == (0,) and mask.dtype == bool
    assert FILL_METHODS == ("ffill", "bfill", "linear", "value")
    with pytest.raises(ValueError, match=r"unknown method 'mean'; choose from \['ffill', 'bfill', 'linear', 'value'\]"):
        segment_fill(np.array([1.0, NAN]), np.array([0, 2]), "mean")
