"""Implied volatility: statuses as CONVENTIONS.md defines them, NaN for unattainable prices and 0.0 at
intrinsic, round trips, batch == C++ scalar, and bad rows that never spoil a batch."""

from __future__ import annotations

import numpy as np
import pytest

import optaro
from optaro import Status, _core
from scalar_agreement import attainable, iv_agrees

EPS = np.finfo(float).eps
NAN = float("nan")


# ---- the status enum ---------------------------------------------------------------------------------

def test_status_mirrors_the_cpp_enum():
    cpp = {name: int(value) for name, value in _core.status.__members__.items()}
    assert cpp == {str(s): int(s) for s in Status}
    assert [int(s) for s in Status] == list(range(len(Status)))
    assert str(Status.ZERO_TIME_VALUE) == "zero_time_value"
    assert Status(3) is Status.ABOVE_MAXIMUM


def test_scalar_return_status_gives_a_status_member():
    price = optaro.bs_price(100.0, 100.0, 1.0, 0.02, 0.0, 0.3, True)
    sigma, status = optaro.implied_vol(price, 100.0, 100.0, 1.0, 0.02, 0.0, True, return_status=True)
    assert type(sigma) is float and sigma == pytest.approx(0.3, rel=1e-13)
    assert isinstance(status, Status) and status is Status.OK
    sigma, status = optaro.black76_implied_vol(-1.0, 100.0, 100.0, 1.0, 0.02, True, return_status=True)
    assert np.isnan(sigma) and status is Status.INVALID_INPUT


# ---- what every kind of price gives ------------------------------------------------------------------
# r = q = 0 keeps the bounds exact in double: intrinsic max(S - K, 0) for a call, max(K - S, 0) for a
# put; the upper bound S for a call, K for a put.

CASES = [
    # price, S, K, T, is_call, status, sigma
    (10.0, 100.0, 90.0, 1.0, True, Status.ZERO_TIME_VALUE, 0.0),   # ITM call exactly at intrinsic
    (0.0, 100.0, 110.0, 1.0, True, Status.ZERO_TIME_VALUE, 0.0),   # OTM call worth nothing
    (10.0, 90.0, 100.0, 1.0, False, Status.ZERO_TIME_VALUE, 0.0),  # ITM put at intrinsic
    (9.5, 100.0, 90.0, 1.0, True, Status.BELOW_INTRINSIC, NAN),
    (9.0, 90.0, 100.0, 2.0, False, Status.BELOW_INTRINSIC, NAN),
    (100.0, 100.0, 90.0, 1.0, True, Status.ABOVE_MAXIMUM, NAN),    # a call is worth less than S
    (150.0, 100.0, 90.0, 1.0, True, Status.ABOVE_MAXIMUM, NAN),
    (90.0, 100.0, 90.0, 1.0, False, Status.ABOVE_MAXIMUM, NAN),    # a put is worth less than K
    (-1.0, 100.0, 100.0, 1.0, True, Status.INVALID_INPUT, NAN),    # negative price
    (5.0, 100.0, 100.0, 0.0, True, Status.INVALID_INPUT, NAN),     # T = 0
    (5.0, 100.0, 100.0, -1.0, True, Status.INVALID_INPUT, NAN),
    (5.0, 0.0, 100.0, 1.0, True, Status.INVALID_INPUT, NAN),
    (5.0, 100.0, -100.0, 1.0, True, Status.INVALID_INPUT, NAN),
    (NAN, 100.0, 100.0, 1.0, True, Status.INVALID_INPUT, NAN),
    (5.0, np.inf, 100.0, 1.0, True, Status.INVALID_INPUT, NAN),
]


@pytest.mark.parametrize("price, S, K, T, is_call, status, sigma", CASES)
def test_status_and_sigma_per_case(price, S, K, T, is_call, status, sigma):
    got, st = optaro.implied_vol(price, S, K, T, 0.0, 0.0, is_call, return_status=True)
    assert st is status
    if np.isnan(sigma):
        assert np.isnan(got)
    else:
        assert got == sigma
    assert optaro.implied_vol(price, S, K, T, 0.0, 0.0, is_call) == got or np.isnan(got)
    # Black-76 with r = 0 has the same bounds
    b76, st76 = optaro.black76_implied_vol(price, S, K, T, 0.0, is_call, return_status=True)
    assert st76 is status


