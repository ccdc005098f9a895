"""optaro.RetryPolicy and the embedded enrichment engine, optaro.Enricher, from Python.

The enriched messages are checked against the package's own analytics on the same inputs
(optaro.ohlc, optaro.max_pain, the volatility a chain was priced with), and the threading contract
(callbacks on worker threads, the GIL released while the engine waits) against deadlocks, in
subprocesses with a timeout where a hang is the failure being tested for.
"""

from __future__ import annotations

import doctest
import json
import math
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import optaro
from optaro import _engine

NS = 1_000_000_000
T0 = 1_736_935_200 * NS  # 2025-01-15T10:00:00Z


def iso_ns(text: str) -> int:
    """ISO-8601 UTC with up to nanoseconds -> epoch nanoseconds."""
    return int(np.datetime64(text.rstrip("Z"), "ns").astype(np.int64))


# ---- RetryPolicy ------------------------------------------------------------------------------------


def test_retry_policy_defaults_are_5_10_20_seconds():
    policy = optaro.RetryPolicy()
    assert (policy.max_retries, policy.base_delay, policy.multiplier, policy.max_delay, policy.jitter) == (
        3, 5.0, 2.0, 60.0, "none",
    )
    assert policy.delays() == [5.0, 10.0, 20.0]
    assert optaro.RetryPolicy(max_retries=6).delays() == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert optaro.RetryPolicy(max_retries=0).delays() == []


def test_retry_policy_is_a_frozen_value():
    a = optaro.RetryPolicy(max_retries=2, base_delay=1, jitter="full")
    assert a == optaro.RetryPolicy(max_retries=2, base_delay=1.0, jitter="full")
    assert a != optaro.RetryPolicy(max_retries=2, base_delay=1.0, jitter="equal")
    assert isinstance(a.base_delay, float)
    assert repr(a) == "RetryPolicy(max_retries=2, base_delay=1.0, multiplier=2.0, max_delay=60.0, jitter='full')"
    with pytest.raises(AttributeError):
        a.max_retries = 5  # type: ignore[misc]
    assert hash(a) == hash(optaro.RetryPolicy(max_retries=2, base_delay=1.0, jitter="full"))


def caps(policy: optaro.RetryPolicy) -> list[float]:
    return [min(policy.max_delay, policy.base_delay * policy.multiplier ** (n - 1))
            for n in range(1, policy.max_retries + 1)]


SLACK = 1e-9  # delays are whole nanoseconds


def test_full_jitter_is_within_zero_and_the_backoff():
    policy = optaro.RetryPolicy(max_retries=6, base_delay=0.5, multiplier=3.0, max_delay=30.0, jitter="full")
    seen = set()
    for seed in range(300):
        delays = policy.delays(seed)
        assert len(delays) == 6
        for d, cap in zip(delays, caps(policy)):
            assert -SLACK <= d <= cap + SLACK
        seen.add(tuple(delays))
    assert len(seen) == 300  # random, not a constant


def test_equal_jitter_is_within_half_and_all_of_the_backoff():
    policy = optaro.RetryPolicy(max_retries=6, base_delay=0.5, multiplier=3.0, max_delay=30.0, jitter="equal")
    firsts = []
    for seed in range(300):
        delays = policy.delays(seed)
        for d, cap in zip(delays, caps(policy)):
            assert cap / 2 - SLACK <= d <= cap + SLACK
        firsts.append(delays[0])
    # Spread over the interval, not stuck at one end.
    assert min(firsts) < 0.3 and max(firsts) > 0.45


def test_decorrelated_jitter_is_within_base_and_three_times_the_previous_delay():
    policy = optaro.RetryPolicy(max_retries=8, base_delay=1.0, multiplier=2.0, max_delay=20.0, jitter="decorrelated")
    reached_cap = False
    for seed in range(300):
        previous = policy.base_delay
        for d in policy.delays(seed):
            assert policy.base_delay - SLACK <= d <= min(policy.max_delay, 3 * previous) + SLACK
            reached_cap |= d == policy.max_delay
            previous = d
    assert reached_cap


