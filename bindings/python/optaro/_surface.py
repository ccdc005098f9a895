"""SVI smiles and implied-volatility surfaces.

A smile is Gatheral's raw SVI curve of total implied variance ``w(k) = a + b (rho (k - m) +
sqrt((k - m)^2 + sigma^2))`` on forward log-moneyness ``k = ln(K / F)``, with ``w = iv^2 T``.
:func:`fit_svi` fits one robustly (an outer search over (m, sigma) with the linear inner problem
solved exactly, polished by Levenberg-Marquardt, inside the no-arbitrage-friendly domain b >= 0,
|rho| < 1, sigma > 0, a + b sigma sqrt(1 - rho^2) >= 0, b (1 + |rho|) <= 2).

A :class:`VolSurface` joins smiles across expiries linearly in total variance at fixed k, is flat in
implied volatility beyond each smile's fitted range and outside the expiries, and reports where it
admits arbitrage: :func:`svi_butterfly_violations` per smile (Durrleman's g(k) < 0) and
:meth:`VolSurface.calendar_violations` across expiries (total variance falling with T at fixed k).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._chain import enrich_chain
from ._inputs import FloatOrArray, as_float, broadcast_shape, flat

__all__ = ["VolSurface", "fit_svi", "svi_butterfly_violations", "svi_durrleman_g", "svi_total_variance"]

#: The keys of an SVI parameter mapping, in the order of the C++ struct.
SVI_KEYS: tuple[str, ...] = ("a", "b", "rho", "m", "sigma")

Params = Mapping[str, float]


def _params(params: Params, name: str = "params") -> tuple[float, float, float, float, float]:
    try:
        values = tuple(float(params[key]) for key in SVI_KEYS)
    except KeyError as missing:
        raise ValueError(f"{name}: missing {missing.args[0]!r} (expected the keys {', '.join(SVI_KEYS)})") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a mapping of numbers with keys {', '.join(SVI_KEYS)} ({error})") from None
    return values  # type: ignore[return-value]


def _column(name: str, values: ArrayLike) -> np.ndarray:
    return np.ascontiguousarray(as_float(name, values)).reshape(-1)


def _elementwise(params: Params, k: ArrayLike, kernel: Any) -> FloatOrArray:
    p = _params(params)
    array = as_float("k", k)
    out = np.empty(array.size)
    kernel(p, np.ascontiguousarray(array).reshape(-1), out)
    return float(out[0]) if array.ndim == 0 else out.reshape(array.shape)


def fit_svi(
    k: ArrayLike, w: ArrayLike, weights: Optional[ArrayLike] = None, previous: Optional[Params] = None
) -> dict[str, Any]:
    """Fits raw SVI to total variances ``w`` at log-moneyness ``k`` (weighted least squares).

    ``weights`` (default all 1) weigh the squared residuals; ``previous``, the fit of the same expiry a
    moment ago (a mapping with keys a, b, rho, m, sigma, such as this function returns), warm-starts
    the fit. Needs at least 5 points. Returns a dict with ``a, b, rho, m, sigma``, ``rmse`` (weighted,
    in total variance), ``iterations`` and ``converged``. ValueError naming the argument on bad input.
    """
    kk, ww = _column("k", k), _column("w", w)
    wt = np.empty(0) if weights is None else _column("weights", weights)
    start = None if previous is None else _params(previous, "previous")
    params, rmse, iterations, converged = _core.fit_svi(kk, ww, wt, start)
    result: dict[str, Any] = dict(zip(SVI_KEYS, params))
    result.update(rmse=rmse, iterations=iterations, converged=converged)
    return result


def svi_total_variance(params: Params, k: ArrayLike) -> FloatOrArray:
    """SVI total variance ``w(k)`` for the parameters (a mapping with keys a, b, rho, m, sigma)."""
    return _elementwise(params, k, _core.svi_total_variance)


def svi_durrleman_g(params: Params, k: ArrayLike) -> FloatOrArray:
    """Durrleman's ``g(k)``: the smile's risk-neutral density is non-negative where ``g(k) >= 0``."""
    return _elementwise(params, k, _core.svi_durrleman_g)


def svi_butterfly_violations(params: Params, k: ArrayLike) -> np.ndarray:
    """The values of the grid ``k`` (in its order) where ``g(k) < 0``: butterfly arbitrage."""
    return np.asarray(_core.svi_butterfly_violations(_params(params), _column("k", k)), dtype=np.float64)


_SLICE_FIELDS = ("expiry", "time_to_expiry", "forward", "svi", "k_min", "k_max", "rmse", "points")


def _slice_tuple(s: Mapping[str, Any], index: int) -> tuple[Any, ...]:
    name = f"slices[{index}]"
    try:
        svi = s["svi"] if "svi" in s else s
        return (
            s.get("expiry"),
            float(s["time_to_expiry"]),
            float(s["forward"]),
            _params(svi, f"{name}.svi"),
            float(s["k_min"]),
            float(s["k_max"]),
            float(s.get("rmse", math.nan)),
            int(s.get("points", 0)),
        )
    except KeyError as missing:
        raise ValueError(f"{name}.{missing.args[0]}: missing") from None


def _slice_dict(t: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(_SLICE_FIELDS, t))
    d["svi"] = dict(zip(SVI_KEYS, d["svi"]))
    return d


def _otm_columns(chain: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    # The rule of optaro::fit_smile(chain, analytics): at each strike the out-of-the-money quote (calls
    # at K >= F, puts below) whose IV converged, weighted by vega.
    forward = float(chain["forward"])
    strikes: list[float] = []
    ivs: list[float] = []
    vegas: list[float] = []
    for side, otm in (("calls", lambda k: k >= forward), ("puts", lambda k: k < forward)):
        for quote in chain.get(side) or []:
            if quote.get("iv_status") == "ok" and otm(float(quote["strike"])):
                strikes.append(float(quote["strike"]))
                ivs.append(float(quote["iv"]))
                vegas.append(float(quote["vega"]))
    return strikes, ivs, vegas


class VolSurface:
    """Smiles across expiries (see the module documentation for the interpolation rules).

    Build one from slices (mappings with ``time_to_expiry``, ``forward``, ``svi`` (a mapping a, b, rho,
    m, sigma), ``k_min``, ``k_max`` and optionally ``expiry``, ``rmse``, ``points``), from enriched
    chains (:meth:`from_chains`), or from a ``volatility_surface`` document (:meth:`from_json`).
    ``spot`` anchors the forward before the first expiry.
    """

    __slots__ = ("_surface",)

    def __init__(self, slices: Sequence[Mapping[str, Any]], spot: Optional[float] = None) -> None:
        tuples = [_slice_tuple(s, i) for i, s in enumerate(slices)]
        self._surface = _core.Surface(tuples, None if spot is None else float(spot))

    @classmethod
    def _wrap(cls, surface: Any) -> VolSurface:
        obj = cls.__new__(cls)
        obj._surface = surface
        return obj

    @classmethod
    def from_chains(
        cls,
        chains: Iterable[Union[Mapping[str, Any], str, bytes]],
        previous: Optional[VolSurface] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> VolSurface:
        """A smile per chain, fitted to the chain's out-of-the-money quotes with an IV, weighted by vega.

        Each chain is an enriched chain (a mapping as :func:`optaro.enrich_chain` returns) or a raw
        ``market:option_chain`` message (mapping, str or bytes), enriched here with ``config``. Chains
        with fewer than 5 usable quotes give no smile. ``previous``: the last surface of the product,
        whose smile of the same expiry warm-starts each fit. The spot is the last chain's
        ``underlying_price``.
        """
        warm = {s["expiry"]: s["svi"] for s in previous.slices} if previous is not None else {}
        slices: list[dict[str, Any]] = []
        spot = None
        for chain in chains:
            if isinstance(chain, (str, bytes)) or "forward" not in chain:
                chain = enrich_chain(chain, config)
            strikes, ivs, vegas = _otm_columns(chain)
            start = warm.get(chain.get("expiry"))
            fitted = _core.fit_smile(
                np.asarray(strikes, dtype=np.float64),
                np.asarray(ivs, dtype=np.float64),
                np.asarray(vegas, dtype=np.float64),
                float(chain["forward"]),
                float(chain["time_to_expiry"]),
                None if start is None else _params(start, "previous"),
            )
            spot = float(chain["underlying_price"])
            if fitted is not None:
                d = _slice_dict(fitted)
                d["expiry"] = chain.get("expiry")
                slices.append(d)
        return cls(slices, spot)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> VolSurface:
        """The surface of a ``volatility_surface`` document; ValueError naming the field otherwise."""
        return cls._wrap(_core.Surface.from_json(text.decode() if isinstance(text, bytes) else text))

    def to_json(self, product: str, timestamp_ns: Optional[int] = None) -> str:
        """The ``volatility_surface:{product}`` document (now, unless ``timestamp_ns`` is given)."""
        return self._surface.to_json(product, time.time_ns() if timestamp_ns is None else int(timestamp_ns))

    @property
    def slices(self) -> list[dict[str, Any]]:
        """The smiles, by ascending time to expiry, as mappings (the constructor's format)."""
        return [_slice_dict(t) for t in self._surface.slices()]

    @property
    def spot(self) -> Optional[float]:
        return self._surface.spot()

    def _query(self, kernel: Any, x_name: str, x: ArrayLike, t: ArrayLike) -> FloatOrArray:
        arrays = [(x_name, as_float(x_name, x)), ("t", as_float("t", t))]
        shape = broadcast_shape(arrays)
        n = math.prod(shape)
        out = np.empty(n)
        if n:
            kernel(*(flat(a, shape, n) for _, a in arrays), out)
        return float(out[0]) if shape == () else out.reshape(shape)

    def total_variance(self, k: ArrayLike, t: ArrayLike) -> FloatOrArray:
        """``w(k, T)`` at forward log-moneyness ``k`` and time ``t`` (years); broadcasts like numpy."""
        return self._query(self._surface.total_variance, "k", k, t)

    def iv(self, strike: ArrayLike, t: ArrayLike) -> FloatOrArray:
        """Implied volatility at ``strike`` and time ``t``: ``sqrt(w(ln(K / F(t)), t) / t)``."""
        return self._query(self._surface.iv, "strike", strike, t)

    def forward(self, t: ArrayLike) -> FloatOrArray:
        """``F(t)``: log-linear between the slices' forwards (and the spot at 0, when known)."""
        array = as_float("t", t)
        out = np.empty(array.size)
        if array.size:
            self._surface.forward(np.ascontiguousarray(array).reshape(-1), out)
        return float(out[0]) if array.ndim == 0 else out.reshape(array.shape)

    def calendar_violations(self, grid_points: int = 201) -> list[dict[str, float]]:
        """Points ``(k, t1, t2)`` on a k grid over the fitted ranges where ``w(k, t2) < w(k, t1)``."""
        return [
            dict(zip(("k", "t1", "t2", "w1", "w2"), v)) for v in self._surface.calendar_violations(int(grid_points))
        ]

    def __repr__(self) -> str:
        expiries = ", ".join(f"{s['time_to_expiry']:.4g}y" for s in self.slices)
        return f"VolSurface([{expiries}], spot={self.spot})"
