"""A volatility surface from generated NIFTY-like option chains, drawn to a PNG.

Each expiry's chain is priced from an SVI smile (a skew that steepens as expiry nears), quoted as
NSE quotes are (prices on a 0.05 tick, a bid-ask spread widening away from the money, a little noise),
enriched by optaro (implied volatilities) and fitted by optaro.VolSurface.from_chains. The picture:
left, each expiry's market implied volatilities (out-of-the-money quotes) with its fitted smile;
right, the surface's implied volatility over strike and expiry.

    bash examples/plot_surface.sh [--out surface.png] [--seed 7]      # sets up a venv, then runs this
"""

from __future__ import annotations

import argparse
import math
from datetime import date, datetime, timedelta, timezone

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import optaro  # noqa: E402

SPOT, RATE, STEP = 21543.25, 0.065, 50.0
NOW = datetime(2025, 1, 15, 4, 0, tzinfo=timezone.utc)  # 09:30 IST
EXPIRIES = [date(2025, 1, 23), date(2025, 1, 30), date(2025, 2, 27), date(2025, 3, 27), date(2025, 6, 26)]


def true_smile(t: float) -> dict[str, float]:
    """The generator's SVI smile at expiry t (years): ~13% ATM vol, put skew that fades with t."""
    atm_var = 0.13**2 * t
    b = 0.045 * math.sqrt(t / 0.25) + 0.02
    rho = -0.55 + 0.15 * min(t, 1.0)
    sigma = 0.05 + 0.15 * math.sqrt(t)
    return {"a": atm_var - b * sigma * math.sqrt(1 - rho * rho), "b": b, "rho": rho, "m": 0.0, "sigma": sigma}


def generated_chain(expiry: date, rng: np.random.Generator) -> dict:
    t = (datetime.combine(expiry, datetime.min.time(), timezone.utc) + timedelta(hours=10) - NOW).total_seconds()
    t /= 365 * 86400
    forward = SPOT * math.exp(RATE * t)
    smile = true_smile(t)
    width = 4.0 * 0.13 * math.sqrt(t)  # strikes out to about four standard deviations
    strikes = np.arange(math.floor(SPOT * math.exp(-width) / STEP), math.ceil(SPOT * math.exp(width) / STEP)) * STEP
    calls, puts = [], []
    for strike in strikes:
        k = math.log(strike / forward)
        vol = math.sqrt(optaro.svi_total_variance(smile, k) / t) * (1 + rng.normal(0, 0.004))
        for side, kind in ((calls, "c"), (puts, "p")):
            price = optaro.bs_price(SPOT, strike, t, RATE, 0.0, vol, kind)
            half_spread = max(0.05, price * (0.002 + 0.02 * abs(k) / width))
            bid = max(0.0, round((price - half_spread) / 0.05) * 0.05)
            ask = round((price + half_spread) / 0.05) * 0.05
            oi = int(2e6 * math.exp(-((k / (0.4 * width)) ** 2)))
            side.append({"strike": float(strike), "bid": round(bid, 2), "ask": round(ask, 2),
                         "last": round(round(price / 0.05) * 0.05, 2), "volume": oi // 20, "open_interest": oi})
    return {"product": "NIFTY", "expiry": expiry.isoformat(), "chain_id": f"NIFTY-{expiry:%Y%m%d}-1",
            "timestamp": NOW.isoformat().replace("+00:00", "Z"), "underlying_price": SPOT,
            "calls": calls, "puts": puts}


def _rms_error(s: dict, k: np.ndarray, iv_percent: np.ndarray) -> float:
    fitted = 100 * np.sqrt(optaro.svi_total_variance(s["svi"], k) / s["time_to_expiry"])
    return float(np.sqrt(np.mean((fitted - iv_percent) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="surface.png", help="the PNG to write (default: surface.png)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    enriched = [optaro.enrich_chain(generated_chain(e, rng), {"rate": RATE}) for e in EXPIRIES]
    surface = optaro.VolSurface.from_chains(enriched)

    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6.2), gridspec_kw={"width_ratios": [1.1, 1]})
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(surface.slices)))
    for s, chain, colour in zip(surface.slices, enriched, colours):
        forward = chain["forward"]
        market = [(q["strike"], q["iv"]) for side, otm in (("calls", True), ("puts", False))
                  for q in chain[side] if q["iv_status"] == "ok" and (q["strike"] >= forward) == otm]
        k_market = np.log(np.array([m[0] for m in market]) / forward)
        iv_market = 100 * np.array([m[1] for m in market])
        left.scatter(k_market, iv_market, s=9, color=colour, alpha=0.6)
        t = s["time_to_expiry"]
        k = np.linspace(s["k_min"], s["k_max"], 300)
        left.plot(k, 100 * np.sqrt(optaro.svi_total_variance(s["svi"], k) / t), color=colour, lw=1.8,
                  label=f"{s['expiry']} ({t * 365:.0f} d): RMS {_rms_error(s, k_market, iv_market):.2f} vol pts")
    left.set_xlabel("forward log-moneyness  k = ln(K / F)")
    left.set_ylabel("implied volatility (%)")
    left.set_title("NIFTY smiles: market IVs (points) and SVI fits (lines)")
    left.legend(fontsize=8, title="expiry: RMS distance of the fit to the market IVs", title_fontsize=8)
    left.grid(alpha=0.3)

    t_grid = np.linspace(surface.slices[0]["time_to_expiry"], surface.slices[-1]["time_to_expiry"], 120)
    strike_grid = np.linspace(SPOT * 0.85, SPOT * 1.12, 160)
    vols = 100 * surface.iv(strike_grid[None, :], t_grid[:, None])
    mesh = right.pcolormesh(strike_grid, t_grid * 365, vols, shading="auto", cmap="magma")
    levels = right.contour(strike_grid, t_grid * 365, vols, levels=12, colors="white", linewidths=0.5, alpha=0.6)
    right.clabel(levels, fontsize=7, fmt="%.1f")
    for s in surface.slices:
        right.axhline(s["time_to_expiry"] * 365, color="cyan", lw=0.6, ls="--", alpha=0.7)
    right.axvline(SPOT, color="white", lw=0.8, ls=":")
    fig.colorbar(mesh, ax=right, label="implied volatility (%)")
    right.set_xlabel("strike")
    right.set_ylabel("days to expiry")
    violations = surface.calendar_violations()
    right.set_title(f"Surface iv(K, T): {len(violations)} calendar violations; dashed: fitted expiries")
    fig.suptitle(f"optaro {optaro.__version__}: volatility surface of generated NIFTY chains, spot {SPOT:.2f}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}: {len(surface.slices)} expiries, calendar violations: {len(violations)}")
    for s in surface.slices:
        params = ", ".join(f"{key}={s['svi'][key]:.4g}" for key in ("a", "b", "rho", "m", "sigma"))
        print(f"  {s['expiry']}: {s['points']} quotes, {params}")


if __name__ == "__main__":
    main()
