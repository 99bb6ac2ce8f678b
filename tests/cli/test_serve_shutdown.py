"""`duban serve` stops as systemd and container runtimes stop it: SIGTERM, then nothing left running."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.serving import free_port, wait_until_healthy

JOB = "deadline-sweep"


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env.update(DUBAN_DATA_DIR=str(data_dir), COLUMNS="200")
    command = [sys.executable, "-c", "from duban.cli import main; main()", "serve", "--no-demo",
               "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(server: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> str:
    server.send_signal(sig)
    return server.communicate(timeout=60)[0].decode("utf-8", "replace")


def _children(pid: int) -> set[int]:
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _missed(db_path: Path) -> float:
    """Make the stored sweep a run missed while the service was down (it runs once at start)."""
    with sqlite3.connect(db_path) as db:
        (blob,) = db.execute("SELECT job_state FROM apscheduler_jobs WHERE id = ?", (JOB,)).fetchone()
        state = pickle.loads(blob)
        state["next_run_time"] -= dt.timedelta(days=1)
        missed = state["next_run_time"].timestamp()
        db.execute("UPDATE apscheduler_jobs SET job_state = ?, next_run_time = ? WHERE id = ?",
                   (pickle.dumps(state), missed, JOB))
    return missed


def _next_run(db_path: Path) -> float:
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT next_run_time FROM apscheduler_jobs WHERE id = ?", (JOB,)).fetchone()
    return float(row[0])


def test_sigterm_after_a_scheduled_run_shuts_serve_down_and_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    first = _serve(tmp_path, port)
    wait_until_healthy(first, port, 60)
    assert first.returncode is None
    _stop(first)
    missed = _missed(tmp_path / "duban.db")

    server = _serve(tmp_path, port)
    try:
        wait_until_healthy(server, port, 60)
        deadline = time.monotonic() + 60
        while _next_run(tmp_path / "duban.db") <= missed:  # the missed sweep was taken up
            assert time.monotonic() < deadline, "the missed sweep never ran"
            time.sleep(0.2)
        time.sleep(1)  # let it finish: a sweep over no cases takes milliseconds in process
        children = _children(server.pid)
    finally:
        output = _stop(server)
    assert server.returncode == 0, output
    assert "Application shutdown complete" in output, output
    assert "temporary server" not in output, output
    left = [pid for pid in children if _alive(pid)]
    assert left == [], f"still running after serve stopped: {left}"


def test_sigint_stops_serve_as_cleanly_as_sigterm(tmp_path: Path) -> None:
    port = free_port()
    server = _serve(tmp_path, port)
    try:
        wait_until_healthy(server, port, 60)
    finally:
        output = _stop(server, signal.SIGINT)
    assert server.returncode == 0, output
    assert "Application shutdown complete" in output, output
