#!/usr/bin/env python3
"""Reference values of the normalised Black function b(x, s, call/put) for optaro's tests.

b(x, s, theta) = theta * (e^{x/2} Phi(theta (x/s + s/2)) - e^{-x/2} Phi(theta (x/s - s/2))), computed with
mpmath at 60 significant digits from the exact binary values of x and s (drawn as doubles with a fixed
seed; never parsed from decimal text). Also written: the relative condition numbers of b with respect
to its inputs, kappa_x = |x db/dx / b| and kappa_s = |s db/ds / b|, which bound the accuracy that any
double-precision evaluation can promise (about eps * (kappa_x + kappa_s)).

Run:  python3 tests/refgen/gen_normalised_black.py > tests/data/normalised_black_ref.csv
"""
import random
import sys

import mpmath as mp

mp.mp.dps = 60


def black(x, s, theta):
    x, s = mp.mpf(x), mp.mpf(s)
    d1, d2 = x / s + s / 2, x / s - s / 2
    b = theta * (mp.exp(x / 2) * mp.ncdf(theta * d1) - mp.exp(-x / 2) * mp.ncdf(theta * d2))
    db_dx = (mp.exp(x / 2) * mp.ncdf(theta * d1) + mp.exp(-x / 2) * mp.ncdf(theta * d2)) * theta / 2
    db_ds = mp.exp(x / 2) * mp.npdf(d1)
    return b, abs(x * db_dx / b), abs(s * db_ds / b)


def main():
    rng = random.Random(20261125)
    rows = []
    # random: |x| log-uniform in [1e-8, 60], s log-uniform in [1e-5, 60], both signs, calls and puts
    while len(rows) < 3000:
        x = 10 ** rng.uniform(-8, 1.78) * rng.choice((-1.0, 1.0))
        s = 10 ** rng.uniform(-5, 1.78)
        theta = rng.choice((1, -1))
        b, kx, ks = black(x, s, theta)
        if b < mp.mpf('1e-300'):
            continue  # below the normal range of double: nothing to compare to the last bit
        rows.append((x, s, theta, b, kx, ks))
    # structured: the region boundaries of the implementation (t = 0.21, |x| = 2, h + t = 0.85) and ATM
    for x in (0.0, -1e-12, -1e-3, -0.5, -1.999, -2.0, -2.001, -5.0, -12.0, -30.0):
        for s in (1e-6, 0.01, 0.1, 0.4199, 0.42, 0.4201, 1.0, 1.7, 2.0, 5.0, 20.0, 40.0):
            for theta in (1, -1):
                if x == 0.0 and s < 1e-300:
                    continue
                b, kx, ks = black(x, s, theta)
                if b < mp.mpf('1e-300'):
                    continue
                rows.append((x, s, theta, b, kx, ks))
    out = sys.stdout
    out.write('x,s,is_call,b,kappa_x,kappa_s\n')
    for x, s, theta, b, kx, ks in rows:
        out.write(f'{x!r},{s!r},{1 if theta > 0 else 0},{mp.nstr(b, 25)},'
                  f'{float(kx)!r},{float(ks)!r}\n')


if __name__ == '__main__':
    main()