@pytest.mark.parametrize("jitter", ["none", "full", "equal", "decorrelated"])
def test_same_seed_same_schedule(jitter):
    policy = optaro.RetryPolicy(max_retries=5, base_delay=0.25, jitter=jitter)
    again = optaro.RetryPolicy(max_retries=5, base_delay=0.25, jitter=jitter)
    assert policy.delays(42) == policy.delays(42) == again.delays(42)
    if jitter != "none":
        assert policy.delays(42) != policy.delays(43)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"base_delay": -0.5}, "base_delay"),
        ({"base_delay": math.nan}, "base_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"multiplier": math.inf}, "multiplier"),
        ({"max_delay": 1.0}, "max_delay"),
        ({"max_delay": 1e300}, "max_delay"),
        ({"jitter": "sometimes"}, "jitter"),
        ({"jitter": None}, "jitter"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"base_delay": "soon"}, "base_delay"),
    ],
)
def test_retry_policy_value_error_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        optaro.RetryPolicy(**kwargs)


def test_retry_policy_seed_must_be_a_64_bit_unsigned_integer():
    policy = optaro.RetryPolicy(jitter="full")
    assert len(policy.delays(2**64 - 1)) == 3
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="^seed"):
            policy.delays(bad)


# ---- the message stream -----------------------------------------------------------------------------

EXPIRY = "2025-02-14"  # 30 days after T0, expiring at 10:00 UTC (15:30 IST): T = 30 / 365 exactly
RATE = 0.05
SPOT = 100.0
T = 30 / 365
FORWARD = SPOT * math.exp(RATE * T)
STRIKES = [90.0 + i for i in range(21)]
N_TICKS = 100  # per product, about 4 s apart: several 1-minute and 5-minute windows


def smile_vol(strike: float) -> float:
    k = math.log(strike / FORWARD)
    return 0.2 - 0.1 * k + 1.5 * k * k


