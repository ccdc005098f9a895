"""optaro.ohlc against a pure-Python reference: the definition, written plainly."""

from __future__ import annotations

import doctest
import math
import random

import numpy as np
import pytest

import optaro
from optaro import _ohlc

NS = 1_000_000_000
NSE_OPEN_UTC = 3 * 3600 + 45 * 60  # 09:15 IST
SESSION = 1_736_912_700 * NS  # 2025-01-15T03:45:00Z


def reference_ohlc(timestamps, prices, volumes, window_seconds, anchor_seconds=0):
    """Group by window start (Python integers cannot overflow), order each window stably by time."""
    w, a = window_seconds * NS, anchor_seconds * NS
    groups = {}
    for i, t in enumerate(timestamps):
        groups.setdefault(a + (t - a) // w * w, []).append((t, i))
    out = {name: [] for name in _ohlc.CANDLE_FIELDS}
    for start in sorted(groups):
        ticks = sorted(groups[start])  # (t, input position): the stable order
        p = [prices[i] for _, i in ticks]
        v = [volumes[i] for _, i in ticks]
        total = sum(v)
        out["start_ns"].append(start)
        out["open"].append(p[0])
        out["high"].append(max(p))
        out["low"].append(min(p))
        out["close"].append(p[-1])
        out["volume"].append(total)
        out["vwap"].append(sum(x * y for x, y in zip(p, v)) / total if total > 0 else math.nan)
        out["ticks"].append(len(ticks))
    return out


def random_ticks(n, center, span_seconds, seed):
    rng = random.Random(seed)
    grid = 250_000_000  # many ticks share a timestamp
    steps = 2 * span_seconds * NS // grid
    t = [center - span_seconds * NS + rng.randrange(steps) * grid for _ in range(n)]
    p = [21500 + 0.05 * rng.randrange(4000) for _ in range(n)]
    v = [float(rng.randrange(100)) for _ in range(n)]
    t.append(center + 3 * span_seconds * NS)  # alone in its window, with no volume: VWAP NaN
    p.append(21600.5)
    v.append(0.0)
    return t, p, v


def assert_same(got, want):
    assert list(got) == list(_ohlc.CANDLE_FIELDS)
    assert got["start_ns"].dtype == np.int64 and got["ticks"].dtype == np.int64
    for name in ("start_ns", "open", "high", "low", "close", "ticks"):
        np.testing.assert_array_equal(got[name], np.array(want[name]), err_msg=name)
    # Sums in another order than the reference's in shuffled input: equal to rounding.
    np.testing.assert_allclose(got["volume"], want["volume"], rtol=1e-12)
    np.testing.assert_allclose(got["vwap"], want["vwap"], rtol=1e-12)  # NaN == NaN here


@pytest.mark.parametrize("window", [60, 300, 900, 7])
@pytest.mark.parametrize(
    ("center", "anchor"),
    [(SESSION, 0), (SESSION, NSE_OPEN_UTC), (0, 0), (-SESSION, NSE_OPEN_UTC), (SESSION, -7), (SESSION, 20_000_000_001)],
)
def test_matches_reference(window, center, anchor):
    t, p, v = random_ticks(2000, center, 3600, seed=window * 31 + anchor % 1000)
    assert_same(optaro.ohlc(t, p, v, window, anchor), reference_ohlc(t, p, v, window, anchor))


def test_nse_anchor_and_ties():
    t = [SESSION - NS, SESSION, SESSION, SESSION + 899 * NS, SESSION + 900 * NS]
    bars = optaro.ohlc(np.array(t), [100.0, 101.0, 99.0, 102.0, 103.0], [1, 2, 0, 3, 4], 900, NSE_OPEN_UTC)
    assert bars["start_ns"].tolist() == [SESSION - 900 * NS, SESSION, SESSION + 900 * NS]
    assert bars["open"][1] == 101.0 and bars["close"][1] == 102.0 and bars["low"][1] == 99.0
    assert bars["ticks"].tolist() == [1, 3, 1]
    assert bars["vwap"][1] == pytest.approx((101 * 2 + 102 * 3) / 5)


def test_datetime64_and_empty_input():
    t = np.array(["2025-01-15T03:45:00", "2025-01-15T03:46:30"], dtype="datetime64[s]")
    bars = optaro.ohlc(t, [1.0, 2.0], [1.0, 1.0], 60)
    assert bars["start_ns"].tolist() == [SESSION, SESSION + 60 * NS]  # 03:46:30 is in the 03:46 minute
    empty = optaro.ohlc([], [], [], 60)
    assert all(len(column) == 0 for column in empty.values())
    assert empty["start_ns"].dtype == np.int64


def test_zero_volume_window_has_nan_vwap():
    bars = optaro.ohlc([0, 1], [5.0, 6.0], [0, 0], 60)
    assert math.isnan(bars["vwap"][0]) and bars["volume"][0] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0, 1], [1.0, 2.0], [1.0, 1.0], 0), "window: must be positive"),
        (([0, 1], [1.0], [1.0, 1.0], 60), "prices: length 1 differs"),
        (([0, 1], [1.0, 2.0], [1.0], 60), "volumes: length 1 differs"),
        (([0, 1], [1.0, math.nan], [1.0, 1.0], 60), r"prices\[1\]: not finite"),
        (([0, 1], [1.0, 2.0], [-5.0, 1.0], 60), r"volumes\[0\]: negative"),
        (([0.5, 1.0], [1.0, 2.0], [1.0, 1.0], 60), "timestamps_ns: expected integer"),
        (([0, 1], [1.0, 2.0], [1.0, 1.0], 1.5), "window_seconds: expected a whole number"),
        (([0, 1], ["a", 2.0], [1.0, 1.0], 60), "prices: cannot be read"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        optaro.ohlc(*args)


def test_docstring_example():
    failures, tried = doctest.testmod(_ohlc, verbose=False)
    assert tried > 0 and failures == 0
