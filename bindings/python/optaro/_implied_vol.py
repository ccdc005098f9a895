"""Implied volatility of European options over numpy arrays, with a status per option.

Units as for prices: T in years, rates continuously compounded per year, and the result a volatility
per square root of a year. Arguments broadcast like a numpy ufunc; scalar arguments give a float. An
option that no volatility prices never fails the others: it gets NaN, and the reason is in the status
array when ``return_status=True`` (see :class:`optaro.Status`).

=====================  ==================================================================
status                 sigma
=====================  ==================================================================
``OK``                 the implied volatility, > 0
``ZERO_TIME_VALUE``    0.0: the price equals the intrinsic value
``BELOW_INTRINSIC``    NaN: the price is below the intrinsic value
``ABOVE_MAXIMUM``      NaN: the price is at or above the discounted forward (call) or strike (put)
``INVALID_INPUT``      NaN: non-finite input, negative price, T <= 0, S, F or K <= 0
``NOT_CONVERGED``      NaN: the iteration missed its tolerance
=====================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._inputs import Batch, FloatOrArray
from ._status import Status

__all__ = ["black76_implied_vol", "implied_vol"]

#: Status codes for :func:`implied_vol` with ``return_status=True``: a Status for scalar input, else a
#: uint8 array of codes (the values of Status).
StatusOrArray = Union[Status, NDArray[np.uint8]]


def _solve(
    batch: Batch, kernel: Callable[..., None], return_status: bool
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]:
    sigma = np.empty(batch.n)
    status = np.empty(batch.n, dtype=np.uint8) if return_status else None
    if batch.n:
        kernel(*batch.columns, batch.flag, sigma, status)
    if status is None:
        return batch.result(sigma)
    codes = Status(int(status[0])) if batch.shape == () else status.reshape(batch.shape)
    return batch.result(sigma), codes


@overload
def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: Literal[False] = ...,
) -> FloatOrArray: ...
@overload
def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: Literal[True],
) -> tuple[FloatOrArray, StatusOrArray]: ...
def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: bool = False,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]:
    """Black-Scholes-Merton implied volatility of European option prices.

    Args:
        price: option price, in the currency of S and K.
        S: spot price of the underlying.
        K: strike.
        T: time to expiry in years.
        r: continuously compounded interest rate per year.
        q: continuous dividend yield (or carry) per year.
        is_call: True/1/'c'/'call'/'ce' for a call, False/0/'p'/'put'/'pe' for a put.
        return_status: also return the status of each option.

    Returns:
        sigma, the volatility per square root of a year (0.2 for 20%): NaN where no volatility attains
        the price, 0.0 where the price equals the intrinsic value. A float for scalar inputs, else an
        array of the broadcast shape. With ``return_status=True``, the pair (sigma, status) where
        status is a :class:`Status` for scalar inputs, else a uint8 array of Status codes of the
        same shape: OK (sigma > 0), ZERO_TIME_VALUE (sigma 0.0), BELOW_INTRINSIC, ABOVE_MAXIMUM,
        INVALID_INPUT (non-finite input, negative price, T <= 0, S or K <= 0), NOT_CONVERGED
        (sigma NaN for all of these).

    Raises:
        ValueError: the arguments do not broadcast together, or one of them cannot be read (the
            message names it). Unattainable prices never raise.
    """
    batch = Batch({"price": price, "S": S, "K": K, "T": T, "r": r, "q": q}, is_call)
    return _solve(batch, _core.implied_vol_batch, return_status)


@overload
def black76_implied_vol(
    price: ArrayLike,
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: Literal[False] = ...,
) -> FloatOrArray: ...
@overload
def black76_implied_vol(
    price: ArrayLike,
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: Literal[True],
) -> tuple[FloatOrArray, StatusOrArray]: ...
def black76_implied_vol(
    price: ArrayLike,
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: bool = False,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]:
    """Black-76 implied volatility of European options on a forward or future.

    Args:
        price: option price.
        F: forward (or futures) price for the option's expiry.
        K: strike.
        T: time to expiry in years.
        r: continuously compounded discount rate per year.
        is_call: True/1/'c'/'call'/'ce' for a call, False/0/'p'/'put'/'pe' for a put.
        return_status: also return the status of each option.

    Returns:
        As :func:`implied_vol`.

    Raises:
        ValueError: as :func:`implied_vol`.
    """
    batch = Batch({"price": price, "F": F, "K": K, "T": T, "r": r}, is_call)
    return _solve(batch, _core.black76_implied_vol_batch, return_status)
