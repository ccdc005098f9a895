"""numpy semantics of the public functions: broadcasting like ufuncs, scalars in -> floats out, and
ValueError naming the argument for shapes or values that cannot be used."""

from __future__ import annotations

import numpy as np
import pytest

import optaro
from optaro import _core
from scalar_agreement import assert_prices_agree

ARGS = dict(S=100.0, K=105.0, T=0.5, r=0.03, q=0.01, sigma=0.25, is_call=True)


def price_loop(S, K, T, r, q, sigma, is_call):
    """The element-wise reference: the C++ scalar function over the broadcast arguments."""
    b = np.broadcast(*(np.asarray(a) for a in (S, K, T, r, q, sigma, is_call)))
    return np.array([_core.bs_price(*map(float, row[:6]), bool(row[6])) for row in b]).reshape(b.shape)


def test_scalars_in_give_python_floats_out():
    price = optaro.bs_price(**ARGS)
    assert type(price) is float
    greeks = optaro.bs_greeks(**ARGS)
    assert all(type(v) is float for v in greeks.values())
    assert type(optaro.black76_price(100.0, 105.0, 0.5, 0.03, 0.25, "c")) is float
    sigma = optaro.implied_vol(price, 100.0, 105.0, 0.5, 0.03, 0.01, True)
    assert type(sigma) is float


def test_zero_dimensional_arrays_and_numpy_scalars_count_as_scalars():
    args = {k: np.asarray(v) for k, v in ARGS.items()}
    assert type(optaro.bs_price(**args)) is float
    args = {k: np.float64(v) for k, v in ARGS.items() if k != "is_call"}
    assert type(optaro.bs_price(**args, is_call=np.bool_(True))) is float
    # a 0-d argument next to a vector broadcasts like any scalar
    K = np.array([90.0, 100.0, 110.0])
    out = optaro.bs_price(np.asarray(100.0), K, 0.5, 0.03, 0.01, 0.25, True)
    assert out.shape == (3,)
    assert_prices_agree(out, price_loop(100.0, K, 0.5, 0.03, 0.01, 0.25, True))


def test_one_element_arrays_keep_their_shape():
    out = optaro.bs_price(np.array([100.0]), 105.0, 0.5, 0.03, 0.01, 0.25, True)
    assert isinstance(out, np.ndarray) and out.shape == (1,)
    out = optaro.bs_price(np.array([[100.0]]), 105.0, 0.5, 0.03, 0.01, 0.25, True)
    assert out.shape == (1, 1)


def test_scalar_times_vector():
    K = np.linspace(50.0, 200.0, 7)
    out = optaro.bs_price(100.0, K, 0.5, 0.03, 0.01, 0.25, True)
    assert out.shape == (7,) and out.dtype == np.float64
    assert_prices_agree(out, price_loop(100.0, K, 0.5, 0.03, 0.01, 0.25, True))


def test_column_times_row_gives_a_grid():
    K = np.linspace(80.0, 120.0, 5)[:, None]  # (5, 1)
    T = np.array([0.1, 0.5, 1.0, 2.0])  # (4,)
    out = optaro.bs_price(100.0, K, T, 0.03, 0.01, 0.25, "p")
    assert out.shape == (5, 4)
    assert_prices_agree(out, price_loop(100.0, K, T, 0.03, 0.01, 0.25, False))
    greeks = optaro.bs_greeks(100.0, K, T, 0.03, 0.01, 0.25, "p")
    assert all(v.shape == (5, 4) for v in greeks.values())


def test_three_dimensional_broadcast_with_is_call_along_one_axis():
    S = np.array([90.0, 110.0]).reshape(2, 1, 1)
    sigma = np.array([0.1, 0.3, 0.6]).reshape(1, 3, 1)
    is_call = np.array([True, False, True, False])  # (4,)
    out = optaro.bs_price(S, 100.0, 1.0, 0.02, 0.0, sigma, is_call)
    assert out.shape == (2, 3, 4)
    assert_prices_agree(out, price_loop(S, 100.0, 1.0, 0.02, 0.0, sigma, is_call))


def test_implied_vol_broadcasts_and_returns_status_of_the_same_shape():
    K = np.array([[90.0], [110.0]])
    sigma = np.array([0.15, 0.3, 0.45])
    price = optaro.bs_price(100.0, K, 1.0, 0.02, 0.01, sigma, True)
    iv, st = optaro.implied_vol(price, 100.0, K, 1.0, 0.02, 0.01, True, return_status=True)
    assert iv.shape == st.shape == (2, 3)
    assert st.dtype == np.uint8
    assert (st == optaro.Status.OK).all()
    np.testing.assert_allclose(iv, np.broadcast_to(sigma, (2, 3)), rtol=1e-12)


def test_empty_inputs_give_empty_outputs():
    out = optaro.bs_price(np.empty(0), 100.0, 1.0, 0.0, 0.0, 0.2, True)
    assert out.shape == (0,)
    out = optaro.bs_price(np.empty((0, 1)), np.ones(3), 1.0, 0.0, 0.0, 0.2, True)
    assert out.shape == (0, 3)
    greeks = optaro.bs_greeks(np.empty(0), 100.0, 1.0, 0.0, 0.0, 0.2, True)
    assert all(v.shape == (0,) for v in greeks.values())
    iv, st = optaro.implied_vol(np.empty(0), 100.0, 100.0, 1.0, 0.0, 0.0, True, return_status=True)
    assert iv.shape == st.shape == (0,)


