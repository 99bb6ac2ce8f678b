"""bench/wrk.py: wrk sends what a route needs, and a run with refused requests is failed, not fast.

These run the real wrk (Debian `wrk`) for a second against a small server on loopback that
records what it was sent; without wrk they fail saying how to install it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.wrk import INSTALL, Load, WrkMissing, parse, run_wrk, wrk_path


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    status = 200

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(self.seen) < 5000:
            self.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wrk() -> None:
    try:
        wrk_path()
    except WrkMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def server(wrk: None) -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"seen": [], "status": 200})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_wrk_sends_the_method_headers_and_body_to_the_paths_given(server: tuple[str, type[Recorder]]) -> None:
    base, handler = server
    body = json.dumps({"form": {"text": "本周进展"}})  # ASCII: \\u escapes
    load = Load("POST", ["/api/cases/A-1/actions/x", "/api/cases/B-2/actions/x"],
                {"Authorization": "Bearer t0ken", "Content-Type": "application/json"}, body=body)
    result = run_wrk(base, load, seconds=1, connections=2, threads=2)
    assert result.requests > 0 and not result.failed
    assert {path for _, path, _, _ in handler.seen} == set(load.paths)
    for method, _, headers, sent in handler.seen:
        assert method == "POST" and headers["Authorization"] == "Bearer t0ken"
        assert json.loads(sent) == {"form": {"text": "本周进展"}}


def test_serial_bodies_never_repeat_across_wrk_threads(server: tuple[str, type[Recorder]]) -> None:
    base, handler = server
    load = Load("POST", ["/api/cases"], {"Content-Type": "application/json"},
                serial_body=json.dumps({"title": "登记{n}"}))
    run_wrk(base, load, seconds=1, connections=4, threads=2)
    titles = [json.loads(sent)["title"] for _, _, _, sent in handler.seen]
    assert len(titles) > 10 and len(set(titles)) == len(titles)


def test_a_run_with_refused_requests_is_failed_however_fast(server: tuple[str, type[Recorder]]) -> None:
    base, handler = server
    handler.status = 404
    result = run_wrk(base, Load("GET", ["/missing"]), seconds=1, connections=2, threads=1)
    assert result.rate > 0 and result.non_2xx > 0
    assert result.failed and "status ≥ 400" in result.why_failed()


def test_wrk_summaries_are_read_with_their_units() -> None:
    output = """Running 20s test @ http://127.0.0.1:8000/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.20ms    3.10ms  1.02s    90.00%
    Req/Sec   264.00     20.00   300.00     70.00%
  Latency Distribution
     50%  850.00us
     75%   14.00ms
     90%   20.00ms
     99%    1.20s
  10560 requests in 20.01s, 25.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:    527.74
Transfer/sec:      1.25MB
"""
    result = parse(output)
    assert result.requests == 10560 and result.seconds == pytest.approx(20.01) and result.rate == 527.74
    assert result.percentiles[50] == pytest.approx(850e-6) and result.percentiles[99] == pytest.approx(1.2)
    assert result.non_2xx == 7 and result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
    assert result.errors == 10 and result.failed
    clean = parse(output.replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
                  .replace("  Non-2xx or 3xx responses: 7\n", ""))
    assert clean.errors == 0 and not clean.failed
    with pytest.raises(ValueError):
        parse("wrk: unknown option")


def test_without_wrk_the_bench_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(WrkMissing, match="apt-get install wrk"):
        wrk_path()
    assert "apt-get install wrk" in INSTALL
