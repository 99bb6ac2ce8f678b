"""Page weight: the bytes a browser receives for the main pages of the demo world, compressed as
it asks for them (`Accept-Encoding: gzip`) and plain.

    python -m bench.page_weight [--data-dir DIR] [--database URL] [--cases N] [--sample 40]

Run from the repository root. Uses the demo database of bench/http_bench.py (built once into DIR,
about a minute). Signs in as the demo's province dispatcher (who sees every unit in the unit
picker) and fetches, in process, the case pages of `--sample` cases (those with the longest
histories, and cases waiting for triage, whose page offers the most forms that pick a unit), the
case list, the inbox and the dashboard. A figure per page kind: the heaviest case page compressed
(the goal: under 60 KB), its plain size, the median case page, and the other pages compressed.
`--cases` is accepted for `duban bench` and changes nothing: the demo's size is fixed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from pathlib import Path

from bench.common import backend_of, emit, memory_mb
from bench.http_bench import prepare

KB = 1024


def _numbers(sample: int) -> list[str]:
    """The cases whose pages weigh most: the longest histories among open cases (whose pages
    carry the action forms, and the unit picker), then among all."""
    from sqlmodel import Session, col, select

    from duban.models import Case
    from duban.services.context import ServiceContext
    from duban.states.definition import OPEN_STATES

    ctx = ServiceContext.from_settings()
    longest = select(Case.number).order_by(col(Case.audit_seq).desc(), col(Case.id))
    with Session(ctx.engine) as session:
        in_open = longest.where(col(Case.state).in_(OPEN_STATES))
        open_ = session.exec(in_open.limit(sample - sample // 4)).all()
        every = session.exec(longest.limit(sample // 4)).all()
    ctx.engine.dispose()
    return list(dict.fromkeys([*open_, *every]))


async def _weigh_all(passwords: dict[str, str], paths: list[str]) -> dict[str, tuple[int, int]]:
    """(compressed, plain) bytes of each page's body, signed in as the dispatcher."""
    import httpx

    from bench.http_bench import bench_app

    transport = httpx.ASGITransport(app=bench_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', (await client.get("/login")).text)
        assert token is not None
        signed = await client.post("/login", data={"username": "dispatcher", "csrf": token.group(1),
                                                   "password": passwords["dispatcher"]})
        assert signed.status_code == 303, signed.text
        weights = {}
        for path in paths:
            async with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as packed:
                assert packed.status_code == 200 and packed.headers.get("content-encoding") == "gzip", path
                raw = b"".join([chunk async for chunk in packed.aiter_raw()])
            plain = await client.get(path, headers={"Accept-Encoding": "identity"})
            weights[path] = (len(raw), len(plain.content))
        return weights


def measure(passwords: dict[str, str], sample: int, backend: str) -> None:
    import asyncio

    numbers = _numbers(sample)
    others = {"page_list_gzip": "/cases", "page_inbox_gzip": "/inbox", "page_dashboard_gzip": "/dashboard"}
    weights = asyncio.run(_weigh_all(passwords, [f"/cases/{n}" for n in numbers] + list(others.values())))
    cases = {n: weights[f"/cases/{n}"] for n in numbers}
    heaviest = max(cases, key=lambda n: cases[n][0])
    packed, plain = cases[heaviest]
    context = {"backend": backend, "peak_mb": memory_mb()}
    print(f"case pages ({len(cases)}): heaviest {heaviest} {packed / KB:.1f} KB gzip, {plain / KB:.1f} KB "
          f"plain; median {statistics.median(c[0] for c in cases.values()) / KB:.1f} KB gzip", flush=True)
    emit("page_case_gzip", round(packed / KB, 1), "KB", note=f"{heaviest}, dispatcher, of {len(cases)} "
         f"case pages", **context)
    emit("page_case_plain", round(plain / KB, 1), "KB", note=f"{heaviest} uncompressed", **context)
    emit("page_case_median_gzip", round(statistics.median(c[0] for c in cases.values()) / KB, 1), "KB",
         **context)
    for figure, path in others.items():
        packed, plain = weights[path]
        print(f"{path}: {packed / KB:.1f} KB gzip, {plain / KB:.1f} KB plain", flush=True)
        emit(figure, round(packed / KB, 1), "KB", note=f"{plain / KB:.1f} KB uncompressed", **context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "duban-http-bench")
    parser.add_argument("--database", default=None, help="database for the demo (default: SQLite in DIR)")
    parser.add_argument("--cases", type=int, default=None, help="accepted, ignored: the demo's size is fixed")
    parser.add_argument("--sample", type=int, default=40, help="case pages weighed (default 40)")
    args = parser.parse_args()
    import os

    if args.database:
        os.environ["DUBAN_DATABASE_URL"] = args.database
    passwords = prepare(args.data_dir)
    measure(passwords, args.sample, backend_of(args.database) if args.database else "sqlite")


if __name__ == "__main__":
    main()
