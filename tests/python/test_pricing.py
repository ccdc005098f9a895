"""Prices and Greeks: the Python batch equals the C++ scalar functions to the last bit, literature
values, put-call parity, trader units, Black-76 against BSM, and rows that must not spoil a batch."""

from __future__ import annotations

import numpy as np
import pytest

import optaro
from scalar_agreement import assert_greek_agrees, assert_prices_agree
from optaro import _core

EPS = np.finfo(float).eps


@pytest.fixture(scope="module")
def grid():
    """A seeded set of BSM inputs across moneyness, maturities, vols, rates and yields."""
    rng = np.random.default_rng(20240611)
    n = 400
    return dict(
        S=np.full(n, 100.0),
        K=100.0 * np.exp(rng.uniform(-1.5, 1.5, n)),
        T=np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(10.0), n)),
        r=rng.uniform(-0.01, 0.08, n),
        q=rng.uniform(0.0, 0.05, n),
        sigma=rng.uniform(0.02, 1.5, n),
        is_call=rng.integers(0, 2, n).astype(bool),
    )


def scalar_rows(g):
    return zip(g["S"], g["K"], g["T"], g["r"], g["q"], g["sigma"], g["is_call"])


# ---- Python == C++ ---------------------------------------------------------------------------------

def test_bs_price_batch_agrees_with_the_cpp_scalar(grid):
    expected = np.array([_core.bs_price(*map(float, row[:6]), bool(row[6])) for row in scalar_rows(grid)])
    assert_prices_agree(optaro.bs_price(**grid), expected, grid["S"])


@pytest.mark.parametrize("trader_units", [False, True])
def test_bs_greeks_batch_agrees_with_the_cpp_scalar(grid, trader_units):
    got = optaro.bs_greeks(**grid, trader_units=trader_units)
    scalar = []
    for row in scalar_rows(grid):
        g = _core.bs_greeks(*map(float, row[:6]), bool(row[6]))
        scalar.append(_core.to_trader_units(g) if trader_units else g)
    for name in optaro.GREEK_NAMES:
        assert_greek_agrees(got[name], [getattr(g, name) for g in scalar], name)


def test_greeks_written_into_a_callers_array_are_views_of_it(grid):
    n = len(grid["S"])
    out = np.full((len(optaro.GREEK_NAMES), n), -1.0)
    fresh = optaro.bs_greeks(**grid)
    into = optaro.bs_greeks(**grid, out=out)
    for k, name in enumerate(optaro.GREEK_NAMES):
        np.testing.assert_array_equal(into[name], fresh[name])
        assert np.shares_memory(into[name], out[k])
    # a second call overwrites the same rows: Black-76 into the same block
    F, K, T, r, sigma, c = grid["S"], grid["K"], grid["T"], grid["r"], grid["sigma"], grid["is_call"]
    again = optaro.black76_greeks(F, K, T, r, sigma, c, out=out)
    np.testing.assert_array_equal(out[0], optaro.black76_greeks(F, K, T, r, sigma, c)["delta"])
    assert np.shares_memory(again["veta"], out)


@pytest.mark.parametrize(
    "bad, says",
    [
        (np.empty((12, 3)), "shape"),
        (np.empty((12, 4), dtype=np.float32), "float32"),
        (np.empty((4, 12)).T, "C-contiguous"),
        ([[0.0] * 4] * 12, "list"),
    ],
)
def test_a_wrong_out_array_is_refused_by_name(bad, says):
    with pytest.raises(ValueError, match="out: .*" + says):
        optaro.bs_greeks([100.0] * 4, 100.0, 1.0, 0.01, 0.0, 0.2, True, out=bad)


def test_black76_batch_agrees_with_the_cpp_scalar(grid):
    F, K, T, r, sigma, c = grid["S"], grid["K"], grid["T"], grid["r"], grid["sigma"], grid["is_call"]
    prices = optaro.black76_price(F, K, T, r, sigma, c)
    greeks = optaro.black76_greeks(F, K, T, r, sigma, c)
    rows = [(float(F[i]), float(K[i]), float(T[i]), float(r[i]), float(sigma[i]), bool(c[i])) for i in range(len(F))]
    assert_prices_agree(prices, [_core.black76_price(*args) for args in rows], F)
    scalar = [_core.black76_greeks(*args) for args in rows]
    for name in optaro.GREEK_NAMES:
        assert_greek_agrees(greeks[name], [getattr(g, name) for g in scalar], name)


def test_scalar_call_agrees_with_the_cpp_scalar():
    args = (100.0, 110.0, 0.75, 0.04, 0.02, 0.35, False)
    assert_prices_agree(optaro.bs_price(*args), _core.bs_price(*args))
    g = _core.bs_greeks(*args)
    got = optaro.bs_greeks(*args)
    for name in optaro.GREEK_NAMES:
        assert_greek_agrees(got[name], getattr(g, name), name)


