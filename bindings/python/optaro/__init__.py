"""optaro: options analytics over numpy arrays, on a C++20 core.

Black-Scholes-Merton (spot S, rate r, dividend yield q) and Black-76 (forward F, discount rate r)
prices, Greeks and implied volatilities; option-chain analytics (:func:`enrich_chain`,
:func:`max_pain`, :func:`pcr`); OHLC candles (:func:`ohlc`); SVI smiles and volatility surfaces
(:func:`fit_svi`, :class:`VolSurface`); the enrichment engine, embedded, calling back with each
enriched message (:class:`Enricher`, :class:`RetryPolicy`). The pricing and implied-volatility
functions broadcast their arguments like a numpy ufunc, release the GIL while the C++ kernel runs, and
return a float for scalar arguments.

Units: T in years, r and q continuously compounded per year, sigma per square root of a year.
Greeks are raw derivatives (vega per 1.00 of vol, theta per year, rho per 1.00 of rate) unless
``trader_units=True`` asks for vol/rate points and calendar days; see :func:`bs_greeks`. Implied
volatilities are NaN where no volatility attains the price (0.0 at the intrinsic value), with the
reason available as a :class:`Status`; see :func:`implied_vol`.

>>> import optaro
>>> round(optaro.bs_price(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, "c"), 6)
10.450584
"""

from __future__ import annotations

from ._chain import enrich_chain, max_pain, pcr
from ._core import version as _core_version
from ._engine import Enricher, RetryPolicy
from ._implied_vol import black76_implied_vol, implied_vol
from ._ohlc import ohlc
from ._pricing import GREEK_NAMES, black76_greeks, black76_price, bs_greeks, bs_price
from ._status import Status
from ._surface import VolSurface, fit_svi, svi_butterfly_violations, svi_durrleman_g, svi_total_variance

#: The version of optaro, the same as that of the C++ library inside (``optaro::version()``) and of the
#: wheel's metadata: all three come from CMake's ``project(optaro VERSION ...)``.
__version__: str = _core_version()

__all__ = [
    "GREEK_NAMES",
    "Enricher",
    "RetryPolicy",
    "Status",
    "VolSurface",
    "__version__",
    "black76_greeks",
    "black76_implied_vol",
    "black76_price",
    "bs_greeks",
    "enrich_chain",
    "fit_svi",
    "max_pain",
    "ohlc",
    "pcr",
    "bs_price",
    "implied_vol",
    "svi_butterfly_violations",
    "svi_durrleman_g",
    "svi_total_variance",
]
