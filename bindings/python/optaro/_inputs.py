"""Argument handling shared by the public functions: numpy in, flat buffers for optaro._core out.

The compiled batch kernels take, per argument, a flat buffer of the batch length n or of length 1
(which they broadcast themselves). Here the arguments are converted and checked, their broadcast shape
is found as numpy ufuncs would, and only the arguments that need general broadcasting (neither n
values nor one) are materialised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
#: What a public function returns per output: a Python float for scalar inputs, else an array of the
#: broadcast shape.
FloatOrArray = Union[float, FloatArray]

_CALL_WORDS = frozenset({"c", "call", "ce"})
_PUT_WORDS = frozenset({"p", "put", "pe"})
_IS_CALL_HELP = "expected bool, 0/1, or one of 'c', 'p', 'call', 'put', 'ce', 'pe' (any case)"


def as_float(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float64 array; ValueError naming the argument if it holds no real numbers.

    Object arrays are cast as numpy casts them (an element None becomes NaN, a missing value in its
    row), but a bare None is refused: it is an argument left out, not data.
    """
    if value is None:
        raise ValueError(f"{name}: expected real numbers, got None")
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind in "biuf":
        return array.astype(np.float64, copy=False)
    if kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: cannot convert to float64 ({error})") from None
    raise ValueError(f"{name}: expected real numbers, got an array of dtype {array.dtype}")


def _word_flag(word: str | bytes) -> int:
    text = word.decode("ascii", "replace") if isinstance(word, bytes) else word
    key = text.strip().lower()
    if key in _CALL_WORDS:
        return 1
    if key in _PUT_WORDS:
        return 0
    raise ValueError(f"is_call: {_IS_CALL_HELP}; got {word!r}")


def _one_flag(value: object) -> int:
    if isinstance(value, (str, bytes)):
        return _word_flag(value)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return int(value)
    raise ValueError(f"is_call: {_IS_CALL_HELP}; got {value!r}")


def _words_to_flags(array: np.ndarray) -> NDArray[np.uint8]:
    # A column of 'C'/'P' can be millions long: lower-case the ASCII letters by arithmetic on the code
    # units and match the accepted words vectorised; only what is left (padding, bad words) is parsed
    # word by word.
    words = np.ascontiguousarray(array).reshape(-1)
    unicode = words.dtype.kind == "U"
    unit = np.uint32 if unicode else np.uint8
    codes: NDArray[Any] = words.view(unit)
    upper_case = (codes >= ord("A")) & (codes <= ord("Z"))
    lowered = np.where(upper_case, codes + 32, codes).astype(unit).view(words.dtype)

    def matches(accepted: frozenset[str]) -> NDArray[np.bool_]:
        hit = np.zeros(words.shape, dtype=bool)
        for w in accepted:
            hit |= lowered == (w if unicode else w.encode("ascii"))
        return hit

    call = matches(_CALL_WORDS)
    put = matches(_PUT_WORDS)
    flags = call.astype(np.uint8)
    rest = ~(call | put)
    if rest.any():
        odd, index = np.unique(words[rest], return_inverse=True)
        parsed = np.array([_word_flag(w) for w in odd.tolist()], dtype=np.uint8)
        flags[rest] = parsed[index.ravel()]
    return flags.reshape(array.shape)


def as_flag(value: ArrayLike) -> NDArray[np.uint8]:
    """``is_call`` as a uint8 array (1 call, 0 put) of the same shape; ValueError for anything else."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8)
    if kind in "iuf":
        bad = ~((array == 0) | (array == 1))
        if bad.any():
            raise ValueError(f"is_call: {_IS_CALL_HELP}; got {array[bad].flat[0]!r}")
        return array.astype(np.uint8)
    if kind in "US":
        return _words_to_flags(array)
    if kind == "O":
        return np.array([_one_flag(v) for v in array.ravel().tolist()], dtype=np.uint8).reshape(array.shape)
    raise ValueError(f"is_call: {_IS_CALL_HELP}; got an array of dtype {array.dtype}")


def broadcast_shape(named: Iterable[tuple[str, np.ndarray]]) -> tuple[int, ...]:
    """The shape numpy broadcasting gives the arguments; ValueError naming the first misfit."""
    shape: tuple[int, ...] = ()
    seen: list[str] = []
    for name, array in named:
        try:
            shape = np.broadcast_shapes(shape, array.shape)
        except ValueError:
            before = ", ".join(seen) if seen else "the arguments before it"
            raise ValueError(
                f"{name}: shape {array.shape} does not broadcast with shape {shape} of {before}"
            ) from None
        if array.ndim:
            seen.append(name)
    return shape


def flat(array: np.ndarray, shape: tuple[int, ...], n: int) -> np.ndarray:
    """``array`` as a flat C-ordered buffer of n values or 1 value, copying only when it must.

    An array that broadcasts to ``shape`` and has n elements already has the broadcast shape up to
    leading ones, so its C order is the batch's row order.
    """
    if array.size == n or array.size == 1:
        return np.ascontiguousarray(array).reshape(-1)
    return np.broadcast_to(array, shape).reshape(-1)


class Batch:
    """Converted, broadcast arguments of one call, ready for a batch kernel of optaro._core."""

    __slots__ = ("columns", "flag", "shape", "n")

    def __init__(self, floats: dict[str, ArrayLike], is_call: ArrayLike) -> None:
        arrays = [(name, as_float(name, value)) for name, value in floats.items()]
        flag = as_flag(is_call)
        self.shape = broadcast_shape([*arrays, ("is_call", flag)])
        self.n = math.prod(self.shape)
        self.columns = [flat(a, self.shape, self.n) for _, a in arrays]
        self.flag = flat(flag, self.shape, self.n)

    def result(self, values: FloatArray) -> FloatOrArray:
        """One output column of the batch in the caller's terms: float for scalar input, else an array."""
        if self.shape == ():
            return float(values[0])
        return values.reshape(self.shape)
