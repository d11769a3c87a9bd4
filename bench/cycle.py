"""Benchmark of one whole 2021 cycle of a synthetic organisation through the real Prefect flows.

What it measures: N assessed units (default 10,000; each on the `cah-2021` framework, 91 sub-criteria,
so 910,000 score rows) go through open → advance → import → submit → advance → appraise → move on →
publish. Each step is one flow call (or `change_units`) timed with a monotonic clock; the script prints
the seconds of each step, the total of the timed steps, the wall time of the whole script and the peak
memory of this process. Targets (2-core machine): total ≤ 60 s, publish ≤ 5 s, peak ≤ 1 GiB.

Not timed as steps (set-up, reported apart): creating the schema, writing the organisation
(`org_s`), generating the self-assessment CSV (`csv_s`) and starting Prefect's temporary server
(`prefect_start_s`, one trivial flow run before anything is timed). Flows run inside
`flows.runtime.local_flow_runs()` (no heartbeat thread), as the CLI runs them.

Peak memory is this process's peak RSS (`ru_maxrss`). Prefect's temporary API server is a separate
process and is NOT counted. On Linux the peak of each step is also given (`step_peak_mib`: the RSS
high-water mark is reset before each step through /proc/self/clear_refs).

Run from a fresh clone after `make setup`:

    .venv/bin/python bench/cycle.py                    # 10,000 units, a fresh SQLite file, deleted after
    .venv/bin/python bench/cycle.py --units 1000 --keep
    .venv/bin/python bench/cycle.py --database-url postgresql   # a fresh PostgreSQL database, dropped after
    .venv/bin/python bench/cycle.py --units 1000 --profile /tmp/prof   # one cProfile file per step

`--database-url` (a fresh SQLite file, `postgresql` for a fresh database on the local server, or the URL of
an empty database, of which nothing is dropped): bench/measure.py. The last line of stdout is one JSON object
of the figures, with those every bench prints (`db`, `wall_s`, `cpu_s`, `loadavg_start`, `loadavg_end`).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

STARTED = time.perf_counter()

# Runnable as `python bench/cycle.py` from the repository without installing it either.

from cchc.flows.runtime import configure_prefect  # noqa: E402  (no prefect import here)

configure_prefect()  # before prefect or any flows module is imported

from measure import Measure, add_database_args, at, fresh_database  # noqa: E402  (bench/measure.py)

from cchc.config.settings import get_settings  # noqa: E402
from cchc.flows.demo.synthetic import synthetic_org, unit_code  # noqa: E402

YEAR = 2021
FRAMEWORK = "cah-2021"
COORDINATOR = "coord"
APPRAISER = "appr"
T = TypeVar("T")


def quality_of(i: int) -> float:
    """How well unit i really did: spread over 0.70..0.98 so that classes and ranks vary."""
    return 0.70 + (i * 7919 % 1000) / 1000 * 0.28


# --- measuring ------------------------------------------------------------------------------------


def peak_mib() -> float:
    """Peak RSS of this process so far (ru_maxrss is KiB on Linux). The Prefect server is another process."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_step_peak() -> bool:
    """Reset the RSS high-water mark (Linux ≥ 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _step_peak_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Clock:
    """Times named steps; optionally writes one cProfile file per step."""

    def __init__(self, profile_dir: Path | None) -> None:
        self.seconds: dict[str, float] = {}
        self.step_peak: dict[str, float] = {}
        self.peak = 0.0
        self.profile_dir = profile_dir
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)

    def run(self, name: str, fn: Callable[[], T]) -> T:
        gc.collect()
        self.note_peak()  # resetting the high-water mark below also resets ru_maxrss: keep it first
        can_reset = _reset_step_peak()
        profiler = cProfile.Profile() if self.profile_dir is not None else None
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            result = fn()
        finally:
            if profiler is not None:
                profiler.disable()
        self.seconds[name] = round(time.perf_counter() - start, 3)
        if profiler is not None and self.profile_dir is not None:
            profiler.dump_stats(self.profile_dir / f"{name}.prof")
        hwm = _step_peak_mib() if can_reset else None
        if hwm is not None:
            self.step_peak[name] = round(hwm, 1)
        print(f"  {name:<18} {self.seconds[name]:8.2f} s", flush=True)
        return result

    def note_peak(self) -> float:
        """The process's peak RSS so far, over every reset of the high-water mark."""
        self.peak = max(self.peak, peak_mib(), *self.step_peak.values())
        return self.peak


