"""Search and list pages over many cases: the server time of `reading.case_page` (the page and its
total) for the searches a desk makes, on SQLite and PostgreSQL.

Builds N cases (default a million) with Chinese titles, summaries and complainants, and the
handling reports of the reported and closed ones (55 %: each a second row of its case in the
index), by Core bulk insert with the search index's triggers dropped, fills the index in one
statement and puts the triggers back (models/search.py), then times, median of several runs:

    search_keyword         a 4-character keyword, a province dispatcher
    search_filters         the keyword with state, category and a received-date range
    search_phone           a complainant's whole phone number, a dispatcher (may see identity)
    search_short           a 2-character word in ~1 case in 10 (below the trigram length)
    search_char            a 1-character word (水) in ~1 case in 9
    search_rare            a 2-character word (冒领) in 1 case in 10,000
    search_none            a 2-character word in no case
    search_phrase          a 6-character phrase (影响正常生活) in about 1 case in 4
    search_page100         page 100 sorted by received date, newest first, no text
    search_range           no text: the cases received since 2022 (two thirds), in work order
    search_category        no text: one category (one case in nine), in work order
    search_uncoloured      no text: the cases that show no warning colour (closed ones, most of
                           them; the open ones not yet near their deadline), in work order
    search_yellow          no text: the cases due within the yellow warning's working days
    search_subject         no text: the cases complaining about one unit (城关区人民政府, ~1,600)
    search_subjectchar     水 in those cases
    search_categorychar    水 in one category (water): a common word and a broad filter
    search_monthchar       水 in the cases received in the last month (December 2023)
    search_rangephrase     the phrase in the cases received since 2022 (two thirds)
    search_yearphrase      the phrase in the cases received in the last twelve months (from
                           2023-02-01: as many months as a search asks the index's keys for at
                           once, search.MONTH_KEYS)
    search_widephrase      the phrase in the cases received since 2023 (13 months: one more)
    search_uncolouredphrase  the phrase in the list of no colour (a common word, a common colour)
    search_yellowchar      水 in the list of yellow cases (a common word, a colour of few cases)
    search_words           水 and the phrase, two words apart (each in the case, in any of its
                           texts: the longer looked up, the other tested of each case found)
    search_keywordwords    the keyword and the phrase, two words apart
    county_* / city_* /    the keyword, the phrase, the short, 1-character and rare words, the
    smallcity_*            range, the category and the colours again, asked by a county's
                           dispatcher (~2 % of the cases in scope), the dispatcher of the city
                           whose region holds the
                           most cases (~18 %: its offices' and its units' cases) and of the one
                           whose offices received the fewest (~2 %): readers whose scope holds
                           few of a word's matches

With --sweep, each reader then asks every word of SWEEP_WORDS (and none) with every filter of
SWEEP_FILTERS, the shapes a desk can combine beyond those named: each over the goal is printed,
and each reader's worst is a figure (`<reader>_sweepworst`, the shape in its note).

Usage: python -m bench.search_bench [--cases N] [--database URL] [--runs N] [--sweep]
(a database that holds the cases of an earlier run is measured again without building it again)
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect, text
from sqlmodel import Session

from bench.common import backend_of, emit, memory_mb
from duban.cli.bench import SEARCH_GOAL
from duban.clock import SHANGHAI, SimulatedClock, parse_local
from duban.db import create_all, make_engine
from duban.demo.orgs import load_orgs
from duban.migrations import search_0025
from duban.models import Case, Complainant, HandlingReport, Subject
from duban.models import search as index
from duban.models.case import WORK_ORDER_DDL
from duban.services import Actor, ServiceContext
from duban.services.orgs import install_orgs
from duban.services.queries import scope_for
from duban.services.reading import case_page
from duban.services.search import CaseQuery, narrow

CHUNK = 20_000
UTC = dt.UTC
START = dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)
SPAN = 3 * 365 * 86400
PLACES = ["城关区", "七里河区", "安宁区", "西固区", "榆中县", "皋兰县", "永登县", "红古区",
          "临夏市", "天水市秦州区", "武威市凉州区", "张掖市甘州区", "酒泉市肃州区", "庆阳市西峰区",
          "定西市安定区", "陇南市武都区"]
WHERE = ["某小区", "某村", "某街道", "某学校", "某医院", "某工地", "某市场", "某企业", "某社区", "某路段"]
# A problem is an object and what is wrong with it: 20 × 12 phrases, so a keyword naming both is in
# about one case in 200 (title or summary), and an object alone (2 characters) in one in ten.
OBJECTS = ["噪音", "供暖", "饮水", "道路", "垃圾", "物业", "医保", "入学", "电梯", "停车", "工资", "工程款",
           "补贴", "征地", "排污", "路灯", "燃气", "公交", "农贸市场", "办证"]
ISSUES = ["问题长期未解决", "投诉无人处理", "收费不合理", "久拖不办", "标准不达标", "影响周边居民",
          "部门互相推诿", "整改不到位", "存在安全隐患", "服务态度差", "信息不公开", "反复出现"]
PROBLEMS = [o + i for o in OBJECTS for i in ISSUES]
KEYWORD, SHORT, CHAR, RARE, NONE = "电梯存在安全隐患", "噪音", "水", "冒领", "冰雹"
PHRASE = "影响正常生活"  # one of MORE: in about one summary in four
SUBJECT = "城关区人民政府"  # a unit complained about: its subjects are named by its code, found by its name
# Every RARE_EVERY-th case's summary ends with RARE_NOTE: a word in very few cases.
RARE_EVERY, RARE_NOTE = 10_000, "另反映有人冒领补贴。"
MORE = ["多次反映未解决", "影响正常生活", "请求尽快处理", "涉及群众二十余户", "已持续三个月", "相关部门推诿",
        "希望督促落实", "反映人情绪激动"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英志强海燕丽娟国华红梅文静玉兰德明桂芳"
STATES = [("received", 5), ("transferred", 40), ("reported", 10), ("closed", 45)]
# A reported or closed case has its handling report: a row of its own in the index (models/search.py),
# naming the object of the complaint again (饮水: 水 in one report in twenty) and what was done.
REPORTED_STATES = ("reported", "closed")
RESULTS = ["已整改到位", "已协调相关部门解决", "群众表示满意", "正在推进整改", "已督促责任单位限期办结",
           "部分属实，已责令整改"]
CATEGORIES = ["arrears", "water", "construction", "inaction", "business", "housing", "environment",
              "livelihood", "other"]


def populate(engine: Any, n: int, seed: int = 11) -> tuple[float, str]:
    """N cases with complainants and subjects, and the reported and closed ones' handling reports;
    returns the seconds taken and one case's phone."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        orgs = conn.execute(text("select id, code, kind, level from orgs")).all()
    offices = [o for o in orgs if o.kind == "office"]
    units = [o for o in orgs if o.kind in ("government", "department", "bureau")]
    started = time.perf_counter()
    with engine.begin() as conn:
        index.drop_triggers(conn)
        if conn.dialect.name == "postgresql":
            index.drop_indexes(conn)
    phone = ""
    for first in range(1, n + 1, CHUNK):
        cases, people, subjects, reports = [], [], [], []
        for cid in range(first, min(first + CHUNK, n + 1)):
            office, unit = rng.choice(offices), rng.choice(units)
            state = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES])[0]
            title = f"{rng.choice(PLACES)}{rng.choice(WHERE)}{rng.choice(PROBLEMS)}"
            summary = "，".join([title, rng.choice(MORE), rng.choice(MORE)]) + "。"
            if cid % RARE_EVERY == 0:
                summary += RARE_NOTE
            number = f"{office.code}-S{cid:07d}"
            person_phone = f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}"
            if cid == n // 2:
                phone = person_phone
            people.append({"id": cid, "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                           "phone": person_phone})
            subjects.append({"id": cid, "name": unit.code, "kind": "unit", "org_id": unit.id})
            received = (START + dt.timedelta(seconds=SPAN * cid / n)).astimezone(UTC)
            days = dt.timedelta(days=rng.randint(5, 60))
            deadline = None if state == "closed" else (received + days).date()
            cases.append({
                "id": cid, "number": number, "title": title, "summary": summary,
                "title_redacted": title, "summary_redacted": summary,
                "category": rng.choice(CATEGORIES), "channel": "phone", "priority": "normal",
                "office_id": office.id, "level": office.level, "state": state,
                "disposition": None if state == "received" else "transfer",
                "unit_id": None if state == "received" else unit.id, "subject_id": cid, "complainant_id": cid,
                "priority_rank": 2, "matter_key": "", "received_at": received, "updated_at": received,
                "closed_at": received + dt.timedelta(days=20) if state == "closed" else None,
                "deadline_kind": None if deadline is None else "handling", "deadline_on": deadline,
                "deadline_provisional": False, "extension_days": 0, "return_count": 0, "repeat_count": 0,
                "version": 1, "audit_seq": 0, "audit_hash": "0" * 64,
            })
            if state in REPORTED_STATES:
                report = f"经核查，{rng.choice(OBJECTS)}问题{rng.choice(RESULTS)}。"
                reports.append({"id": cid, "case_id": cid, "unit_id": unit.id, "kind": "final",
                                "text": report, "text_redacted": report, "finding": "true",
                                "submitted_by": "承办单位", "submitted_at": received + dt.timedelta(days=10)})
        with engine.begin() as conn:
            conn.execute(insert(Complainant), people)
            conn.execute(insert(Subject), subjects)
            conn.execute(insert(Case), cases)
            conn.execute(insert(HandlingReport), reports)
        if (first - 1 + CHUNK) % 200_000 == 0:
            print(f"  {first - 1 + CHUNK:>9,} cases  {time.perf_counter() - started:6.1f} s", flush=True)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # ids were given: move the sequences on
            for table in ("cases", "complainants", "subjects", "handling_reports"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        index.rebuild(conn)
        print(f"  index filled  {time.perf_counter() - started:6.1f} s", flush=True)
        index.install(conn)  # the GIN indexes (PostgreSQL) and the triggers again
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started, phone


def server_cpu(engine: Any) -> float:
    """CPU seconds used so far by this process and, on PostgreSQL, by the server's backends of its
    database (read from /proc: the server runs on this machine). On a shared machine the wall
    time says as much about the neighbours as about the query; the CPU time does not."""
    used = time.process_time()
    if engine.dialect.name != "postgresql":
        return used
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                 )).scalars().all()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def timed(ctx: ServiceContext, actor: Actor, params: dict[str, Any],
          runs: int) -> tuple[float, float, int, bool]:
    """Median wall and CPU seconds of one page and its total."""
    with Session(ctx.engine) as session:
        scope = scope_for(session, actor)
    flt = narrow(scope, CaseQuery.parse(params), ctx.orgs)
    times, cpu, page = [], [], None
    for _ in range(runs):
        started, used = time.perf_counter(), server_cpu(ctx.engine)
        page = case_page(ctx, flt, actor=actor)
        times.append(time.perf_counter() - started)
        cpu.append(server_cpu(ctx.engine) - used)
    assert page is not None
    return statistics.median(times), statistics.median(cpu), page.total, page.capped


def _regional_dispatchers(engine: Any) -> dict[str, Actor]:
    """A dispatcher of the county office holding the most cases, and of the city offices whose
    region's offices (it and its counties) received the most and the fewest."""
    cities = ("SELECT o.id FROM orgs o JOIN orgs r ON (r.code = o.code OR r.code LIKE o.code || '-%') "
              "JOIN cases c ON c.office_id = r.id WHERE o.kind = 'office' AND o.level = 'city' "
              "GROUP BY o.id ORDER BY count(*) {} LIMIT 1")
    with engine.connect() as conn:
        county = conn.execute(text(
            "SELECT o.id FROM orgs o JOIN cases c ON c.office_id = o.id WHERE o.kind = 'office' "
            "AND o.level = 'county' GROUP BY o.id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        city = conn.execute(text(cities.format("DESC"))).scalar_one()
        small = conn.execute(text(cities.format("ASC"))).scalar_one()
    return {"county": Actor(name="bench", role="dispatcher", org_id=county),
            "city": Actor(name="bench", role="dispatcher", org_id=city),
            "smallcity": Actor(name="bench", role="dispatcher", org_id=small)}


Shape = dict[str, str]  # a list's parameters, as a face passes them
# The sweep's words and filters (--sweep): a common phrase, a 1-character word, a 2-character
# one, a keyword; states, colours, categories, channels, ranges of a few months to two years.
SWEEP_WORDS = (None, PHRASE, CHAR, SHORT, KEYWORD)
SWEEP_FILTERS: tuple[Shape, ...] = (
    {}, {"category": "water"}, {"channel": "phone"}, {"received_from": "2023-06-01"},
    {"received_from": "2023-02-01"}, {"received_from": "2022-01-01"},
    {"received_from": "2023-01-01", "received_to": "2023-06-30"}, {"state": "closed"},
    {"state": "transferred"}, {"sort": "-received"}, {"warning": "none"}, {"warning": "yellow"},
    {"category": "water", "received_from": "2023-01-01"})
GOAL_SECONDS = SEARCH_GOAL[0].value  # issue 15: a page and its total


def sweep(ctx: ServiceContext, readers: dict[str, Actor], runs: int) -> dict[str, tuple[float, Shape]]:
    """Each reader's worst median over the sweep's shapes, and that shape; the shapes over the
    goal printed as they are measured."""
    worst: dict[str, tuple[float, Shape]] = {}
    for name, actor in readers.items():
        for word, filters in itertools.product(SWEEP_WORDS, SWEEP_FILTERS):
            params = {**filters, **({"text": word} if word else {})}
            median, cpu, total, capped = timed(ctx, actor, params, runs)
            if median > GOAL_SECONDS:
                print(f"  sweep {name:<9} {median * 1000:8.1f} ms  cpu {cpu * 1000:7.1f} ms  {params} "
                      f"({total}{'+' if capped else ''} found)", flush=True)
            if name not in worst or median > worst[name][0]:
                worst[name] = (median, params)
    return worst


def measure(url: str, cases: int, runs: int, *, swept: bool = False) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:  # before create_all, which makes the index's tables if missing
        current_before = not inspect(conn).has_table("cases") or index.is_current(conn)
    create_all(engine)
    with engine.connect() as conn:
        have = conn.execute(text("select count(*) from cases")).scalar() or 0
    if have:  # a database this script filled before: measure again without building it again
        cases = have
        with engine.connect() as conn:
            phone = conn.execute(text("select phone from complainants where id = :i"),
                                 {"i": have // 2}).scalar()
        print(f"reusing {have:,} cases in {engine.url.render_as_string()}", flush=True)
        with engine.begin() as conn:
            conn.execute(text(WORK_ORDER_DDL))  # a database built before migrations 0027 / 0028
            if not current_before:  # built before migration 0030: what 0026 and 0030 do
                started = time.perf_counter()
                search_0025.uninstall(conn)
                index.uninstall(conn)
                index.install(conn)
                index.rebuild(conn)
                conn.execute(text("ANALYZE"))
                took = time.perf_counter() - started
                print(f"  index rebuilt, a row per source with its regions  {took:6.1f} s", flush=True)
    else:
        install_orgs(engine, load_orgs())
        print(f"generating {cases:,} cases into {engine.url.render_as_string()}", flush=True)
        seconds, phone = populate(engine, cases)
        emit("search_generate", seconds, "s", peak_mb=memory_mb(), backend=backend_of(url), cases=cases)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2024-01-05 09:00")))
    with engine.connect() as conn:
        province = conn.execute(text("select id from orgs where kind = 'office' and level = 'province'")
                                ).scalar()
    dispatcher = Actor(name="bench", role="dispatcher", org_id=province)
    readers = {"search": dispatcher, **_regional_dispatchers(engine)}
    searches: dict[str, dict[str, Any]] = {
        "search_keyword": {"text": KEYWORD},
        "search_filters": {"text": KEYWORD, "state": "transferred", "received_from": "2022-01-01",
                           "received_to": "2022-12-31"},
        "search_phone": {"text": phone},
        "search_short": {"text": SHORT},
        "search_char": {"text": CHAR},
        "search_rare": {"text": RARE},
        "search_none": {"text": NONE},
        "search_phrase": {"text": PHRASE},
        "search_page100": {"sort": "-received", "page": "100"},
        "search_range": {"received_from": "2022-01-01"},
        "search_category": {"category": "water"},
        "search_uncoloured": {"warning": "none"},
        "search_yellow": {"warning": "yellow"},
        "search_subject": {"subject": SUBJECT},
        "search_subjectchar": {"text": CHAR, "subject": SUBJECT},
        "search_categorychar": {"text": CHAR, "category": "water"},
        "search_monthchar": {"text": CHAR, "received_from": "2023-12-01"},
        "search_rangephrase": {"text": PHRASE, "received_from": "2022-01-01"},
        "search_yearphrase": {"text": PHRASE, "received_from": "2023-02-01"},
        "search_widephrase": {"text": PHRASE, "received_from": "2023-01-01"},
        "search_uncolouredphrase": {"text": PHRASE, "warning": "none"},
        "search_yellowchar": {"text": CHAR, "warning": "yellow"},
        "search_words": {"text": f"{CHAR} {PHRASE}"},
        "search_keywordwords": {"text": f"{KEYWORD} {PHRASE}"},
    }
    for level in ("county", "city", "smallcity"):
        for shape in ("keyword", "phrase", "short", "char", "rare", "range", "category", "uncoloured",
                      "yellow", "subject", "subjectchar", "categorychar", "monthchar", "rangephrase",
                      "yearphrase", "widephrase", "uncolouredphrase", "yellowchar", "words", "keywordwords"):
            searches[f"{level}_{shape}"] = searches[f"search_{shape}"]
    for figure, params in searches.items():
        median, cpu, total, capped = timed(ctx, readers[figure.split("_")[0]], params, runs)
        assert figure != "search_phone" or total >= 1, "the phone of a stored case was not found"
        print(f"  {figure:<18} {median * 1000:8.1f} ms  cpu {cpu * 1000:7.1f} ms  "
              f"({total}{'+' if capped else ''} found)  load {os.getloadavg()[0]:.1f}", flush=True)
        emit(figure, median, "s", peak_mb=memory_mb(), backend=backend_of(url), cases=cases,
             found=total, capped=capped, cpu_ms=round(cpu * 1000, 1), load=round(os.getloadavg()[0], 1))
    if swept:
        shapes = len(SWEEP_WORDS) * len(SWEEP_FILTERS)
        print(f"sweep: {shapes} shapes for each of {len(readers)} readers, those over "
              f"{GOAL_SECONDS * 1000:.0f} ms", flush=True)
        for name, (median, params) in sweep(ctx, readers, runs).items():
            emit(f"{name}_sweepworst", median, "s", peak_mb=memory_mb(), backend=backend_of(url),
                 cases=cases, shapes=shapes, note=f"{params}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database",
                        help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    parser.add_argument("--sweep", action="store_true",
                        help="then every word of SWEEP_WORDS with every filter of SWEEP_FILTERS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-search-bench-") as tmp:
        measure(args.database or f"sqlite:///{Path(tmp) / 'search.db'}", args.cases, args.runs,
                swept=args.sweep)


if __name__ == "__main__":
    main()