def make_ticks(product: str, start_price: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    t, price, ticks = T0, start_price, []
    for i in range(N_TICKS):
        t += rng.randrange(1, 8 * NS)
        price = round(price + rng.uniform(-1, 1), 2)
        ticks.append({"product": product, "tick_id": i + 1, "price": price, "volume": rng.randrange(0, 500),
                      "timestamp": t})
    return ticks


def make_chain() -> tuple[dict, list[int], list[int]]:
    rng = random.Random(7)
    call_oi = [rng.randrange(1000, 50_000) for _ in STRIKES]
    put_oi = [rng.randrange(1000, 50_000) for _ in STRIKES]

    def side(is_call: bool, oi: list[int]) -> list[dict]:
        quotes = []
        for strike, open_interest in zip(STRIKES, oi):
            price = float(optaro.bs_price(SPOT, strike, T, RATE, 0.0, smile_vol(strike), is_call))
            quotes.append({"strike": strike, "bid": price - 0.01, "ask": price + 0.01, "last": price,
                           "volume": rng.randrange(0, 10_000), "open_interest": open_interest})
        return quotes

    chain = {"product": "NIFTY", "expiry": EXPIRY, "chain_id": "NIFTY-20250214-000001",
             "timestamp": "2025-01-15T10:00:00Z", "underlying_price": SPOT,
             "calls": side(True, call_oi), "puts": side(False, put_oi)}
    return chain, call_oi, put_oi


QUOTE = {"product": "NIFTY", "symbol": "NIFTY25FEB100CE", "expiry": EXPIRY, "strike": 100, "option_type": "CE",
         "bid": 2.5, "ask": 2.7, "last": 2.6, "volume": 1250, "open_interest": 23_000, "underlying_price": SPOT,
         "quote_id": 998, "timestamp": "2025-01-15T10:00:00Z"}

# Negative price: invalid, never retried. Spaced oddly to check the dead letter keeps it byte for byte.
POISON = b'{"product":  "NIFTY", "tick_id": 999, "price": -5.0,\n "volume": 1, "timestamp": 1736935200000000000}'


class Recorder:
    """on_enriched: records (channel, message) from the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, dict]] = []
        self.threads: set[int] = set()

    def __call__(self, channel: str, message: dict) -> None:
        with self.lock:
            self.messages.append((channel, message))
            self.threads.add(threading.get_ident())

    def on(self, channel: str) -> list[dict]:
        return [m for c, m in self.messages if c == channel]


@pytest.fixture(scope="module")
def stream():
    """One run of the engine over the example stream, shared by the tests that read its results."""
    nifty, bank = make_ticks("NIFTY", 21_500.0, 1), make_ticks("BANKNIFTY", 48_000.0, 2)
    chain, call_oi, put_oi = make_chain()
    messages: list[tuple[str, object]] = []
    for a, b in zip(nifty, bank):  # interleaved products, as dicts, str and bytes
        messages.append(("underlying", a))
        messages.append(("market:underlying", json.dumps(b)))
    messages.append(("option_chain", json.dumps(chain).encode()))
    messages.append(("option_quote", QUOTE))
    messages.append(("underlying", POISON))
    recorder = Recorder()
    events: list[dict] = []
    with optaro.Enricher(recorder, workers=3, rate=RATE, on_event=events.append) as engine:
        stats = engine.process(messages, timeout=60)
        main = threading.get_ident()
        yield {"engine": engine, "stats": stats, "recorder": recorder, "events": events, "nifty": nifty,
               "bank": bank, "chain": chain, "call_oi": call_oi, "put_oi": put_oi, "main_thread": main}


def test_stream_counts(stream):
    stats = stream["stats"]
    assert stats["received"] == 2 * N_TICKS + 3
    assert stats["enriched"] == 2 * N_TICKS + 2  # the quote is enriched (stored and cached), not published
    assert stats["dead_lettered"] == 1
    assert stats["duplicates"] == 0
    assert stats["queued"] == stats["in_flight"] == stats["retries_pending"] == 0
    recorder = stream["recorder"]
    assert len(recorder.on("enriched:underlying")) == 2 * N_TICKS
    assert len(recorder.on("enriched:option_chain")) == 1
    assert {c for c, _ in recorder.messages} == {"enriched:underlying", "enriched:option_chain"}
    assert stream["main_thread"] not in recorder.threads  # called from the engine's workers


@pytest.mark.parametrize("product", ["nifty", "bank"])
@pytest.mark.parametrize(("label", "window"), [("1m", 60), ("5m", 300)])
def test_enriched_ticks_carry_the_candles_of_optaro_ohlc(stream, product, label, window):
    ticks = stream[product]
    name = ticks[0]["product"]
    enriched = [m for m in stream["recorder"].on("enriched:underlying") if m["product"] == name]
    # One product's ticks are processed in arrival order by one worker.
    assert [m["tick_id"] for m in enriched] == [t["tick_id"] for t in ticks]
    assert all(m["late"] is False for m in enriched)
    last_per_window: dict[str, dict] = {}
    for m in enriched:
        last_per_window[m["ohlc"][label]["start"]] = m["ohlc"][label]
    bars = optaro.ohlc([t["timestamp"] for t in ticks], [t["price"] for t in ticks], [t["volume"] for t in ticks],
                       window)
    assert len(last_per_window) == len(bars["start_ns"]) >= 2
    for (start, candle), i in zip(last_per_window.items(), range(len(bars["start_ns"]))):
        assert iso_ns(start) == bars["start_ns"][i]
        assert candle["open"] == bars["open"][i]
        assert candle["close"] == bars["close"][i]
        assert candle["high"] == bars["high"][i]
        assert candle["low"] == bars["low"][i]
        assert candle["ticks"] == bars["ticks"][i]
        assert candle["volume"] == bars["volume"][i]


def test_enriched_chain_matches_optaro_analytics(stream):
    (chain,) = stream["recorder"].on("enriched:option_chain")
    assert chain["chain_id"] == stream["chain"]["chain_id"]
    assert chain["time_to_expiry"] == pytest.approx(T, rel=1e-12)
    assert chain["rate"] == RATE
    assert chain["forward"] == pytest.approx(FORWARD, rel=1e-12)
    assert chain["max_pain"] == optaro.max_pain(STRIKES, stream["call_oi"], stream["put_oi"])
    assert chain["total_call_oi"] == sum(stream["call_oi"])
    assert chain["pcr_oi"] == pytest.approx(sum(stream["put_oi"]) / sum(stream["call_oi"]), rel=1e-12)
    for side in ("calls", "puts"):
        assert len(chain[side]) == len(STRIKES)
        for quote in chain[side]:
            assert quote["iv_status"] == "ok"
            assert quote["iv"] == pytest.approx(smile_vol(quote["strike"]), abs=1e-6), (side, quote["strike"])
            for greek in ("delta", "gamma", "vega", "theta", "rho"):
                assert math.isfinite(quote[greek])
    assert chain["atm_iv"] == pytest.approx(smile_vol(FORWARD), abs=2e-3)


def test_poison_message_is_dead_lettered_byte_for_byte(stream):
    (letter,) = stream["engine"].dead_letters()
    assert letter["reason"] == "invalid_message"
    assert letter["kind"] == "underlying"
    assert letter["channel"] == "market:underlying"
    assert "price" in letter["error"]
    assert letter["payload"].encode("utf-8") == POISON
    assert letter["attempts"] == 1
    assert letter["trace_id"]


def test_quote_is_stored_and_cached_not_published(stream):
    engine = stream["engine"]
    (stored,) = engine.stored("option_quote")
    assert stored["symbol"] == QUOTE["symbol"] and stored["quote_id"] == QUOTE["quote_id"]
    assert json.loads(engine.cache_get("latest:option:" + QUOTE["symbol"]))["quote_id"] == QUOTE["quote_id"]
    assert len(engine.stored("underlying")) == 2 * N_TICKS
    assert len(engine.stored("market:option_chain")) == 1
    latest = json.loads(engine.cache_get("latest:underlying:BANKNIFTY"))
    assert latest["tick_id"] == N_TICKS
    assert engine.cache_get("no:such:key") is None
    with pytest.raises(RuntimeError, match="on_enriched"):
        engine.published("enriched:underlying")


def test_metrics_health_and_events(stream):
    engine = stream["engine"]
    text = engine.metrics_text()
    assert "optaro_messages_enriched_total" in text
    health = engine.health()
    assert health["ok"] is True and health["ports"]["store"]["ok"] is True
    events = stream["events"]
    assert events and all(isinstance(e, dict) and {"ts", "level", "event"} <= e.keys() for e in events)
    traced = [e for e in events if e.get("trace_id")]
    assert traced
    # The dead letter's trace id leads to its events.
    (letter,) = engine.dead_letters()
    assert "dead_lettered" in [e["event"] for e in traced if e["trace_id"] == letter["trace_id"]]
    assert all(e["level"] in ("info", "warning", "error") for e in events)  # log_level="info"


# ---- behaviour --------------------------------------------------------------------------------------


def tick(tick_id: int, price: float = 100.0, product: str = "NIFTY") -> dict:
    return {"product": product, "tick_id": tick_id, "price": price, "volume": 10, "timestamp": T0 + tick_id * NS}


def test_a_message_submitted_twice_is_processed_once():
    recorder = Recorder()
    with optaro.Enricher(recorder) as engine:
        stats = engine.process([("underlying", tick(1)), ("underlying", tick(1)), ("underlying", tick(2)),
                                ("underlying", json.dumps(tick(2)))])
    assert stats["enriched"] == 2
    assert stats["duplicates"] == 2
    assert [m["tick_id"] for m in recorder.on("enriched:underlying")] == [1, 2]
    assert engine.dead_letters() == []


def test_an_exception_in_on_enriched_dead_letters_the_message_and_the_engine_goes_on():
    received = []

    def on_enriched(channel, message):
        if message["tick_id"] == 2:
            raise ValueError("boom on tick 2")
        received.append(message["tick_id"])

    with optaro.Enricher(on_enriched, workers=1) as engine:
        stats = engine.process([("underlying", tick(i)) for i in (1, 2, 3)])
        (letter,) = engine.dead_letters()
    assert received == [1, 3]
    assert stats["dead_lettered"] == 1 and stats["enriched"] == 2
    assert letter["reason"] == "processing_failed"
    assert "ValueError" in letter["error"] and "boom on tick 2" in letter["error"]
    assert letter["id"] == "2"
    assert json.loads(letter["payload"]) == tick(2)


def test_replay_after_a_failing_callback_is_fixed():
    fail = [True]
    received = []

    def on_enriched(channel, message):
        if fail[0]:
            raise RuntimeError("gateway down")
        received.append(message["tick_id"])

    with optaro.Enricher(on_enriched) as engine:
        engine.process([("underlying", tick(1))])
        assert [d["reason"] for d in engine.dead_letters()] == ["processing_failed"]
        fail[0] = False
        assert engine.replay_dead_letters() == 1
        assert engine.drain(10)
        assert engine.dead_letters() == []
    assert received == [1]


def test_without_a_callback_the_messages_are_kept():
    with optaro.Enricher() as engine:
        engine.submit("underlying", tick(1))
        engine.submit("market:underlying", json.dumps(tick(2)))
        engine.submit("underlying", json.dumps(tick(3)).encode())
        assert engine.drain(10)
        published = engine.published("enriched:underlying")
    assert [m["tick_id"] for m in published] == [1, 2, 3]
    assert engine.published("enriched:option_chain") == []


def test_context_manager_closes_and_close_is_idempotent():
    with optaro.Enricher() as engine:
        assert not engine.closed
        engine.submit("underlying", tick(1))
    assert engine.closed
    engine.close()
    assert engine.closed
    # Everything submitted before close was finished; results stay readable.
    assert engine.stats()["enriched"] == 1
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit("underlying", tick(2))
    assert "closed" in repr(engine)


def test_submit_rejects_unknown_kinds_and_payloads():
    with optaro.Enricher() as engine:
        with pytest.raises(ValueError, match="kind: unknown message kind 'tick'"):
            engine.submit("tick", tick(1))
        with pytest.raises(ValueError, match="'market:tick'"):
            engine.submit("market:tick", tick(1))
        with pytest.raises(ValueError, match="^payload"):
            engine.submit("underlying", 42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="^payload"):
            engine.submit("underlying", {"price": math.nan})
        with pytest.raises(ValueError, match="^kind"):
            engine.stored("quotes")
        assert engine.stats()["received"] == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"workers": 0}, "workers"),
        ({"queue_capacity": -3}, "queue_capacity"),
        ({"windows_seconds": ()}, "candles"),
        ({"windows_seconds": (60, 60)}, "candles"),
        ({"allowed_lateness_seconds": -1.0}, "candles"),
        ({"log_level": "loud"}, "log_level"),
        ({"retry": (3, 5.0)}, "retry"),
        ({"on_enriched": 5}, "on_enriched"),
        ({"on_event": "print"}, "on_event"),
    ],
)
def test_enricher_value_error_names_the_argument(kwargs, field):
    with pytest.raises(ValueError, match=field):
        optaro.Enricher(**kwargs)


def test_non_utf8_payload_is_kept_byte_for_byte_as_base64():
    import base64

    payload = b'{"product": "NIFTY", "tick_id": 1, "price": \xff}'
    with optaro.Enricher() as engine:
        engine.submit("underlying", payload)
        assert engine.drain(10)
        (letter,) = engine.dead_letters()
    assert letter["reason"] == "invalid_message"
    assert base64.b64decode(letter["payload_base64"]) == payload


def test_an_exception_in_on_event_is_unraisable_and_processing_goes_on(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def on_event(event):
        raise KeyError("logger broken")

    with optaro.Enricher(on_event=on_event, log_level="debug") as engine:
        stats = engine.process([("underlying", tick(1))])
    assert stats["enriched"] == 1 and stats["dead_lettered"] == 0
    assert reported and all(isinstance(r.exc_value, KeyError) for r in reported)


def test_callbacks_may_call_back_into_the_engine():
    seen = []
    engine = optaro.Enricher(lambda channel, message: seen.append(engine.stats()["received"]))
    with engine:
        engine.process([("underlying", tick(i)) for i in range(1, 6)])
    assert len(seen) == 5


def test_waiting_for_the_engine_from_its_own_callback_raises_instead_of_hanging():
    calls = []

    def on_enriched(channel, message):
        calls.append(message["tick_id"])
        if message["tick_id"] == 1:
            engine.close()
        else:
            engine.drain(1)

    engine = optaro.Enricher(on_enriched, workers=1)
    with engine:
        stats = engine.process([("underlying", tick(1)), ("underlying", tick(2))])
        letters = engine.dead_letters()
    assert calls == [1, 2]
    assert stats["dead_lettered"] == 2
    assert [d["reason"] for d in letters] == ["processing_failed"] * 2
    assert "RuntimeError" in letters[0]["error"] and "Enricher.close" in letters[0]["error"]
    assert "Enricher.drain" in letters[1]["error"]


def test_on_event_debug_level_sees_more():
    quiet, chatty = [], []
    for events, level in ((quiet, "error"), (chatty, "debug")):
        with optaro.Enricher(on_event=events.append, log_level=level) as engine:
            engine.process([("underlying", tick(1))])
    assert quiet == []
    assert any(e["level"] == "debug" for e in chatty)


# ---- threads and shutdown: a hang is the failure, so these run in a subprocess with a timeout ---------


def run_python(code: str, timeout: float = 120) -> str:
    import optaro as package

    env_path = str(Path(package.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=timeout, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_backpressure_releases_the_gil():
    # One worker with a queue of one and a slow Python callback: submit blocks while the worker needs
    # the GIL for the callback. Holding the GIL in submit would deadlock.
    out = run_python("""
        import time, optaro
        seen = []
        def slow(channel, message):
            time.sleep(0.001)
            seen.append(message["tick_id"])
        with optaro.Enricher(slow, workers=1, queue_capacity=1) as e:
            for i in range(1, 301):
                e.submit("underlying", {"product": "NIFTY", "tick_id": i, "price": 100.0, "volume": 1,
                                        "timestamp": 1736935200000000000 + i})
            assert e.drain(60)
        assert seen == list(range(1, 301)), seen[:10]
        print("ok")
    """)
    assert out.strip() == "ok"


def test_interpreter_exit_with_an_open_engine_does_not_hang():
    # Messages still in flight, callbacks pending, never closed: atexit closes it before finalisation.
    out = run_python("""
        import time, optaro
        def slow(channel, message):
            time.sleep(0.002)
        engine = optaro.Enricher(slow, on_event=lambda e: None, workers=2)
        for i in range(1, 201):
            engine.submit("underlying", {"product": "P%d" % (i % 4), "tick_id": i, "price": 1.0, "volume": 1,
                                         "timestamp": 1736935200000000000 + i})
        print("submitted")
    """)
    assert out.strip() == "submitted"


def test_a_collected_engine_is_closed_without_deadlock():
    out = run_python("""
        import gc, optaro
        for _ in range(20):
            engine = optaro.Enricher(lambda c, m: None)
            engine.submit("underlying", {"product": "NIFTY", "tick_id": 1, "price": 1.0, "volume": 1,
                                         "timestamp": 1736935200000000000})
            del engine
            gc.collect()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_docstring_examples():
    failures, tried = doctest.testmod(_engine, verbose=False)
    assert tried > 0 and failures == 0
