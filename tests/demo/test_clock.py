"""A served demo runs on its own date, and never backwards across restarts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from duban.clock import OffsetClock, parse_local
from duban.demo.clock import demo_clock


def test_the_demo_clock_starts_at_the_demos_moment_and_runs(tmp_path: Path) -> None:
    clock = demo_clock(tmp_path)
    start = parse_local("2023-03-24 18:00")
    first = clock.now()
    assert start <= first < start + dt.timedelta(seconds=5)
    assert clock.now() >= first


def test_a_restarted_demo_goes_on_from_its_first_start(tmp_path: Path) -> None:
    demo_clock(tmp_path)
    saved = (tmp_path / "demo-clock.json").read_text(encoding="utf-8")
    later = demo_clock(tmp_path)
    assert (tmp_path / "demo-clock.json").read_text(encoding="utf-8") == saved
    assert later.now() >= parse_local("2023-03-24 18:00")


def test_an_offset_clock_keeps_real_time_passing() -> None:
    real_start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    clock = OffsetClock(parse_local("2023-03-24 18:00"), real_start)
    now = clock.now()
    assert parse_local("2023-03-24 20:00") <= now < parse_local("2023-03-24 20:01")
