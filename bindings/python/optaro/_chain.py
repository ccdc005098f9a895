"""Option-chain analytics: put-call ratio, max pain, and the enrichment of a whole chain message.

Messages are the JSON formats of optaro's market data (market:option_chain in, enriched:option_chain
out): see the project's ``MESSAGES.md``. The enriched message carries, besides the chain, its time to
expiry, forward, put-call ratios, open-interest and volume totals, max pain, ATM strike and IV, 25-delta
risk reversal and butterfly, expected move, positioning (largest open interest, gamma and delta
exposure), and on every quote the price used, the implied volatility with its status and the Greeks in
trader units (delta and gamma per unit of the underlying, vega per vol point, theta per calendar day,
rho per rate point). Values that do not exist are ``None`` (JSON null), never NaN.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _core

__all__ = ["enrich_chain", "max_pain", "pcr"]

Message = Union[Mapping[str, Any], str, bytes]

#: Keys of the ``config`` mapping of :func:`enrich_chain`, with their defaults.
DEFAULT_CONFIG: dict[str, Any] = {
    "rate": 0.0,  # continuous, per year; a chain's own "rate" field overrides it
    "dividend_yield": 0.0,  # continuous, per year; a chain's own "dividend_yield" overrides it
    "expiry_time": "10:00",  # UTC time of day of expiry (15:30 Asia/Kolkata), "HH:MM" or "HH:MM:SS"
    "forward": "carry",  # "carry": S exp((r - q) T); "parity": implied by put-call parity near the money
    "pcr_window": 5,  # the windowed PCR counts strikes within +-N of the ATM strike
    "lot_size": 1.0,  # contract multiplier for gamma and delta exposure
}


def _flat(values: ArrayLike, name: str) -> np.ndarray:
    try:
        return np.ascontiguousarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: cannot be read as numbers ({e})") from None


def pcr(call_values: ArrayLike, put_values: ArrayLike) -> Optional[float]:
    """Put-call ratio: the sum of ``put_values`` over the sum of ``call_values`` (open interest or
    volume); ``None`` when the calls sum to 0."""
    return _core.pcr(_flat(call_values, "call_values"), _flat(put_values, "put_values"))


def max_pain(strikes: ArrayLike, call_oi: ArrayLike, put_oi: ArrayLike) -> Optional[float]:
    """The strike at which option holders' total payout is smallest.

    Minimises ``sum(call_oi * max(0, s - K)) + sum(put_oi * max(0, K - s))`` over the listed strikes
    ``s``; ties go to the lowest strike; ``None`` for an empty chain. ``strikes``, ``call_oi`` and
    ``put_oi`` are parallel (open interest per strike for each side). O(n log n).
    """
    k = _flat(strikes, "strikes")
    c = _flat(call_oi, "call_oi")
    p = _flat(put_oi, "put_oi")
    if not (len(k) == len(c) == len(p)):
        raise ValueError(f"strikes, call_oi, put_oi: lengths {len(k)}, {len(c)}, {len(p)} differ")
    return _core.max_pain(k, c, k, p)


def _message_bytes(message: Message, name: str) -> Union[str, bytes]:
    if isinstance(message, (str, bytes)):
        return message
    if isinstance(message, Mapping):
        try:
            return json.dumps(message, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name}: cannot be written as JSON ({e})") from None
    raise ValueError(f"{name}: expected a mapping, str or bytes, got {type(message).__name__}")


def _expiry_seconds(value: Any) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        seconds = int(value)
    elif isinstance(value, str):
        parts = value.split(":")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError(f"expiry_time: expected 'HH:MM' or 'HH:MM:SS' (UTC), got {value!r}")
        h, m, s = (int(p) for p in (parts + ["0"])[:3])
        if h > 23 or m > 59 or s > 59:
            raise ValueError(f"expiry_time: not a time of day: {value!r}")
        seconds = h * 3600 + m * 60 + s
    else:
        raise ValueError(f"expiry_time: expected 'HH:MM' or seconds after midnight UTC, got {value!r}")
    if not 0 <= seconds < 86400:
        raise ValueError(f"expiry_time: {seconds} seconds is not within a day")
    return seconds


def enrich_chain(
    message: Message, config: Optional[Mapping[str, Any]] = None, previous: Optional[Message] = None
) -> dict[str, Any]:
    """Enrich one option-chain message: everything ``enriched:option_chain`` carries.

    Args:
        message: a market:option_chain message, as a mapping, a JSON str or JSON bytes.
        config: optional mapping with any of the keys of ``DEFAULT_CONFIG`` (rate, dividend_yield,
            expiry_time, forward, pcr_window, lot_size); unknown keys are an error.
        previous: the previous snapshot of the same chain (same forms as ``message``); when given,
            the per-strike open-interest changes are filled in.

    Returns:
        The enriched message as a dict (JSON null as None), with ``enriched_at`` the current UTC time.

    Raises:
        ValueError: the message (or previous, or config) is invalid; the text names the field and the
            reason, e.g. ``calls[17].open_interest: negative (-5)``.
    """
    cfg = dict(DEFAULT_CONFIG)
    for key, value in (config or {}).items():
        if key not in DEFAULT_CONFIG:
            raise ValueError(f"config.{key}: unknown key (known: {', '.join(DEFAULT_CONFIG)})")
        cfg[key] = value
    try:
        rate, dividend_yield = float(cfg["rate"]), float(cfg["dividend_yield"])
        lot_size, pcr_window = float(cfg["lot_size"]), int(cfg["pcr_window"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"config: {e}") from None
    out = _core.enrich_chain_json(
        _message_bytes(message, "message"),
        rate,
        dividend_yield,
        _expiry_seconds(cfg["expiry_time"]),
        str(cfg["forward"]),
        pcr_window,
        lot_size,
        None if previous is None else _message_bytes(previous, "previous"),
        time.time_ns(),
    )
    result: dict[str, Any] = json.loads(out)
    return result
