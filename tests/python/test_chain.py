"""optaro.pcr, optaro.max_pain and optaro.enrich_chain, against independent computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import optaro

# The example chain of MESSAGES.md, verbatim.
EXAMPLE_CHAIN = {
    "product": "NIFTY",
    "expiry": "2025-01-30",
    "chain_id": "NIFTY-20250130-000123",
    "timestamp": "2025-01-15T10:30:00Z",
    "underlying_price": 21543.25,
    "calls": [{"strike": 21500, "bid": 180.5, "ask": 182.0, "last": 181.2, "volume": 125000, "open_interest": 2300000}],
    "puts": [{"strike": 21500, "bid": 120.0, "ask": 121.5, "last": 120.8, "volume": 98000, "open_interest": 2100000}],
}

# Fields MESSAGES.md lists for enriched:option_chain, besides the chain's own.
CHAIN_FIELDS = [
    "time_to_expiry", "forward", "rate", "dividend_yield", "pcr_oi", "pcr_volume", "total_call_oi",
    "total_put_oi", "total_call_volume", "total_put_volume", "max_pain", "atm_strike", "atm_iv",
    "risk_reversal_25d", "butterfly_25d", "expected_move", "enriched_at", "processing_us",
]
QUOTE_FIELDS = ["iv", "iv_status", "delta", "gamma", "vega", "theta", "rho"]


def max_pain_definition(strikes, call_oi, put_oi):
    """The O(n^2) definition: the listed strike with the least total payout, ties to the lowest."""
    best, best_pay = None, math.inf
    for s in sorted(set(strikes)):
        pay = sum(c * max(0.0, s - k) for k, c in zip(strikes, call_oi))
        pay += sum(p * max(0.0, k - s) for k, p in zip(strikes, put_oi))
        if pay < best_pay:
            best, best_pay = s, pay
    return best


def test_pcr():
    assert optaro.pcr([100, 200], [150, 150]) == pytest.approx(1.0)
    assert optaro.pcr(np.array([2.0]), np.array([3.0])) == pytest.approx(1.5)
    assert optaro.pcr([0, 0], [1, 2]) is None
    assert optaro.pcr([], []) is None


def test_max_pain_matches_the_definition():
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        strikes = rng.choice(np.arange(100, 300, 5.0), size=n, replace=False)
        call_oi = rng.integers(0, 1000, size=n).astype(float)
        put_oi = rng.integers(0, 1000, size=n).astype(float)
        assert optaro.max_pain(strikes, call_oi, put_oi) == max_pain_definition(
            list(strikes), list(call_oi), list(put_oi))
    assert optaro.max_pain([], [], []) is None
    with pytest.raises(ValueError, match="lengths"):
        optaro.max_pain([1.0, 2.0], [1.0], [1.0, 2.0])


def test_example_chain_has_every_field():
    out = optaro.enrich_chain(EXAMPLE_CHAIN)
    for field in CHAIN_FIELDS:
        assert field in out, field
    for key, value in EXAMPLE_CHAIN.items():
        if key not in ("calls", "puts"):
            assert out[key] == value, key
    for side in ("calls", "puts"):
        assert len(out[side]) == 1
        quote = out[side][0]
        for field in QUOTE_FIELDS:
            assert field in quote, (side, field)
        assert quote["iv_status"] == "ok"
    assert out["pcr_oi"] == pytest.approx(2100000 / 2300000)
    assert out["pcr_volume"] == pytest.approx(98000 / 125000)
    assert out["total_call_oi"] == 2300000 and out["total_put_oi"] == 2100000
    assert out["max_pain"] == 21500 and out["atm_strike"] == 21500
    # T from 2025-01-15T10:30Z to 2025-01-30 at 10:00 UTC, years of 365 days
    assert out["time_to_expiry"] == pytest.approx((15 * 86400 - 1800) / 31536000, rel=1e-15)
    assert out["forward"] == pytest.approx(21543.25)  # r = q = 0 by default


def test_quote_ivs_match_the_pricing_core():
    """The chain path and the batch implied-vol API agree on every quote (two routes, one answer)."""
    config = {"rate": 0.065, "dividend_yield": 0.012}
    out = optaro.enrich_chain(json.dumps(EXAMPLE_CHAIN), config)
    T = out["time_to_expiry"]
    for side, is_call in (("calls", True), ("puts", False)):
        q = out[side][0]
        mid = (q["bid"] + q["ask"]) / 2
        iv = optaro.implied_vol(mid, EXAMPLE_CHAIN["underlying_price"], q["strike"], T, 0.065, 0.012, is_call)
        assert q["iv"] == pytest.approx(iv, rel=1e-14)
        g = optaro.bs_greeks(EXAMPLE_CHAIN["underlying_price"], q["strike"], T, 0.065, 0.012, iv, is_call,
                             trader_units=True)
        for name in ("delta", "gamma", "vega", "theta", "rho"):
            assert q[name] == pytest.approx(float(g[name]), rel=1e-12, abs=1e-15), name


def test_message_forms_agree():
    as_dict = optaro.enrich_chain(EXAMPLE_CHAIN)
    as_bytes = optaro.enrich_chain(json.dumps(EXAMPLE_CHAIN).encode())
    for d in (as_dict, as_bytes):
        d.pop("enriched_at"), d.pop("processing_us")
    assert as_dict == as_bytes


def test_invalid_messages_name_the_field():
    bad = json.loads(json.dumps(EXAMPLE_CHAIN))
    bad["calls"][0]["open_interest"] = -5
    with pytest.raises(ValueError, match=r"calls\[0\]\.open_interest"):
        optaro.enrich_chain(bad)
    with pytest.raises(ValueError, match="message"):
        optaro.enrich_chain("{not json")
    missing = dict(EXAMPLE_CHAIN)
    del missing["timestamp"]
    with pytest.raises(ValueError, match="timestamp"):
        optaro.enrich_chain(missing)
    with pytest.raises(ValueError, match="config.nonsense"):
        optaro.enrich_chain(EXAMPLE_CHAIN, {"nonsense": 1})
    with pytest.raises(ValueError, match="expiry_time"):
        optaro.enrich_chain(EXAMPLE_CHAIN, {"expiry_time": "25:00"})


def test_previous_snapshot_gives_oi_changes():
    previous = json.loads(json.dumps(EXAMPLE_CHAIN))
    previous["calls"][0]["open_interest"] = 2200000
    previous["puts"][0]["open_interest"] = 2150000
    out = optaro.enrich_chain(EXAMPLE_CHAIN, previous=previous)
    (row,) = out["strikes"]
    assert row["strike"] == 21500
    assert row["call_oi_change"] == 100000 and row["put_oi_change"] == -50000


def test_expired_chain():
    expired = dict(EXAMPLE_CHAIN, timestamp="2025-01-30T10:00:00Z")
    out = optaro.enrich_chain(expired)
    assert out["time_to_expiry"] == 0
    for side in ("calls", "puts"):
        assert out[side][0]["iv_status"] == "expired" and out[side][0]["iv"] is None
    assert out["atm_iv"] is None and out["expected_move"] is None
