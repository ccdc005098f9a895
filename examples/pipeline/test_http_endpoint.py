"""The metrics endpoint of `optaro-pipeline run --http-port 0` against well-formed and hostile clients.

    python3 test_http_endpoint.py PATH/TO/optaro-pipeline

Runs the embedded pipeline for a few seconds and, while it runs: GET /metrics (200, Prometheus text
with the engine's counters), GET /health (200, JSON), HEAD, an unknown path (404), POST (405), garbage
(400), a request head over 8 KiB (431), a client that sends half a request and stalls (408 after 2 s,
and the server answers the next client afterwards), a client that connects and closes at once. The run
must still end with 0 lost and 0 duplicated (exit code 0).
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time


def exchange(port: int, data: bytes, *, stall: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if not stall:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    assert match, response[:80]
    return int(match.group(1))


def main() -> int:
    pipeline = sys.argv[1]
    run = subprocess.Popen([pipeline, "run", "--duration", "8", "--http-port", "0", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            line = run.stderr.readline()
            if m := re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line):
                port = int(m.group(1))
        assert port, "the endpoint was not announced"
        time.sleep(1)

        metrics = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(metrics) == 200, metrics[:200]
        body = metrics.split(b"\r\n\r\n", 1)[1].decode()
        assert re.search(r"^optaro_\w+ ", body, re.M), body[:400]
        health = exchange(port, b"GET /health?verbose=1 HTTP/1.0\r\n\r\n")
        assert status_of(health) in (200, 503)
        json.loads(health.split(b"\r\n\r\n", 1)[1])
        head = exchange(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        assert status_of(head) == 200 and head.endswith(b"\r\n\r\n"), head[-40:]
        checks = {
            b"GET /nothing HTTP/1.1\r\n\r\n": 404,
            b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n": 405,
            b"\x00\xff garbage\r\n\r\n": 400,
            b"GET /metrics\r\n\r\n": 400,
            b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n": 431,
            b"GET /" + b"a" * 20000: 431,
        }
        for request, expected in checks.items():
            got = status_of(exchange(port, request))
            assert got == expected, (request[:40], got, expected)
        # A stalled client gets 408 after the server's 2 s, and does not keep the next one out.
        started = time.monotonic()
        stalled = exchange(port, b"GET /metrics HTTP/1.1\r\n", stall=True)
        waited = time.monotonic() - started
        assert status_of(stalled) == 408 and 1.5 < waited < 5, (stalled[:40], waited)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # connects and closes without a byte
        assert status_of(exchange(port, b"GET /metrics HTTP/1.1\r\n\r\n")) == 200
        print(f"metrics endpoint on port {port}: {len(checks) + 5} exchanges answered as specified "
              f"(stalled client answered 408 after {waited:.1f} s)")
    finally:
        out, err = run.communicate(timeout=60)
    if run.returncode != 0:
        print(out, err, sep="\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
