"""The demo's clock: the demo data is set on 2023-03-24 18:00, so a served demo runs from there.

The origin is kept in the data folder, so a restarted demo goes on from where it was instead of
jumping back (a timeline must never run backwards).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from duban.clock import OffsetClock, as_utc, parse_local
from duban.demo.build import figures

FILE = "demo-clock.json"


def demo_clock(data_dir: Path) -> OffsetClock:
    path = data_dir / FILE
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        virtual, real = (dt.datetime.fromisoformat(saved[k]) for k in ("virtual_start", "real_start"))
    else:
        virtual, real = parse_local(figures()["as_of"]), dt.datetime.now(dt.UTC)
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"virtual_start": virtual.isoformat(), "real_start": real.isoformat()}),
                        encoding="utf-8")
    return OffsetClock(as_utc(virtual), as_utc(real))