# --- the run --------------------------------------------------------------------------------------


def _rows(framework: Any, units: int) -> Iterator[list[str]]:
    from cchc.flows.demo.synthetic import unit_rows

    for i in range(1, units + 1):
        yield from unit_rows(framework, unit_code(i), quality_of(i), missing_evidence=0.0, not_applicable=0.02)


def _count(url: str, sql: str) -> int:
    from sqlalchemy import text

    from cchc.models.db import get_engine, read_session

    with read_session(get_engine(url)) as session:
        return int(session.execute(text(sql)).scalar_one())


def run(units: int, url: str, work: Path, profile_dir: Path | None) -> dict[str, Any]:
    from cchc.models.db import get_engine, write_session
    from cchc.models.migrate import upgrade

    clock = Clock(profile_dir)
    setup: dict[str, float] = {}

    start = time.perf_counter()
    engine = get_engine(url)
    upgrade(engine)
    if _count(url, "SELECT COUNT(*) FROM cycle"):
        raise SystemExit(f"{engine.url.render_as_string()} already holds a cycle: give an empty database")
    setup["schema_s"] = time.perf_counter() - start

    from cchc.flows.lookup import actor_for
    from cchc.flows.org import write_org

    start = time.perf_counter()
    org = synthetic_org(units)
    with write_session(engine) as session:
        write_org(session, org, actor_for(session, None, task="bench"), at("01/06/2021"), "bench")
    setup["org_s"] = time.perf_counter() - start

    from cchc.flows.demo.synthetic import write_csv
    from cchc.models.framework import framework_path, load_framework

    start = time.perf_counter()
    framework = load_framework(framework_path(get_settings().config_dir, FRAMEWORK))
    sheet = work / "tu-cham-diem-2021.csv"
    rows = write_csv(sheet, _rows(framework, units))
    setup["csv_s"] = time.perf_counter() - start

    # Start Prefect (import + temporary server) before timing anything.
    start = time.perf_counter()
    from prefect import flow

    from cchc.flows.runtime import local_flow_runs

    @flow(name="bench-warm-up")
    def warm_up() -> int:
        return 1

    with local_flow_runs():
        warm_up()
    setup["prefect_start_s"] = time.perf_counter() - start
    print(
        f"set-up: schema {setup['schema_s']:.2f} s, org {setup['org_s']:.2f} s, csv {setup['csv_s']:.2f} s "
        f"({rows} rows), prefect start {setup['prefect_start_s']:.2f} s",
        flush=True,
    )

    from cchc.flows.appraisal import appraise_flow
    from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
    from cchc.flows.params import (
        AdvanceParams,
        AppraiseParams,
        ImportParams,
        OpenCycleParams,
        PublishParams,
        SubmitParams,
    )
    from cchc.flows.publication import publish_flow
    from cchc.flows.selfassessment import import_self_assessment_flow
    from cchc.flows.submission import change_units, submit_flow

    with local_flow_runs():
        opened = clock.run(
            "open",
            lambda: open_cycle_flow(
                OpenCycleParams(year=YEAR, database_url=url, actor=COORDINATOR, at=at("25/06/2021"))
            ),
        )
        assert opened.assessments == units, opened.assessments
        clock.run(
            "advance_self",
            lambda: advance_cycle_flow(
                AdvanceParams(year=YEAR, database_url=url, actor=COORDINATOR, at=at("15/07/2021", "17:00"))
            ),
        )
        imported = clock.run(
            "import",
            lambda: import_self_assessment_flow(
                ImportParams(path=str(sheet), year=YEAR, database_url=url, actor=COORDINATOR, at=at("20/08/2021"))
            ),
        )
        assert imported.changed_rows == rows, (imported.changed_rows, rows)
        submitted = clock.run(
            "submit",
            lambda: submit_flow(
                SubmitParams(year=YEAR, units=[], database_url=url, actor=COORDINATOR, at=at("25/08/2021", "16:00"))
            ),
        )
        assert len(submitted.moved) == units and not submitted.refused, submitted.refused[:3]
        clock.run(
            "advance_appraisal",
            lambda: advance_cycle_flow(
                AdvanceParams(year=YEAR, database_url=url, actor=COORDINATOR, at=at("01/09/2021", "08:00"))
            ),
        )
        appraised = clock.run(
            "appraise",
            lambda: appraise_flow(AppraiseParams(year=YEAR, database_url=url, actor=APPRAISER, at=at("04/09/2021"))),
        )
        assert len(appraised.appraised) == units and not appraised.refused, appraised.refused[:3]
        moved = clock.run(
            "skip_supplement",
            lambda: change_units(
                url, YEAR, "skip_supplement", [], APPRAISER, at("07/09/2021", "11:00"), states=["appraised"]
            ),
        )
        assert len(moved.moved) == units, len(moved.moved)
        published = clock.run(
            "publish",
            lambda: publish_flow(PublishParams(year=YEAR, database_url=url, actor=COORDINATOR, at=at("10/12/2021"))),
        )
        assert len(published.units_published) == units, len(published.units_published)

    s = clock.seconds
    figures: dict[str, Any] = {
        "units": units,
        "subcriteria": len(framework.subcriteria),
        "rows": rows,
        "db": engine.dialect.name,
        "open_s": s["open"],
        "advance_s": round(s["advance_self"] + s["advance_appraisal"], 3),
        "import_s": s["import"],
        "submit_s": s["submit"],
        "appraise_s": s["appraise"],
        "skip_s": s["skip_supplement"],
        "publish_s": s["publish"],
        "total_s": round(sum(s.values()), 3),
        "peak_mib": round(clock.note_peak(), 1),
        "steps_s": s,
        "step_peak_mib": clock.step_peak,
        "setup_s": {k: round(v, 3) for k, v in setup.items()},
        "wall_s": round(time.perf_counter() - STARTED, 3),
        "changed_scores": appraised.changed_scores,
        "audit_events": _count(url, "SELECT COUNT(*) FROM audit_event"),
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--units", type=int, default=10_000, help="assessed units (default 10,000)")
    add_database_args(parser)
    parser.add_argument("--profile", type=Path, default=None, help="write <DIR>/<step>.prof (cProfile) per step")
    args = parser.parse_args(argv)
    if args.units < 1:
        parser.error("--units must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="cchc-bench-"))
    try:
        with (
            Measure(since_start=True) as whole,
            fresh_database(args.database_url, work, "cchc_bench_cycle", args.keep) as url,
        ):
            print(f"cchc bench: {args.units} units, {url}, work dir {work}", flush=True)
            figures = run(args.units, url, work, args.profile)
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    targets = {
        "total_s": (figures["total_s"], 60.0),
        "publish_s": (figures["publish_s"], 5.0),
        "peak_mib": (figures["peak_mib"], 1024.0),
    }
    figures["targets_met"] = {k: v <= limit for k, (v, limit) in targets.items()}
    for key, (value, limit) in targets.items():
        print(f"{key:<10} {value:10.2f}  (target ≤ {limit:g}) {'ok' if value <= limit else 'MISSED'}", flush=True)
    print(json.dumps({**figures, **whole.figures(url)}), flush=True)
    return 0  # a measurement, not a test: missed targets are reported, not failed


if __name__ == "__main__":
    raise SystemExit(main())
