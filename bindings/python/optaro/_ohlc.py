"""OHLC candles of ticks over fixed time windows (open, high, low, close, volume, VWAP, tick count)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core

__all__ = ["ohlc"]

#: The columns of :func:`ohlc`'s result, in order.
CANDLE_FIELDS = ("start_ns", "open", "high", "low", "close", "volume", "vwap", "ticks")


def _timestamps(values: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.dtype.kind == "M":  # datetime64 of any unit
        return np.ascontiguousarray(array.astype("datetime64[ns]").view(np.int64)).ravel()
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
        raise ValueError("timestamps_ns: values beyond the int64 range")
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"timestamps_ns: expected integer nanoseconds since the epoch or datetime64, got {array.dtype}"
        )
    return np.ascontiguousarray(array, dtype=np.int64).ravel()


def _numbers(values: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        return np.ascontiguousarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: cannot be read as numbers ({e})") from None


def _seconds(value: Any, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected a whole number of seconds, got {value!r}") from None


def ohlc(
    timestamps_ns: ArrayLike,
    prices: ArrayLike,
    volumes: ArrayLike,
    window_seconds: int,
    anchor_seconds: int = 0,
) -> dict[str, NDArray[Any]]:
    """Candles of ticks over windows of ``window_seconds``.

    Windows are half-open, ``[start, start + window)``, with
    ``start = anchor + floor((t - anchor) / window) * window``: ``anchor_seconds`` (seconds since the
    Unix epoch; only its value modulo the window matters) aligns them, e.g. ``3 * 3600 + 45 * 60``
    (03:45 UTC) for bars from the NSE open at 09:15 IST. Within a window the ticks are ordered by
    timestamp, input order breaking ties: ``open`` is the first tick's price and ``close`` the last's.
    ``vwap`` is ``sum(price * volume) / sum(volume)``, NaN when the volume is 0. Windows without ticks
    are omitted; the input need not be sorted.

    Args:
        timestamps_ns: UTC nanoseconds since the epoch (integers), or numpy datetime64.
        prices: the ticks' prices; finite (zero and negative prices are allowed).
        volumes: the ticks' volumes; finite and >= 0.
        window_seconds: the window length, a positive whole number of seconds.
        anchor_seconds: where windows are aligned, in seconds since the epoch.

    Returns:
        A dict of equal-length numpy arrays, one entry per candle in increasing ``start_ns``:
        ``start_ns`` (int64), ``open``, ``high``, ``low``, ``close``, ``volume``, ``vwap`` (float64)
        and ``ticks`` (int64, the number of ticks).

    Raises:
        ValueError: a non-positive window, arrays of different lengths, a price not finite or a
            volume negative or not finite (the message names the index), timestamps that are not
            integers.

    >>> bars = ohlc([0, 30_000_000_000, 60_000_000_000], [10.0, 12.0, 11.0], [1, 3, 2], 60)
    >>> bars["start_ns"].tolist(), bars["close"].tolist(), bars["vwap"].tolist()
    ([0, 60000000000], [12.0, 11.0], [11.5, 11.0])
    """
    t = _timestamps(timestamps_ns)
    p = _numbers(prices, "prices")
    v = _numbers(volumes, "volumes")
    window = _seconds(window_seconds, "window_seconds")
    anchor = _seconds(anchor_seconds, "anchor_seconds")
    n = len(t)
    columns = {
        name: np.empty(n, dtype=np.int64 if name in ("start_ns", "ticks") else np.float64) for name in CANDLE_FIELDS
    }
    try:
        count = _core.ohlc(t, p, v, window, anchor, *columns.values())
    except OverflowError:
        raise ValueError("window_seconds, anchor_seconds: beyond the int64 range") from None
    # Copies, so that a few candles do not keep buffers the size of the ticks alive.
    return {name: column[:count].copy() for name, column in columns.items()}
