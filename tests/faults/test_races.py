"""Races the crash harness found, kept as tests.

The first registrations of a year at one office, arriving at once: on PostgreSQL both create the
office's number sequence for that year (`case_number_seqs`, UNIQUE office and year) and the loser
fails with IntegrityError: a 500 over HTTP, and a crashed `duban import`. Nothing is written (the
transaction rolls back) and a retry succeeds, but the caller saw an error. SQLite serialises
writers (BEGIN IMMEDIATE), so it cannot happen there. Fixed in `CaseService._next_number`
(INSERT … ON CONFLICT DO NOTHING, then UPDATE … RETURNING under the row's lock).
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.engine import Engine

from duban.clock import SHANGHAI
from duban.services import CaseService
from tests.factories import CLERK, complaint, world

YEARS = range(2005, 2021)
RACERS = 4


def test_the_first_cases_of_a_year_registered_at_once_all_get_numbers(
        engine: Engine) -> None:
    ctx = world(engine)
    errors: list[str] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def register(year: int, racer: int, start: threading.Barrier) -> None:
        when = dt.datetime(year, 6, 1, 9, tzinfo=SHANGHAI)
        data = complaint(title=f"{year}年第{racer}件", received_at=when)
        start.wait()
        try:
            number = CaseService(ctx).register(data, actor=CLERK).case.number
        except Exception as exc:  # noqa: BLE001  (counted: any error here is the bug)
            with lock:
                errors.append(f"{year}: {type(exc).__name__}")
            return
        with lock:
            numbers.append(number)

    for year in YEARS:
        start = threading.Barrier(RACERS)
        threads = [threading.Thread(target=register, args=(year, r, start)) for r in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(set(numbers)) == len(YEARS) * RACERS
