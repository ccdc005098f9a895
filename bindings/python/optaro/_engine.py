"""The enrichment engine, embedded in a Python process: :class:`Enricher` and its :class:`RetryPolicy`.

An :class:`Enricher` runs the C++ engine (``optaro::enricher``) on in-memory ports: it decodes and
validates underlying ticks, option quotes and option chains (MESSAGES.md), enriches them (OHLC
candles, chain analytics, implied volatilities and Greeks, SVI smiles), stores and caches the results,
and hands every enriched message to a Python callback, with idempotency (a message is processed once)
and a dead-letter queue for what cannot be processed. It replaces a per-message task with one call:

>>> import optaro
>>> received = []
>>> with optaro.Enricher(lambda channel, message: received.append((channel, message))) as engine:
...     stats = engine.process([("underlying", {"product": "NIFTY", "tick_id": 1, "price": 21543.25,
...                                             "volume": 150, "timestamp": "2025-01-15T10:30:00Z"})])
>>> stats["enriched"], received[0][0], received[0][1]["ohlc"]["1m"]["close"]
(1, 'enriched:underlying', 21543.25)
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import operator
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Optional, Union

from . import _core

__all__ = ["Enricher", "RetryPolicy"]

#: The jitter names of :class:`RetryPolicy`.
JITTERS: tuple[str, ...] = ("none", "full", "equal", "decorrelated")
#: The inbound message kinds; each arrives on the channel ``"market:" + kind``.
KINDS: tuple[str, ...] = ("underlying", "option_quote", "option_chain")

Payload = Union[str, bytes, bytearray, memoryview, Mapping[str, Any]]


def _integer(value: Any, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected an integer, got {value!r}") from None


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When and how often the engine retries a message after a retryable failure.

    The delay before retry ``n`` (1 for the first) is ``d = min(max_delay, base_delay * multiplier **
    (n - 1))``, randomised by ``jitter`` (Brooker, "Exponential Backoff And Jitter", AWS, 2015):

    - ``"none"``: ``d`` exactly;
    - ``"full"``: uniform in ``[0, d]`` (Celery's ``retry_jitter``);
    - ``"equal"``: ``d / 2`` plus uniform in ``[0, d / 2]``;
    - ``"decorrelated"``: ``min(max_delay, uniform in [base_delay, 3 * previous delay])``; ignores
      ``multiplier``.

    The defaults are three retries after 5, 10 and 20 seconds. Immutable, compared by value.

    Args:
        max_retries: retries after the first attempt, >= 0.
        base_delay: the delay before the first retry, in seconds, >= 0.
        multiplier: the growth per retry, finite and >= 1.
        max_delay: the cap on any delay, in seconds, >= ``base_delay``.
        jitter: ``"none"``, ``"full"``, ``"equal"`` or ``"decorrelated"``.

    Raises:
        ValueError: a field out of range, with the C++ ``retry_policy::validate`` message naming it.

    >>> RetryPolicy().delays()
    [5.0, 10.0, 20.0]
    """

    max_retries: int = 3
    base_delay: float = 5.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: str = "none"

    def __post_init__(self) -> None:
        max_retries = _integer(self.max_retries, "max_retries")
        if not -(2**31) <= max_retries < 2**31:
            raise ValueError(f"max_retries: beyond the range of a C++ int ({max_retries})")
        if not isinstance(self.jitter, str):
            raise ValueError(f"jitter: expected one of {', '.join(JITTERS)}, got {self.jitter!r}")
        object.__setattr__(self, "max_retries", max_retries)
        for name in ("base_delay", "multiplier", "max_delay"):
            object.__setattr__(self, name, _number(getattr(self, name), name))
        _core.validate_retry_policy(self._as_tuple())

    def _as_tuple(self) -> tuple[int, float, float, float, str]:
        return (self.max_retries, self.base_delay, self.multiplier, self.max_delay, self.jitter)

    def delays(self, seed: int = 0) -> list[float]:
        """The whole schedule: ``max_retries`` delays in seconds, drawn in turn from a generator seeded
        with ``seed`` (an integer in ``[0, 2**64)``). The same seed gives the same schedule on every
        platform (``optaro::retry_policy::delays``)."""
        s = _integer(seed, "seed")
        if not 0 <= s < 2**64:
            raise ValueError(f"seed: expected an integer in [0, 2**64), got {s}")
        return _core.retry_delays(self._as_tuple(), s)


