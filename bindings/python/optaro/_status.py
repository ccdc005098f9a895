"""The outcome of an implied-volatility inversion, one per option (``optaro::status`` in C++)."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Per-option outcome of :func:`optaro.implied_vol` and :func:`optaro.black76_implied_vol`.

    With ``return_status=True`` those functions return, next to the volatilities, the status codes as
    a ``uint8`` array of the broadcast shape (a single ``Status`` for scalar input). The codes are the
    values below, so ``status == Status.OK`` works element-wise and ``Status(code)`` names one.
    ``str(Status.OK)`` is ``"ok"``, the name C++ messages use (``optaro::to_string``).
    """

    #: a volatility in (0, inf) reproduces the price
    OK = 0
    #: the price equals the intrinsic value: sigma is 0.0
    ZERO_TIME_VALUE = 1
    #: the price is below the intrinsic value: no volatility attains it (sigma NaN)
    BELOW_INTRINSIC = 2
    #: the price is at or above its upper bound, the discounted forward (call) or strike (put) (sigma NaN)
    ABOVE_MAXIMUM = 3
    #: a non-finite input, a negative price, T <= 0, or S, F or K <= 0 (sigma NaN)
    INVALID_INPUT = 4
    #: the iteration missed its tolerance; reported, never hidden (sigma NaN)
    NOT_CONVERGED = 5

    def __str__(self) -> str:
        return self.name.lower()
