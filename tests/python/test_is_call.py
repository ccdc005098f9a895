"""is_call: bools, 0/1 and the usual option-type words, as scalars or arrays; anything else is a
ValueError naming is_call."""

from __future__ import annotations

import numpy as np
import pytest

import optaro

CALL = optaro.bs_price(100.0, 95.0, 0.5, 0.02, 0.01, 0.3, True)
PUT = optaro.bs_price(100.0, 95.0, 0.5, 0.02, 0.01, 0.3, False)


def price(is_call):
    return optaro.bs_price(100.0, 95.0, 0.5, 0.02, 0.01, 0.3, is_call)


@pytest.mark.parametrize(
    "flag",
    [True, 1, 1.0, np.True_, np.int64(1), np.uint8(1), "c", "C", "call", "Call", "CALL", "ce", "CE", "cE",
     b"c", " c ", np.str_("call")],
)
def test_call_forms(flag):
    assert price(flag) == CALL


@pytest.mark.parametrize(
    "flag",
    [False, 0, 0.0, np.False_, np.int32(0), "p", "P", "put", "Put", "PUT", "pe", "PE", b"PE", np.str_("p")],
)
def test_put_forms(flag):
    assert price(flag) == PUT


def test_arrays_of_each_form():
    expected = np.array([CALL, PUT, CALL, PUT])
    for flags in (
        [True, False, True, False],
        np.array([1, 0, 1, 0]),
        np.array([1, 0, 1, 0], dtype=np.uint8),
        np.array([1.0, 0.0, 1.0, 0.0]),
        ["c", "p", "C", "P"],
        np.array(["call", "put", "CE", "pe"]),
        np.array([b"c", b"p", b"ce", b"PE"]),
        np.array(["c", False, 1, "Put"], dtype=object),
    ):
        np.testing.assert_array_equal(price(flags), expected, err_msg=repr(flags))


def test_word_arrays_keep_their_shape_and_broadcast():
    flags = np.array([["c"], ["p"]])  # (2, 1)
    out = optaro.bs_price(100.0, [90.0, 100.0, 110.0], 0.5, 0.02, 0.01, 0.3, flags)
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out[0], optaro.bs_price(100.0, [90.0, 100.0, 110.0], 0.5, 0.02, 0.01, 0.3, True))
    np.testing.assert_array_equal(out[1], optaro.bs_price(100.0, [90.0, 100.0, 110.0], 0.5, 0.02, 0.01, 0.3, False))


def test_every_public_function_takes_the_words():
    greeks_c = optaro.bs_greeks(100.0, 95.0, 0.5, 0.02, 0.01, 0.3, "call")
    assert greeks_c == optaro.bs_greeks(100.0, 95.0, 0.5, 0.02, 0.01, 0.3, True)
    assert optaro.black76_price(100.0, 95.0, 0.5, 0.02, 0.3, "pe") == optaro.black76_price(100.0, 95.0, 0.5, 0.02, 0.3, 0)
    assert optaro.black76_greeks(100.0, 95.0, 0.5, 0.02, 0.3, "P") == optaro.black76_greeks(100.0, 95.0, 0.5, 0.02, 0.3, False)
    assert optaro.implied_vol(PUT, 100.0, 95.0, 0.5, 0.02, 0.01, "put") == optaro.implied_vol(PUT, 100.0, 95.0, 0.5, 0.02, 0.01, False)
    p = optaro.black76_price(100.0, 95.0, 0.5, 0.02, 0.3, True)
    assert optaro.black76_implied_vol(p, 100.0, 95.0, 0.5, 0.02, "C") == optaro.black76_implied_vol(p, 100.0, 95.0, 0.5, 0.02, 1)


@pytest.mark.parametrize(
    "flag",
    ["x", "", "calls", "cp", "1", "true", 2, -1, 0.5, np.nan, None, 1 + 0j, [True, "x"], np.array([0, 1, 2]),
     np.array([0.0, 0.25]), np.array(["c", "puts"]), np.array(["2024-01-01"], dtype="datetime64[D]")],
)
def test_anything_else_is_a_value_error_naming_is_call(flag):
    with pytest.raises(ValueError, match=r"^is_call: "):
        price(flag)
