"""optaro.fit_svi, the SVI helpers and optaro.VolSurface, against definitions written out here."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import optaro

# Gatheral and Jacquier, "Arbitrage-free SVI volatility surfaces" (2014), example 3.1: a smile with
# butterfly arbitrage.
GJ_ARBITRAGE = {"a": -0.0410, "b": 0.1331, "rho": 0.3060, "m": 0.3586, "sigma": 0.4153}
CLEAN = {"a": 0.01, "b": 0.1, "rho": -0.4, "m": 0.05, "sigma": 0.2}


def svi(p, k):
    k = np.asarray(k, dtype=float)
    return p["a"] + p["b"] * (p["rho"] * (k - p["m"]) + np.sqrt((k - p["m"]) ** 2 + p["sigma"] ** 2))


def durrleman_g(p, k, h=1e-4):
    """g(k) from its definition, with w' and w'' by central differences."""
    w = svi(p, k)
    w1 = (svi(p, k + h) - svi(p, k - h)) / (2 * h)
    w2 = (svi(p, k + h) - 2 * w + svi(p, k - h)) / (h * h)
    return (1 - k * w1 / (2 * w)) ** 2 - w1**2 / 4 * (1 / w + 0.25) + w2 / 2


def test_total_variance_and_g_are_the_definitions():
    k = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(optaro.svi_total_variance(CLEAN, k), svi(CLEAN, k), rtol=1e-15, atol=1e-17)
    assert isinstance(optaro.svi_total_variance(CLEAN, 0.1), float)
    assert optaro.svi_total_variance(CLEAN, [[0.1, 0.2]]).shape == (1, 2)
    np.testing.assert_allclose(optaro.svi_durrleman_g(CLEAN, k), durrleman_g(CLEAN, k), atol=1e-6)


def test_butterfly_violations_where_g_is_negative():
    k = np.linspace(-1.5, 1.5, 301)
    found = optaro.svi_butterfly_violations(GJ_ARBITRAGE, k)
    assert len(found) > 0
    np.testing.assert_array_equal(found, k[durrleman_g(GJ_ARBITRAGE, k) < 0])
    assert len(optaro.svi_butterfly_violations(CLEAN, k)) == 0


def test_fit_recovers_a_noisy_smile_within_a_tenth_of_a_vol_point():
    rng = np.random.default_rng(11)
    t = 0.25
    k = np.linspace(-0.35, 0.25, 41)
    true_vol = np.sqrt(svi(CLEAN, k) / t)
    noisy = true_vol + rng.normal(0, 0.002, size=k.size)  # 0.2 vol points
    fit = optaro.fit_svi(k, noisy**2 * t)
    assert set(fit) == {"a", "b", "rho", "m", "sigma", "rmse", "iterations", "converged"}
    fitted_vol = np.sqrt(optaro.svi_total_variance(fit, k) / t)
    assert np.sqrt(np.mean((fitted_vol - true_vol) ** 2)) < 0.001
    assert fit["b"] >= 0 and abs(fit["rho"]) < 1 and fit["sigma"] > 0
    # Warm start from the fit: the same optimum.
    again = optaro.fit_svi(k, noisy**2 * t, previous=fit)
    np.testing.assert_allclose(optaro.svi_total_variance(again, k), optaro.svi_total_variance(fit, k), rtol=1e-6)


def test_fit_errors_name_the_argument():
    with pytest.raises(ValueError, match="k"):
        optaro.fit_svi([0.0, 0.1], [0.01, 0.02])
    with pytest.raises(ValueError, match="previous: missing 'sigma'"):
        optaro.fit_svi(np.linspace(-0.2, 0.2, 9), np.full(9, 0.01), previous={"a": 0, "b": 0, "rho": 0, "m": 0})
    with pytest.raises(ValueError, match="weights"):
        optaro.fit_svi(np.linspace(-0.2, 0.2, 9), np.full(9, 0.01), weights=np.full(9, -1.0))


# ---- surfaces from chains ------------------------------------------------------------------------

SPOT, RATE = 21500.0, 0.065
EXPIRIES = {  # expiry date -> (days from the chain timestamp, smile)
    "2025-01-23": (8, {"a": 0.0008, "b": 0.02, "rho": -0.5, "m": 0.005, "sigma": 0.06}),
    "2025-02-27": (43, {"a": 0.004, "b": 0.05, "rho": -0.45, "m": 0.01, "sigma": 0.12}),
}