def test_other_dtypes_layouts_and_views_are_read_correctly():
    grid = np.linspace(60.0, 140.0, 24).reshape(4, 6)
    ref = price_loop(100.0, grid, 1.0, 0.01, 0.0, 0.2, True)
    # Fortran order with the full output shape: must not be read in memory order
    out = optaro.bs_price(100.0, np.asfortranarray(grid), 1.0, 0.01, 0.0, 0.2, True)
    assert_prices_agree(out, ref)
    # a transposed view and a strided slice
    out = optaro.bs_price(100.0, grid.T, 1.0, 0.01, 0.0, 0.2, True)
    assert_prices_agree(out, ref.T)
    wide = np.linspace(60.0, 140.0, 48)
    assert_prices_agree(
        optaro.bs_price(100.0, wide[::2], 1.0, 0.01, 0.0, 0.2, True),
        price_loop(100.0, wide[::2], 1.0, 0.01, 0.0, 0.2, True),
    )
    # integers, float32 and Python lists are converted
    out = optaro.bs_price(100, [90, 100, 110], 1, 0, 0, np.float32(0.25), 1)
    assert_prices_agree(out, price_loop(100.0, [90.0, 100.0, 110.0], 1.0, 0.0, 0.0, float(np.float32(0.25)), True))


def test_inputs_are_not_modified_and_outputs_are_fresh():
    K = np.linspace(80.0, 120.0, 5)
    before = K.copy()
    out = optaro.bs_price(100.0, K, 1.0, 0.0, 0.0, 0.2, True)
    np.testing.assert_array_equal(K, before)
    assert not np.shares_memory(out, K)
    greeks = optaro.bs_greeks(100.0, K, 1.0, 0.0, 0.0, 0.2, True)
    greeks["delta"][:] = 0.0  # each Greek is its own array to the caller
    assert (greeks["gamma"] != 0.0).all()


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: optaro.bs_price([100.0, 101.0, 102.0], [90.0, 100.0], 1.0, 0.0, 0.0, 0.2, True), "K"),
        (lambda: optaro.bs_price(100.0, 90.0, np.ones((2, 3)), 0.0, 0.0, np.ones(4), True), "sigma"),
        (lambda: optaro.bs_price(np.ones(3), 90.0, 1.0, 0.0, 0.0, 0.2, [True, False]), "is_call"),
        (lambda: optaro.bs_greeks(100.0, np.ones(3), 1.0, np.ones(2), 0.0, 0.2, True), "r"),
        (lambda: optaro.implied_vol(np.ones(3), 100.0, 100.0, np.ones(4), 0.0, 0.0, True), "T"),
        (lambda: optaro.black76_price(np.ones(2), 100.0, 1.0, 0.0, np.ones(5), True), "sigma"),
        (lambda: optaro.black76_implied_vol(np.ones(2), np.ones(3), 100.0, 1.0, 0.0, True), "F"),
    ],
)
def test_shape_mismatch_is_a_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=rf"^{argument}: shape"):
        call()


@pytest.mark.parametrize(
    "bad, argument",
    [({"S": "abc"}, "S"), ({"K": [100.0, "x"]}, "K"), ({"T": 1 + 2j}, "T"), ({"sigma": {"a": 1}}, "sigma"),
     ({"r": np.datetime64("2024-01-01")}, "r"), ({"q": None}, "q")],
)
def test_unreadable_values_are_value_errors_naming_the_argument(bad, argument):
    with pytest.raises(ValueError, match=rf"^{argument}: "):
        optaro.bs_price(**{**ARGS, **bad})


def test_the_compiled_batches_check_lengths_and_raise_value_error():
    # The C++ batch throws std::invalid_argument naming the field; pybind11 turns it into ValueError.
    out = np.empty(3)
    with pytest.raises(ValueError, match=r"^K: length 2, expected 3 or 1$"):
        _core.bs_price_batch(np.ones(3), np.ones(2), np.ones(1), np.ones(1), np.ones(1), np.ones(1),
                             np.ones(1, dtype=np.uint8), out)
    with pytest.raises(ValueError, match=r"^price: length 3, expected 4$"):
        _core.bs_price_batch(np.ones(4), np.ones(1), np.ones(1), np.ones(1), np.ones(1), np.ones(1),
                             np.ones(1, dtype=np.uint8), out)
    with pytest.raises(ValueError, match=r"^out: expected a 2-D array"):
        _core.bs_greeks_batch(np.ones(3), np.ones(1), np.ones(1), np.ones(1), np.ones(1), np.ones(1),
                              np.ones(1, dtype=np.uint8), np.empty((3, 3)), False)
    # outputs are never converted (a converted copy would swallow the results)
    with pytest.raises(TypeError):
        _core.bs_price_batch(np.ones(3), np.ones(1), np.ones(1), np.ones(1), np.ones(1), np.ones(1),
                             np.ones(1, dtype=np.uint8), np.empty(3, dtype=np.float32))
    read_only = np.empty(3)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="not writeable"):
        _core.bs_price_batch(np.ones(3), np.ones(1), np.ones(1), np.ones(1), np.ones(1), np.ones(1),
                             np.ones(1, dtype=np.uint8), read_only)