# ---- literature values (Haug, The Complete Guide to Option Pricing Formulas, 2nd ed.) --------------
# The books print 4 decimals; each was checked against a 40-digit mpmath evaluation.

@pytest.mark.parametrize(
    "args, expected",
    [
        ((60.0, 65.0, 0.25, 0.08, 0.0, 0.30, True), 2.1334),   # Black-Scholes call
        ((75.0, 70.0, 0.50, 0.10, 0.05, 0.35, False), 4.0870),  # generalised BSM put, b = 5%
        ((100.0, 95.0, 0.50, 0.10, 0.05, 0.20, False), 2.4648),  # Merton (1973) put
    ],
)
def test_haug_prices(args, expected):
    assert optaro.bs_price(*args) == pytest.approx(expected, abs=5e-5)


def test_haug_black76():
    for is_call in (True, False):
        assert optaro.black76_price(19.0, 19.0, 0.75, 0.10, 0.28, is_call) == pytest.approx(1.7011, abs=5e-5)


def test_haug_greeks():
    # futures option delta (b = 0): call 0.5946, put -0.3566
    assert optaro.bs_greeks(105.0, 100.0, 0.5, 0.10, 0.10, 0.36, True)["delta"] == pytest.approx(0.5946, abs=5e-5)
    assert optaro.bs_greeks(105.0, 100.0, 0.5, 0.10, 0.10, 0.36, False)["delta"] == pytest.approx(-0.3566, abs=5e-5)
    assert optaro.bs_greeks(55.0, 60.0, 0.75, 0.10, 0.0, 0.30, True)["gamma"] == pytest.approx(0.0278, abs=5e-5)
    assert optaro.bs_greeks(430.0, 405.0, 0.0833, 0.07, 0.05, 0.20, False)["theta"] == pytest.approx(-31.1924, abs=5e-5)
    assert optaro.bs_greeks(72.0, 75.0, 1.0, 0.09, 0.0, 0.19, True)["rho"] == pytest.approx(38.7325, abs=5e-5)


# ---- properties ------------------------------------------------------------------------------------

def test_put_call_parity(grid):
    g = {k: v for k, v in grid.items() if k != "is_call"}
    call = optaro.bs_price(**g, is_call=True)
    put = optaro.bs_price(**g, is_call=False)
    fwd = g["S"] * np.exp(-g["q"] * g["T"])
    strike = g["K"] * np.exp(-g["r"] * g["T"])
    # each side is a few roundings of numbers no larger than these
    tol = 16 * EPS * (call + put + fwd + strike)
    assert np.all(np.abs((call - put) - (fwd - strike)) <= tol)
    gc = optaro.bs_greeks(**g, is_call=True)
    gp = optaro.bs_greeks(**g, is_call=False)
    np.testing.assert_allclose(gc["delta"] - gp["delta"], np.exp(-g["q"] * g["T"]), rtol=0, atol=1e-14)
    for name in ("gamma", "vega", "vanna", "volga", "speed", "zomma", "color", "veta"):
        scale = np.abs(gc[name]) + np.abs(gp[name])
        assert np.all(np.abs(gc[name] - gp[name]) <= 1e-12 * scale + 1e-300), name


def test_trader_units_are_the_documented_scaling(grid):
    raw = optaro.bs_greeks(**grid)
    trader = optaro.bs_greeks(**grid, trader_units=True)
    scale = {
        "delta": 1.0, "gamma": 1.0, "speed": 1.0,
        "vega": 1 / 100, "rho": 1 / 100, "vanna": 1 / 100, "zomma": 1 / 100,
        "volga": 1 / 100**2,
        "theta": 1 / 365, "charm": 1 / 365, "color": 1 / 365,
        "veta": 1 / (100 * 365),
    }
    assert set(scale) == set(optaro.GREEK_NAMES)
    for name, factor in scale.items():
        np.testing.assert_allclose(trader[name], raw[name] * factor, rtol=4 * EPS, atol=0, err_msg=name)
    b76_raw = optaro.black76_greeks(100.0, 90.0, 0.5, 0.03, 0.2, True)
    b76_trader = optaro.black76_greeks(100.0, 90.0, 0.5, 0.03, 0.2, True, trader_units=True)
    assert b76_trader["vega"] == pytest.approx(b76_raw["vega"] / 100, rel=4 * EPS)
    assert b76_trader["theta"] == pytest.approx(b76_raw["theta"] / 365, rel=4 * EPS)