def _kind_and_channel(kind: str, name: str = "kind") -> tuple[str, str]:
    if isinstance(kind, str):
        if kind in KINDS:
            return kind, "market:" + kind
        if kind.startswith("market:") and kind[len("market:"):] in KINDS:
            return kind[len("market:"):], kind
    raise ValueError(
        f"{name}: unknown message kind {kind!r} (expected {', '.join(KINDS)} or the channel market:<kind>)"
    )


def _payload_bytes(payload: Payload) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"payload: cannot be encoded as UTF-8 ({e})") from None
    if isinstance(payload, Mapping):
        try:
            return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise ValueError(f"payload: cannot be written as JSON ({e})") from None
    raise ValueError(f"payload: expected a str, bytes or a mapping, got {type(payload).__name__}")


# Which engine's callback the current thread is running, if any: that engine must not be waited for
# from inside it (close or drain would wait for the very callback that calls them).
_callbacks = threading.local()


class _Token:
    """Names an engine in _callbacks without referring to it."""


def _calling(token: _Token, f: Callable[..., Any], *args: Any) -> None:
    outer = getattr(_callbacks, "token", None)
    _callbacks.token = token
    try:
        f(*args)
    finally:
        _callbacks.token = outer


def _publisher(on_enriched: Callable[[str, dict[str, Any]], Any], token: _Token) -> Callable[[str, bytes], None]:
    # A closure over the user's function only: holding the Enricher here would make a cycle.
    def publish(channel: str, payload: bytes) -> None:
        _calling(token, on_enriched, channel, json.loads(payload))

    return publish


def _event_writer(on_event: Callable[[dict[str, Any]], Any], token: _Token) -> Callable[[bytes], None]:
    def write(line: bytes) -> None:
        _calling(token, on_event, json.loads(line))

    return write


# Enrichers still open when the interpreter exits are closed before it finalises: their worker threads
# must not try to take the GIL of an interpreter that is going away.
_open: weakref.WeakSet[Enricher] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for engine in list(_open):
        engine.close()