def test_all_cases_in_one_batch_match_the_single_calls():
    cols = list(zip(*CASES))
    price, S, K, T, is_call = (np.array(c) for c in cols[:5])
    sigma, status = optaro.implied_vol(price, S, K, T, 0.0, 0.0, is_call, return_status=True)
    np.testing.assert_array_equal(status, [int(c[5]) for c in CASES])
    np.testing.assert_array_equal(sigma, [c[6] for c in CASES])  # NaN == NaN for assert_array_equal


def test_unattainable_prices_are_nan_without_return_status():
    price = np.array([9.5, 150.0, -1.0, 5.0])
    T = np.array([1.0, 1.0, 1.0, 0.0])
    sigma = optaro.implied_vol(price, 100.0, 90.0, T, 0.0, 0.0, True)
    assert np.isnan(sigma).all()


def test_a_zero_time_row_never_spoils_the_batch():
    sigma_true = np.array([0.2, 0.3, 0.4, 0.5])
    T = np.array([0.5, 0.0, 1.0, 2.0])
    K = np.array([95.0, 100.0, 105.0, 120.0])
    price = optaro.bs_price(100.0, K, np.where(T > 0, T, 1.0), 0.03, 0.01, sigma_true, True)
    sigma, status = optaro.implied_vol(price, 100.0, K, T, 0.03, 0.01, True, return_status=True)
    assert status[1] == Status.INVALID_INPUT and np.isnan(sigma[1])
    assert (status[[0, 2, 3]] == Status.OK).all()
    np.testing.assert_allclose(sigma[[0, 2, 3]], sigma_true[[0, 2, 3]], rtol=1e-12)


# ---- round trips and Python == C++ -------------------------------------------------------------------

@pytest.fixture(scope="module")
def grid():
    """A seeded grid of options whose volatility the price determines well (see `well_posed`)."""
    rng = np.random.default_rng(7)
    n = 2000
    g = dict(
        S=np.full(n, 100.0),
        K=100.0 * np.exp(rng.uniform(-1.0, 1.0, n)),
        T=np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(10.0), n)),
        r=rng.uniform(-0.01, 0.08, n),
        q=rng.uniform(0.0, 0.05, n),
        sigma=np.exp(rng.uniform(np.log(0.01), np.log(3.0), n)),
        is_call=rng.integers(0, 2, n).astype(bool),
    )
    g["price"] = optaro.bs_price(**g)
    return g


def bounds(g):
    """Discounted forward and strike, and the intrinsic value, as computed in double."""
    fwd = g["S"] * np.exp(-g["q"] * g["T"])
    strike = g["K"] * np.exp(-g["r"] * g["T"])
    intrinsic = np.maximum(np.where(g["is_call"], fwd - strike, strike - fwd), 0.0)
    return fwd, strike, intrinsic


def well_posed(g):
    """Rows where the rounded price pins sigma to about 1e-12: vega * sigma dominates the price and
    the time value is not lost next to the intrinsic value (CONVENTIONS.md, attainable accuracy)."""
    greeks = optaro.bs_greeks(g["S"], g["K"], g["T"], g["r"], g["q"], g["sigma"], g["is_call"])
    _, _, intrinsic = bounds(g)
    time_value = g["price"] - intrinsic
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cond = g["price"] / (greeks["vega"] * g["sigma"]) * g["price"] / np.maximum(time_value, 1e-300)
    return (cond < 1e3) & (g["price"] > 1e-10 * g["S"])