def test_black76_is_bsm_on_the_forward_with_q_equal_r(grid):
    F, K, T, r, sigma, c = grid["S"], grid["K"], grid["T"], grid["r"], grid["sigma"], grid["is_call"]
    np.testing.assert_allclose(optaro.black76_price(F, K, T, r, sigma, c),
                               optaro.bs_price(F, K, T, r, r, sigma, c), rtol=4 * EPS, atol=1e-300)
    b76 = optaro.black76_greeks(F, K, T, r, sigma, c)
    bsm = optaro.bs_greeks(F, K, T, r, r, sigma, c)
    for name in optaro.GREEK_NAMES:
        if name == "rho":
            continue  # Black-76 holds F fixed: only the discount factor moves with r
        np.testing.assert_allclose(b76[name], bsm[name], rtol=1e-14, atol=1e-300, err_msg=name)
    np.testing.assert_allclose(b76["rho"], -T * optaro.black76_price(F, K, T, r, sigma, c), rtol=1e-14, atol=1e-300)


def test_greeks_agree_with_finite_differences():
    S, K, T, r, q, sigma = 100.0, 95.0, 0.75, 0.03, 0.01, 0.25
    for is_call in (True, False):
        g = optaro.bs_greeks(S, K, T, r, q, sigma, is_call)
        p = lambda **kw: optaro.bs_price(**{**dict(S=S, K=K, T=T, r=r, q=q, sigma=sigma), **kw}, is_call=is_call)
        h = 1e-4
        assert g["delta"] == pytest.approx((p(S=S + h) - p(S=S - h)) / (2 * h), rel=1e-7)
        assert g["vega"] == pytest.approx((p(sigma=sigma + h) - p(sigma=sigma - h)) / (2 * h), rel=1e-7)
        assert g["rho"] == pytest.approx((p(r=r + h) - p(r=r - h)) / (2 * h), rel=1e-7)
        # theta is calendar time forward: -dV/dT
        assert g["theta"] == pytest.approx(-(p(T=T + h) - p(T=T - h)) / (2 * h), rel=1e-6)


# ---- bad rows stay in their rows ---------------------------------------------------------------------

def test_a_zero_time_row_prices_at_intrinsic_and_leaves_the_others_alone():
    T = np.array([1.0, 0.0, 0.25])
    K = np.array([90.0, 90.0, 110.0])
    prices = optaro.bs_price(100.0, K, T, 0.05, 0.0, 0.2, True)
    assert prices[1] == pytest.approx(10.0, rel=4 * EPS)
    np.testing.assert_array_equal(prices[[0, 2]], optaro.bs_price(100.0, K[[0, 2]], T[[0, 2]], 0.05, 0.0, 0.2, True))
    greeks = optaro.bs_greeks(100.0, K, T, 0.05, 0.0, 0.2, True)
    assert greeks["delta"][1] == 1.0 and greeks["gamma"][1] == 0.0 and greeks["vega"][1] == 0.0
    assert all(np.isfinite(v).all() for v in greeks.values())


def test_invalid_rows_give_nan_in_their_rows_only():
    S = np.array([100.0, -1.0, 100.0, np.nan, 100.0, 100.0])
    T = np.array([1.0, 1.0, -0.5, 1.0, 1.0, 1.0])
    sigma = np.array([0.2, 0.2, 0.2, 0.2, -0.1, 0.2])
    prices = optaro.bs_price(S, 100.0, T, 0.01, 0.0, sigma, True)
    assert np.isnan(prices[1:5]).all()
    assert np.isfinite(prices[[0, 5]]).all()
    greeks = optaro.bs_greeks(S, 100.0, T, 0.01, 0.0, sigma, True)
    for name, values in greeks.items():
        assert np.isnan(values[1:5]).all() and np.isfinite(values[[0, 5]]).all(), name


def test_threads_share_the_functions_safely(grid):
    # The GIL is released inside the kernels: concurrent calls must not disturb one another.
    from concurrent.futures import ThreadPoolExecutor

    expected = optaro.bs_greeks(**grid)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: optaro.bs_greeks(**grid), range(8)))
    for got in results:
        for name in optaro.GREEK_NAMES:
            np.testing.assert_array_equal(got[name], expected[name])


def test_the_gil_is_released_while_a_kernel_runs():
    # While the worker thread is inside the C++ loop, the main thread must keep running Python. Were
    # the GIL held, the main thread could only run in the worker's brief Python prologue and epilogue,
    # never in the middle of the call.
    import threading
    import time

    K = np.linspace(50.0, 200.0, 4_000_000)
    window = {}

    def work():
        window["start"] = time.perf_counter()
        optaro.bs_price(100.0, K, 1.0, 0.01, 0.0, 0.2, True)
        window["end"] = time.perf_counter()

    worker = threading.Thread(target=work)
    stamps = []
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    start, end = window["start"], window["end"]
    if end - start < 0.02:
        pytest.skip(f"the call took {1e3 * (end - start):.1f} ms, too short to observe")
    middle = [t for t in stamps if start + 0.25 * (end - start) < t < end - 0.25 * (end - start)]
    assert middle, f"the main thread did not run during the {1e3 * (end - start):.0f} ms kernel call"