def chain_message(expiry, days, smile):
    """A market:option_chain whose quotes are priced from the smile (bid = ask = price)."""
    t = days / 365
    forward = SPOT * math.exp(RATE * t)
    sides = {"calls": [], "puts": []}
    for strike in np.arange(19000.0, 24001.0, 100.0):
        vol = math.sqrt(svi(smile, math.log(strike / forward)) / t)
        for side, kind in (("calls", "c"), ("puts", "p")):
            price = optaro.bs_price(SPOT, strike, t, RATE, 0.0, vol, kind)
            sides[side].append({"strike": strike, "bid": price, "ask": price, "last": price, "volume": 1,
                                "open_interest": 1})
    # The timestamp is `days` before expiry at 10:00 UTC, the default expiry time.
    y, m, d = map(int, expiry.split("-"))
    expiry_ns = (np.datetime64(f"{y:04d}-{m:02d}-{d:02d}T10:00:00") - np.datetime64("1970-01-01T00:00:00"))
    timestamp = int(expiry_ns / np.timedelta64(1, "ns")) - days * 86400 * 10**9
    return {"product": "NIFTY", "expiry": expiry, "chain_id": f"NIFTY-{expiry}", "timestamp": timestamp,
            "underlying_price": SPOT, **sides}


@pytest.fixture(scope="module")
def surface():
    chains = [chain_message(e, days, smile) for e, (days, smile) in EXPIRIES.items()]
    return optaro.VolSurface.from_chains(chains, config={"rate": RATE})


def test_from_chains_recovers_each_smile(surface):
    slices = surface.slices
    assert [s["expiry"] for s in slices] == list(EXPIRIES)
    assert surface.spot == SPOT
    for s, (days, smile) in zip(slices, EXPIRIES.values()):
        t = days / 365
        assert s["time_to_expiry"] == pytest.approx(t, rel=1e-12)
        k = np.linspace(s["k_min"], s["k_max"], 25)
        np.testing.assert_allclose(np.sqrt(optaro.svi_total_variance(s["svi"], k) / t),
                                   np.sqrt(svi(smile, k) / t), atol=1e-7)
        # At the slice's expiry the surface is the smile.
        strikes = SPOT * np.exp(RATE * t) * np.exp(k)
        np.testing.assert_allclose(surface.iv(strikes, t), np.sqrt(svi(s["svi"], k) / t), rtol=1e-12)
    assert surface.calendar_violations() == []


def test_queries_broadcast_and_interpolate(surface):
    t1, t2 = (s["time_to_expiry"] for s in surface.slices)
    k = np.array([-0.05, 0.0, 0.03])
    w1 = svi(surface.slices[0]["svi"], k)
    w2 = svi(surface.slices[1]["svi"], k)
    t = (t1 + t2) / 2
    np.testing.assert_allclose(surface.total_variance(k, t), (w1 + w2) / 2, rtol=1e-14)
    assert surface.total_variance(k[:, None], [t1, t2]).shape == (3, 2)
    assert isinstance(surface.iv(21500.0, t), float)
    assert surface.forward(0.0) == SPOT
    assert surface.forward(t2) == pytest.approx(SPOT * math.exp(RATE * t2), rel=1e-12)
    with pytest.raises(ValueError, match="t: shape"):
        surface.iv([1.0, 2.0, 3.0], [0.1, 0.2])


def test_warm_start_from_the_previous_surface(surface):
    chains = [chain_message(e, days, smile) for e, (days, smile) in EXPIRIES.items()]
    again = optaro.VolSurface.from_chains(chains, previous=surface, config={"rate": RATE})
    for a, b in zip(again.slices, surface.slices):
        k = np.linspace(a["k_min"], a["k_max"], 9)
        np.testing.assert_allclose(svi(a["svi"], k), svi(b["svi"], k), rtol=1e-8)


def test_crossed_expiries_show_calendar_violations():
    near = {"time_to_expiry": 0.08, "forward": 100.0, "svi": CLEAN, "k_min": -0.4, "k_max": 0.3}
    crossed = dict(near, time_to_expiry=0.1, svi=dict(CLEAN, rho=0.3))
    found = optaro.VolSurface([near, crossed]).calendar_violations(101)
    assert found and all(v["w2"] < v["w1"] and v["k"] < CLEAN["m"] for v in found)
    assert all((v["t1"], v["t2"]) == (0.08, 0.1) for v in found)


def test_document_round_trip_and_errors(surface):
    text = surface.to_json("NIFTY", timestamp_ns=0)
    doc = json.loads(text)
    assert doc["product"] == "NIFTY" and doc["timestamp"] == "1970-01-01T00:00:00Z"
    assert [s["expiry"] for s in doc["slices"]] == list(EXPIRIES)
    back = optaro.VolSurface.from_json(text)
    assert back.slices == surface.slices
    doc["slices"][1]["svi"]["rho"] = 1.5
    with pytest.raises(ValueError, match=r"slices\[1\]\.svi\.rho: must lie in \(-1, 1\)"):
        optaro.VolSurface.from_json(json.dumps(doc))
    with pytest.raises(ValueError, match=r"slices\[0\]\.forward: missing"):
        optaro.VolSurface([{"time_to_expiry": 0.1, "svi": CLEAN, "k_min": 0, "k_max": 1}])