def test_price_to_vol_to_price_round_trip(grid):
    g = grid
    sigma, status = optaro.implied_vol(g["price"], g["S"], g["K"], g["T"], g["r"], g["q"], g["is_call"],
                                       return_status=True)
    # Where the price pins sigma down, sigma comes back to about 1e-12 (a thousand times epsilon).
    ok = well_posed(g)
    assert ok.sum() > 500, "the seeded grid should hold many well-posed options"
    assert (status[ok] == Status.OK).all()
    np.testing.assert_allclose(sigma[ok], g["sigma"][ok], rtol=1e-11)
    # Everywhere the inversion succeeds, the volatility found reprices the option.
    solved = status == Status.OK
    again = optaro.bs_price(g["S"], g["K"], g["T"], g["r"], g["q"], sigma, g["is_call"])
    np.testing.assert_allclose(again[solved], g["price"][solved], rtol=1e-12, atol=1e-300)


def test_prices_of_the_model_are_unattainable_only_within_rounding_of_intrinsic(grid):
    # A price bs_price made is attained by its sigma. Only where its time value is lost to rounding
    # (deep in the money or far out, short-dated, low vol) may the inversion call it intrinsic or,
    # an ulp or so under the rounded intrinsic, below it.
    g = grid
    sigma, status = optaro.implied_vol(g["price"], g["S"], g["K"], g["T"], g["r"], g["q"], g["is_call"],
                                       return_status=True)
    fwd, strike, intrinsic = bounds(g)
    at_intrinsic = np.abs(g["price"] - intrinsic) <= 8 * EPS * np.maximum(fwd, strike)
    assert set(np.unique(status)) <= {Status.OK, Status.ZERO_TIME_VALUE, Status.BELOW_INTRINSIC}
    assert at_intrinsic[status != Status.OK].all()
    assert (sigma[status == Status.ZERO_TIME_VALUE] == 0.0).all()
    assert np.isnan(sigma[status == Status.BELOW_INTRINSIC]).all()
    assert (status == Status.OK).sum() > 0.6 * len(status)


def test_implied_vol_batch_equals_the_cpp_scalar(grid):
    g = grid
    args = (g["price"], g["S"], g["K"], g["T"], g["r"], g["q"], g["is_call"])
    sigma, status = optaro.implied_vol(*args, return_status=True)
    for i in range(0, len(g["S"]), 7):
        s, st = _core.bs_implied_vol(*(float(a[i]) for a in args[:6]), bool(args[6][i]))
        att = attainable(*(float(g[k][i]) for k in ("S", "K", "T", "r", "q", "sigma")), bool(g["is_call"][i]),
                         float(g["price"][i]))
        assert iv_agrees(sigma[i], s, att) and status[i] == int(st), i
        assert _core.implied_vol(*(float(a[i]) for a in args[:6]), bool(args[6][i])) == s or np.isnan(s)


def test_black76_implied_vol_batch_equals_the_cpp_scalar(grid):
    g = grid
    price = optaro.black76_price(g["S"], g["K"], g["T"], g["r"], g["sigma"], g["is_call"])
    sigma, status = optaro.black76_implied_vol(price, g["S"], g["K"], g["T"], g["r"], g["is_call"],
                                               return_status=True)
    for i in range(0, len(price), 7):
        s, st = _core.black76_implied_vol(float(price[i]), float(g["S"][i]), float(g["K"][i]), float(g["T"][i]),
                                          float(g["r"][i]), bool(g["is_call"][i]))
        att = attainable(float(g["S"][i]), float(g["K"][i]), float(g["T"][i]), float(g["r"][i]), float(g["r"][i]),
                         float(g["sigma"][i]), bool(g["is_call"][i]), float(price[i]))
        assert iv_agrees(sigma[i], s, att) and status[i] == int(st), i


def test_black76_implied_vol_is_bsm_with_q_equal_r(grid):
    g = grid
    price = optaro.black76_price(g["S"], g["K"], g["T"], g["r"], g["sigma"], g["is_call"])
    b76 = optaro.black76_implied_vol(price, g["S"], g["K"], g["T"], g["r"], g["is_call"])
    bsm = optaro.implied_vol(price, g["S"], g["K"], g["T"], g["r"], g["r"], g["is_call"])
    np.testing.assert_allclose(b76, bsm, rtol=1e-14, equal_nan=True)
