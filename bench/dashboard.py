"""Benchmark of the dashboard: the server time of the overview of a cycle of 10,000 units.

The cycle is built through the real flows, quickly: N assessed units (default 10,000), each with a head and
a focal officer (`synthetic_org`), the 2021 cycle opened and moved to self-assessment; every unit but one
in ten has sent its plan; `--scored` units (default 1,000) import their self-assessment and half of those
report it. Then the deadline sweep runs as of 05/09/2021 09:00, five days after the submission deadline:
every unit that has not reported is escalated to the top of the ladder, so the overview has ~10,000 overdue
items with their escalation level, ~30,000 chase steps and ~60,000 e-mails in the outbox to summarise.

What it measures: a coordinator's GET of the overview (`/cycles/2021`) through Starlette's TestClient,
`--runs` times after one warm-up request: the median and the maximum (the server's whole work: the
session, every query, the rendering). Also the median of the overview's CSV export of the overdue items
(all of them), of a unit's page and of the first page of the audit search. Target: overview ≤ 1 s.

    .venv/bin/python bench/dashboard.py                  # 10,000 units, a fresh SQLite file, deleted after
    .venv/bin/python bench/dashboard.py --units 1000 --runs 5
    .venv/bin/python bench/dashboard.py --database-url postgresql   # a fresh PostgreSQL database, dropped after

`--database-url` (a fresh SQLite file, `postgresql` for a fresh database on the local server, or the URL of
an empty database): bench/measure.py. The last line of stdout is one JSON object of the figures, with those
every bench prints (`db`, `wall_s`, `cpu_s`, `loadavg_start`, `loadavg_end`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from cchc.flows.runtime import configure_prefect  # noqa: E402  (no prefect import here)

configure_prefect()

from measure import Measure, add_database_args, fresh_database  # noqa: E402  (bench/measure.py)
from sweep import at  # noqa: E402  (bench/sweep.py: a moment of the 2021 calendar)

PASSWORD = "bench password 2021"
COORDINATOR = "coord"


def build(units: int, scored: int, url: str, work: Path) -> dict[str, Any]:
    """The cycle, through the flows (timed as set-up, not measured)."""
    from cycle import quality_of  # bench/cycle.py: how well unit i did
    from sqlalchemy import text

    from cchc.config.settings import get_settings
    from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
    from cchc.flows.demo.synthetic import synthetic_org, unit_code, unit_rows, write_csv
    from cchc.flows.lookup import actor_for
    from cchc.flows.org import write_org
    from cchc.flows.params import AdvanceParams, ImportParams, OpenCycleParams, SubmitParams, SweepParams
    from cchc.flows.selfassessment import import_self_assessment_flow
    from cchc.flows.submission import submit_flow
    from cchc.flows.sweep import sweep_flow
    from cchc.flows.web.auth import set_password
    from cchc.models.db import get_engine, write_session
    from cchc.models.framework import framework_path, load_framework
    from cchc.models.migrate import upgrade

    figures: dict[str, Any] = {}
    start = time.perf_counter()
    engine = get_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        write_org(
            session,
            synthetic_org(units, unit_people=True),
            actor_for(session, None, task="bench"),
            at("01/06/2021", "08:00"),
            "bench",
        )
    open_cycle_flow(OpenCycleParams(year=2021, database_url=url, actor=COORDINATOR, at=at("25/06/2021", "09:00")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("15/07/2021", "17:00")))
    with engine.begin() as conn:  # nine units in ten sent their plan (set-up)
        conn.execute(
            text(
                "UPDATE assessment SET plan_ref = 'bench', plan_received_at = :t "
                "WHERE unit_id IN (SELECT id FROM unit WHERE code NOT LIKE '%0')"
            ),
            {"t": at("05/07/2021", "09:00")},
        )
    if scored:
        framework = load_framework(framework_path(get_settings().config_dir, "cah-2021"))
        sheet = work / "self.csv"
        write_csv(
            sheet, (row for i in range(1, scored + 1) for row in unit_rows(framework, unit_code(i), quality_of(i)))
        )
        import_self_assessment_flow(
            ImportParams(path=str(sheet), year=2021, database_url=url, actor=COORDINATOR, at=at("20/08/2021", "09:00"))
        )
        submit_flow(
            SubmitParams(
                year=2021,
                units=[unit_code(i) for i in range(1, scored + 1, 2)],
                database_url=url,
                actor=COORDINATOR,
                at=at("25/08/2021", "09:00"),
            )
        )
    swept = sweep_flow(SweepParams(year=2021, database_url=url, at=at("05/09/2021", "09:00")))
    set_password(url, COORDINATOR, PASSWORD, None, at("01/07/2021", "08:00"))
    figures["setup_s"] = round(time.perf_counter() - start, 2)
    figures["sweep_steps"] = len(swept.lines)
    figures["outbox"] = swept.messages
    return figures


def measure(runs: int, get: Callable[[], Any]) -> tuple[float, float]:
    """Median and maximum seconds of `runs` requests, after one warm-up."""
    get()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = get()
        seconds.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.status_code
    return statistics.median(seconds), max(seconds)


def run(units: int, scored: int, runs: int, url: str, work: Path) -> dict[str, Any]:
    from cchc.flows.runtime import local_flow_runs

    with local_flow_runs():
        figures: dict[str, Any] = {"units": units, "scored": scored, **build(units, scored, url, work)}
    print(f"set-up: {figures['setup_s']:.1f} s ({figures['sweep_steps']} chase steps, {figures['outbox']} e-mails)")

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient

    from cchc.flows.web.app import create_app, settle
    from cchc.flows.web.settings import DashboardSettings
    from cchc.models.db import get_engine

    figures["db"] = get_engine(url).dialect.name
    moment = at("05/09/2021", "10:00")
    app = create_app(url, settings=DashboardSettings(secret_key="b" * 40), clock=lambda: moment)
    settle()  # as `cchc dashboard` does once started
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        assert (
            client.post("/login", data={"username": COORDINATOR, "password": PASSWORD, "csrf_token": token}).status_code
            == 303
        )
        overview = client.get("/cycles/2021")
        assert 'id="overview"' in overview.text and 'id="table-overdue"' in overview.text
        figures["overview_bytes"] = len(overview.content)
        median, peak = measure(runs, lambda: client.get("/cycles/2021"))
        figures.update(overview_median_s=round(median, 3), overview_max_s=round(peak, 3), runs=runs)
        print(f"overview of {units} units: median {median:.3f} s, max {peak:.3f} s over {runs} runs", flush=True)
        export, _ = measure(max(1, runs // 2), lambda: client.get("/cycles/2021?format=csv&table=overdue"))
        unit, _ = measure(max(1, runs // 2), lambda: client.get("/cycles/2021/units/CAH-00001"))
        audit, _ = measure(max(1, runs // 2), lambda: client.get("/audit"))
        figures.update(
            overdue_csv_median_s=round(export, 3),
            unit_page_median_s=round(unit, 3),
            audit_page_median_s=round(audit, 3),
        )
        print(f"overdue CSV {export:.3f} s, unit page {unit:.3f} s, audit search {audit:.3f} s (medians)", flush=True)
    app.state.dashboard.jobs.shutdown()
    figures["targets_met"] = {"overview_max_s": figures["overview_max_s"] <= 1.0}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--scored", type=int, default=1_000, help="units that import a self-assessment")
    parser.add_argument("--runs", type=int, default=9, help="measured requests of the overview")
    add_database_args(parser)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cchc-bench-dashboard-"))
    try:
        with (
            Measure(since_start=True) as whole,
            fresh_database(args.database_url, work, "cchc_bench_dashboard", args.keep) as url,
        ):
            print(f"cchc bench dashboard: {args.units} units, {url}", flush=True)
            figures = run(args.units, min(args.scored, args.units), args.runs, url, work)
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({**figures, **whole.figures(url)}), flush=True)
    return 0  # a measurement, not a test: a missed target is reported, not failed


if __name__ == "__main__":
    raise SystemExit(main())