class Enricher:
    """The enrichment engine on in-memory ports, started, calling back with every enriched message.

    Each message submitted is decoded and validated, claimed under its idempotency key (a message seen
    before is a duplicate and is not processed again), enriched, stored, cached and published: the
    callback ``on_enriched(channel, message)`` receives the enriched message as a dict, on
    ``"enriched:underlying"`` (the tick with an ``ohlc`` candle per window) or
    ``"enriched:option_chain"`` (the chain with ``forward``, ``pcr_oi``, ``max_pain``, ``atm_iv``, ...,
    and ``iv``, ``iv_status`` and Greeks on every quote); option quotes are stored and cached but not
    published. MESSAGES.md gives the formats.

    A message that fails validation goes to :meth:`dead_letters` with reason ``invalid_message`` and an
    error naming the field. An exception raised by ``on_enriched`` is permanent for that message: it is
    dead-lettered with reason ``processing_failed`` and an error ``"on_enriched raised <Type>:
    <message>"`` (after the message was stored and cached), and the engine goes on.

    Threads: the callbacks are called from the engine's worker threads (``workers`` of them; messages
    of different products on different threads), each taking the GIL; one product's ticks arrive in
    order.
    Every method that waits for the engine releases the GIL. A callback may call the engine's other
    methods, but :meth:`close`, :meth:`drain` and :meth:`process` raise RuntimeError there (they would
    wait for the callback itself). Close the engine when done (or use ``with``), in particular when a
    callback refers to it: an open engine is closed when collected, and at interpreter exit.

    Args:
        on_enriched: ``f(channel: str, message: dict)``; None keeps the messages, see :meth:`published`.
        workers: worker threads, >= 1.
        queue_capacity: messages waiting per worker, >= 1; :meth:`submit` blocks while a queue is full.
        retry: the :class:`RetryPolicy` for retryable failures of the ports.
        rate: the risk-free rate, continuous per year, unless a chain carries its own ``rate``.
        dividend_yield: continuous per year, unless a chain carries its own ``dividend_yield``.
        windows_seconds: the OHLC windows, in seconds (labelled ``"1m"``, ``"5m"``, ... or ``"90s"``).
        anchor_seconds: where windows are aligned, in seconds since the epoch (as for :func:`ohlc`).
        allowed_lateness_seconds: how long a window stays open after its end, in seconds.
        fit_surfaces: fit an SVI smile to every chain and cache the product's volatility surface.
        on_event: ``f(event: dict)`` for each structured log event (``ts``, ``level``, ``event``, and
            fields such as ``trace_id``); its exceptions are reported by ``sys.unraisablehook`` and
            otherwise ignored.
        log_level: the least level of events passed to ``on_event``: ``"debug"``, ``"info"``,
            ``"warning"`` or ``"error"``.

    Raises:
        ValueError: an argument out of range, naming it.
    """

    def __init__(
        self,
        on_enriched: Optional[Callable[[str, dict[str, Any]], Any]] = None,
        *,
        workers: int = 2,
        queue_capacity: int = 1024,
        retry: RetryPolicy = RetryPolicy(),
        rate: float = 0.0,
        dividend_yield: float = 0.0,
        windows_seconds: Iterable[int] = (60, 300, 900),
        anchor_seconds: int = 0,
        allowed_lateness_seconds: float = 0.0,
        fit_surfaces: bool = True,
        on_event: Optional[Callable[[dict[str, Any]], Any]] = None,
        log_level: str = "info",
    ) -> None:
        for name, f in (("on_enriched", on_enriched), ("on_event", on_event)):
            if f is not None and not callable(f):
                raise ValueError(f"{name}: expected a callable or None, got {type(f).__name__}")
        if not isinstance(retry, RetryPolicy):
            raise ValueError(f"retry: expected an optaro.RetryPolicy, got {type(retry).__name__}")
        if not isinstance(log_level, str):
            raise ValueError(f"log_level: expected debug, info, warning or error, got {log_level!r}")
        try:
            windows = [_integer(w, "windows_seconds") for w in windows_seconds]
        except TypeError:
            raise ValueError(f"windows_seconds: expected whole numbers of seconds, got {windows_seconds!r}") from None
        self._callback = on_enriched is not None
        self._token = _Token()
        try:
            self._core = _core.Enricher(
                None if on_enriched is None else _publisher(on_enriched, self._token),
                None if on_event is None else _event_writer(on_event, self._token),
                _integer(workers, "workers"),
                _integer(queue_capacity, "queue_capacity"),
                retry._as_tuple(),
                _number(rate, "rate"),
                _number(dividend_yield, "dividend_yield"),
                windows,
                _integer(anchor_seconds, "anchor_seconds"),
                _number(allowed_lateness_seconds, "allowed_lateness_seconds"),
                bool(fit_surfaces),
                log_level,
            )
        except (OverflowError, TypeError) as e:  # an integer beyond the C++ range
            raise ValueError(f"Enricher: an argument is out of range ({e})") from None
        _open.add(self)

    # ---- lifecycle --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._core.stopped()

    def close(self) -> None:
        """Stops the engine gracefully: finishes everything submitted, then stops the threads.

        Messages still waiting for a retry are dead-lettered with reason ``shutdown`` (replayable).
        Idempotent. The results (:meth:`stats`, :meth:`dead_letters`, :meth:`stored`, ...) stay readable.
        """
        core = getattr(self, "_core", None)
        if core is not None:
            self._not_in_callback("close")
            core.stop()
        _open.discard(self)

    def _not_in_callback(self, method: str) -> None:
        if getattr(_callbacks, "token", None) is self._token:
            raise RuntimeError(f"Enricher.{method}: called from the engine's own callback, it would wait for itself")

    def __enter__(self) -> Enricher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing can be reported from a finaliser
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        s = self.stats()
        counts = f"{s['received']} received, {s['enriched']} enriched, {s['dead_lettered']} dead-lettered"
        return f"<optaro.Enricher {state}: {counts}>"

    # ---- messages -----------------------------------------------------------------------------------

    def submit(self, kind: str, payload: Payload) -> None:
        """Hands one inbound message to the engine, to be processed on a worker thread.

        Args:
            kind: ``"underlying"``, ``"option_quote"``, ``"option_chain"``, or the channel name
                ``"market:underlying"``, ... (recorded as the message's channel).
            payload: the message as JSON: bytes (kept byte for byte, also in a dead letter), a str
                (encoded as UTF-8) or a mapping (written with ``json.dumps``).

        Blocks, with the GIL released, while the worker's queue is full (backpressure).

        Raises:
            ValueError: an unknown kind (named), or a payload that is none of the above.
            RuntimeError: the engine is closed.
        """
        name, channel = _kind_and_channel(kind)
        data = _payload_bytes(payload)
        if not self._core.submit(name, channel, data):
            raise RuntimeError("Enricher.submit: the engine is closed")

    def drain(self, timeout: float = 30.0) -> bool:
        """Waits, GIL released, up to ``timeout`` seconds until nothing is queued or in flight and no
        retry is due; returns whether that happened. Retries due later do not count."""
        self._not_in_callback("drain")
        return self._core.wait_quiescent(_number(timeout, "timeout"))

    def process(self, messages: Iterable[tuple[str, Payload]], timeout: float = 30.0) -> dict[str, int]:
        """Submits every ``(kind, payload)`` pair (as :meth:`submit`), then drains; returns :meth:`stats`.

        Raises:
            TimeoutError: the engine did not drain within ``timeout`` seconds.
        """
        for kind, payload in messages:
            self.submit(kind, payload)
        if not self.drain(timeout):
            raise TimeoutError(f"Enricher.process: still busy after {timeout} s")
        return self.stats()

    def replay_dead_letters(self) -> int:
        """Submits every dead letter again (removing it from :meth:`dead_letters`), attempts afresh;
        returns how many. Idempotency makes this safe for messages that were in fact completed."""
        return self._core.replay_dead_letters()

    # ---- results ------------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts since start: ``received``, ``enriched``, ``duplicates``, ``deferred``, ``retries``,
        ``dead_lettered``, ``late_ticks``; and now: ``queued``, ``in_flight``, ``retries_pending``."""
        return self._core.stats()

    def health(self) -> dict[str, Any]:
        """``{"ok": bool, "ports": {"store": {"ok": bool, "detail": str}, ...}}``."""
        return json.loads(self._core.health_json())

    def metrics_text(self) -> str:
        """The engine's metrics in the Prometheus text format 0.0.4 (``optaro_messages_enriched_total``,
        ...)."""
        return self._core.metrics_text()

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead letters, oldest first, as the MESSAGES.md records: ``id``, ``kind``, ``channel``,
        ``error``, ``reason`` (``invalid_message``, ``retries_exhausted``, ``processing_failed``,
        ``shutdown``), ``attempts``, ``first_failed_at``, ``failed_at`` (ISO-8601 UTC), ``trace_id`` and
        ``payload`` (the message as submitted; ``payload_base64`` instead when it is not UTF-8)."""
        return [json.loads(letter) for letter in self._core.dead_letters()]

    def cache_get(self, key: str) -> Optional[str]:
        """The value of a live cache key (``latest:underlying:NIFTY``, ``ohlc:NIFTY:1m``, ...), or None."""
        value = self._core.cache_get(key)
        return None if value is None else value.decode("utf-8")

    def stored(self, kind: str) -> list[dict[str, Any]]:
        """The stored documents of one kind (as :meth:`submit` names it), in insertion order: the
        enriched messages, quotes included."""
        name, _ = _kind_and_channel(kind)
        return [json.loads(doc) for doc in self._core.documents(name)]

    def published(self, channel: str) -> list[dict[str, Any]]:
        """The messages published on ``channel`` (``"enriched:underlying"``, ...), oldest first.

        Raises:
            RuntimeError: the engine was given ``on_enriched``, which received them instead.
        """
        if self._callback:
            raise RuntimeError("Enricher.published: the messages went to on_enriched and were not kept")
        return [json.loads(message) for message in self._core.published(channel)]

