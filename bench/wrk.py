"""Load a route with wrk (the Debian package `wrk`) and read what it measured.

wrk is what people point at a server to see what it takes: a C client that keeps its connections
busy with a fraction of a core, where a Python client spends as much CPU as the server it
measures. A route is given as its method, paths (one is picked at random per request), headers
and body; the Lua script wrk needs for that is written to a temporary file and removed after.
A run with any refused request (wrk's "Non-2xx or 3xx responses", which counts statuses ≥ 400)
or socket error is a failed run, whatever its rate: an error answered fast is not speed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

INSTALL = "wrk is not installed: apt-get install wrk (Debian/Ubuntu; scripts/apt-install wrk does it)"
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TIME = r"([0-9.]+)(us|ms|s|m|h)"


class WrkMissing(RuntimeError):
    """wrk is not on PATH."""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(INSTALL)
    return found


@dataclass(frozen=True)
class Load:
    """What wrk sends: `method` to one of `paths` (chosen at random), with `headers` and `body`.

    `serial_body`, if given, is a body template whose `{n}` becomes a number unique to the run
    (each wrk thread counts in its own stride), for writes that must not repeat (registrations).
    """

    method: str
    paths: Sequence[str]
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    serial_body: str | None = None


def _lua_string(text: str) -> str:
    """A Lua long string literal (no escapes inside: JSON's backslashes stay as they are)."""
    if not text.isascii() or "]==]" in text or "\n" in text:
        raise ValueError("wrk's scripts are given ASCII text on one line (JSON with \\u escapes)")
    return f"[==[{text}]==]"


def lua_script(load: Load) -> str:
    """The wrk script sending `load`."""
    paths = ", ".join(_lua_string(p) for p in load.paths)
    # `[ [==[` with a space: `[[` would open a long string.
    headers = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}"
                         for k, v in load.headers.items())
    lines = [
        f"wrk.method = {_lua_string(load.method)}",
        headers,
        f"local paths = {{{paths}}}",
        "local id, n, count = 0, 0, 0",
        "function setup(thread) thread:set('id', count); count = count + 1 end",
        "function init(args) id = tonumber(wrk.thread:get('id')) or 0; math.randomseed(id + 1) end",
    ]
    if load.serial_body is not None:
        before, _, after = load.serial_body.partition("{n}")
        lines += [
            f"local before, after = {_lua_string(before)}, {_lua_string(after)}",
            "function request()",
            "  n = n + 1",
            "  return wrk.format(nil, paths[math.random(#paths)], nil, before .. id .. '-' .. n .. after)",
            "end",
        ]
    else:
        if load.body is not None:
            lines.append(f"wrk.body = {_lua_string(load.body)}")
        lines += ["function request() return wrk.format(nil, paths[math.random(#paths)]) end"]
    return "\n".join(lines) + "\n"


@dataclass
class WrkResult:
    """wrk's summary: the rate, latency percentiles (seconds) and every kind of failure."""

    requests: int
    seconds: float
    rate: float
    percentiles: dict[int, float]
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    @property
    def failed(self) -> bool:
        return self.errors > 0 or self.requests == 0

    def why_failed(self) -> str:
        parts = [f"{self.non_2xx} answers with status ≥ 400"] if self.non_2xx else []
        parts += [f"{count} socket {kind} errors" for kind, count in self.socket_errors.items() if count]
        return ", ".join(parts) or "no request completed"


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """Read wrk's text output (run with --latency); raises ValueError if it is not wrk's summary."""
    done = re.search(rf"(\d+) requests in {_TIME}", output)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    if done is None or rate is None:
        raise ValueError(f"not a wrk summary: {output.strip()[-300:]!r}")
    percentiles = {int(p): _seconds(v, u) for p, v, u in
                   re.findall(rf"^\s+(\d+)%\s+{_TIME}\s*$", output, flags=re.MULTILINE)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                             (int(g) for g in sockets.groups()), strict=True)) if sockets else {}
    return WrkResult(requests=int(done.group(1)), seconds=_seconds(done.group(2), done.group(3)),
                     rate=float(rate.group(1)), percentiles=percentiles,
                     non_2xx=int(non_2xx.group(1)) if non_2xx else 0, socket_errors=socket_errors,
                     output=output)


def run_wrk(base: str, load: Load, *, seconds: float, connections: int = 8, threads: int = 2,
            timeout: float = 10.0) -> WrkResult:
    """Load `base` with `load` for `seconds` (whole seconds, at least 1) and read the summary."""
    binary = wrk_path()
    with tempfile.TemporaryDirectory(prefix="duban-wrk-") as folder:
        script = Path(folder) / "load.lua"
        script.write_text(lua_script(load), encoding="ascii")
        args = [binary, f"-t{max(1, min(threads, connections))}", f"-c{connections}",
                f"-d{max(1, round(seconds))}s", f"--timeout={timeout:g}s", "--latency",
                "-s", str(script), base]
        done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + timeout + 30)
    if done.returncode != 0 or done.stderr.strip():  # a broken script is reported, and wrk goes on GETting /
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)
