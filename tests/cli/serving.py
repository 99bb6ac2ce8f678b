"""`duban serve` in a subprocess, for the tests that run it for real."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(server: subprocess.Popen[bytes], port: int, seconds: float) -> httpx.Response:
    """The health answer, once the server answers; fails if it exits or takes longer."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/meta/health", timeout=1)
        except httpx.TransportError:
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
