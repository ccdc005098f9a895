"""Black-Scholes-Merton and Black-76 prices and Greeks over numpy arrays.

Units (the project's conventions): ``T`` in years, ``r`` and ``q`` continuously compounded rates per
year, ``sigma`` per square root of a year. Every function broadcasts its arguments against each other
like a numpy ufunc and returns arrays of the broadcast shape, or Python floats when every argument is
a scalar (or 0-d array). ``is_call`` takes bools, 0/1, or the strings 'c'/'p', 'call'/'put', 'ce'/'pe'
in any case, as scalars or arrays.

Greeks come in one of two unit systems, never mixed:

raw (``trader_units=False``, the default)
    derivatives as they are: delta = dV/dS, gamma = d2V/dS2, vega = dV/dsigma (per 1.00 of vol),
    theta = dV/dt (per year of calendar time, i.e. -dV/dT), rho = dV/dr (per 1.00 of rate),
    vanna = d2V/dS dsigma, volga = d2V/dsigma2, charm = d(delta)/dt, speed = d(gamma)/dS,
    zomma = d(gamma)/dsigma, color = d(gamma)/dt, veta = d(vega)/dt.
trader units (``trader_units=True``)
    the same with a vol or rate point (0.01) and a calendar day (1/365 year) as units: vega, rho,
    vanna, zomma divided by 100; volga by 100**2; theta, charm, color by 365; veta by 100*365.
    delta, gamma and speed are unchanged.

Invalid inputs (non-finite, S, F or K <= 0, sigma < 0, T < 0) give NaN in their own rows only.
T = 0 or sigma = 0 give the discounted intrinsic value and the Greeks of that limit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._inputs import Batch, FloatOrArray

__all__ = ["GREEK_NAMES", "black76_greeks", "black76_price", "bs_greeks", "bs_price"]

#: The keys of the mappings :func:`bs_greeks` and :func:`black76_greeks` return, in order.
GREEK_NAMES: tuple[str, ...] = tuple(_core.greek_names())


def _prices(batch: Batch, kernel: Callable[..., None]) -> FloatOrArray:
    out = np.empty(batch.n)
    if batch.n:
        kernel(*batch.columns, batch.flag, out)
    return batch.result(out)


def _greeks_out(out: np.ndarray | None, n: int) -> np.ndarray:
    """The caller's output array, checked, or a new one: all Greeks in one block, one row each."""
    shape = (len(GREEK_NAMES), n)
    if out is None:
        return np.empty(shape)
    if not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != shape:
        got = f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out: expected a float64 array of shape {shape}, got {got}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out: must be C-contiguous and writeable")
    return out


def _greeks(
    batch: Batch, kernel: Callable[..., None], trader_units: bool, out: np.ndarray | None
) -> dict[str, FloatOrArray]:
    out = _greeks_out(out, batch.n)
    if batch.n:
        kernel(*batch.columns, batch.flag, out, bool(trader_units))
    return {name: batch.result(out[k]) for k, name in enumerate(GREEK_NAMES)}


def bs_price(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> FloatOrArray:
    """Black-Scholes-Merton price of European options.

    Args:
        S: spot price of the underlying.
        K: strike.
        T: time to expiry in years.
        r: continuously compounded interest rate per year.
        q: continuous dividend yield (or carry) per year.
        sigma: volatility per square root of a year (0.2 for 20%).
        is_call: True/1/'c'/'call'/'ce' for a call, False/0/'p'/'put'/'pe' for a put.

    Returns:
        The price, in the currency of S and K: a float for scalar inputs, else an array of the
        broadcast shape.

    Raises:
        ValueError: the arguments do not broadcast together, or one of them cannot be read (the
            message names it).
    """
    batch = Batch({"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma}, is_call)
    return _prices(batch, _core.bs_price_batch)


def bs_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    trader_units: bool = False,
    out: np.ndarray | None = None,
) -> dict[str, FloatOrArray]:
    """Black-Scholes-Merton Greeks of European options.

    Arguments as for :func:`bs_price`: T in years, r and q continuously compounded per year, sigma
    per square root of a year.

    Args:
        trader_units: the unit system of the result; the two are never mixed.

            False (default), raw derivatives: delta = dV/dS, gamma = d2V/dS2, vega = dV/dsigma (per
            1.00 of vol), theta = dV/dt (per year of calendar time, i.e. -dV/dT), rho = dV/dr (per
            1.00 of rate), vanna = d2V/dS dsigma, volga = d2V/dsigma2, charm = d(delta)/dt,
            speed = d(gamma)/dS, zomma = d(gamma)/dsigma, color = d(gamma)/dt, veta = d(vega)/dt.

            True, trader units: a vol or rate point (0.01) and a calendar day (1/365 year) as units.
            vega, rho, vanna, zomma are the raw values / 100; volga / 100**2; theta, charm,
            color / 365; veta / (100 * 365); delta, gamma, speed unchanged.
        out: where to write, for callers that value the same shape again and again: a C-contiguous
            float64 array of shape ``(len(GREEK_NAMES), n)``, n the number of elements of the
            broadcast shape. The returned arrays are then views of its rows (overwritten by the next
            call with the same ``out``), and no memory is allocated or first touched per call, which
            on a million options is most of the time of a call.

    Returns:
        A dict from each name in :data:`GREEK_NAMES` (delta, gamma, vega, theta, rho, vanna, volga,
        charm, speed, zomma, color, veta) to a float for scalar inputs, else an array of the
        broadcast shape. Invalid rows are NaN; T = 0 or sigma = 0 rows hold the Greeks of the
        deterministic limit (delta a step, higher orders 0).

    Raises:
        ValueError: as :func:`bs_price`; ``out`` of another shape, dtype or layout.
    """
    batch = Batch({"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma}, is_call)
    return _greeks(batch, _core.bs_greeks_batch, trader_units, out)


def black76_price(
    F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> FloatOrArray:
    """Black-76 price of European options on a forward or future.

    The Black-Scholes-Merton model with S = F and q = r: the forward F is discounted with r.

    Args:
        F: forward (or futures) price for the option's expiry.
        K: strike.
        T: time to expiry in years.
        r: continuously compounded discount rate per year.
        sigma: volatility per square root of a year.
        is_call: True/1/'c'/'call'/'ce' for a call, False/0/'p'/'put'/'pe' for a put.

    Returns:
        The price: a float for scalar inputs, else an array of the broadcast shape.

    Raises:
        ValueError: as :func:`bs_price`.
    """
    batch = Batch({"F": F, "K": K, "T": T, "r": r, "sigma": sigma}, is_call)
    return _prices(batch, _core.black76_price_batch)


def black76_greeks(
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    trader_units: bool = False,
    out: np.ndarray | None = None,
) -> dict[str, FloatOrArray]:
    """Black-76 Greeks of European options on a forward or future.

    Arguments as for :func:`black76_price`: T in years, r continuously compounded per year, sigma
    per square root of a year. ``trader_units``, ``out`` and the result as for :func:`bs_greeks` (raw
    derivatives by default; vol/rate points and calendar days with ``trader_units=True``). delta,
    gamma and speed are derivatives with respect to F; rho and theta hold F fixed (rho is then -T
    times the price).
    """
    batch = Batch({"F": F, "K": K, "T": T, "r": r, "sigma": sigma}, is_call)
    return _greeks(batch, _core.black76_greeks_batch, trader_units, out)
