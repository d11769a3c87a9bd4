"""Benchmark of the self-assessment import at national scale: one CSV of N units × 91 sub-criteria
(default 10,000 units: 910,000 score rows) through the real import flow — every row checked (codes,
scores, metrics, evidence references and their dates), then written with the audit events and the
evidence registry, in one transaction.

Target (2-core machine): ≤ 20 s. The last line of stdout is one JSON object (`rows`, `import_s`, …).

    .venv/bin/python bench/import.py
    .venv/bin/python bench/import.py --units 1000
    .venv/bin/python bench/import.py --database-url postgresql   # a fresh PostgreSQL database, dropped after

`--database-url` and the fields every bench prints (`db`, `wall_s`, `cpu_s`, `loadavg_start`, `loadavg_end`):
bench/measure.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cchc.flows.runtime import configure_prefect  # noqa: E402  (no prefect import here)

configure_prefect()

from measure import Measure, add_database_args, at, fresh_database  # noqa: E402  (bench/measure.py)


def run(units: int, url: str, work: Path) -> dict[str, Any]:
    from cchc.config.settings import get_settings
    from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
    from cchc.flows.demo.synthetic import synthetic_org, unit_code, unit_rows, write_csv
    from cchc.flows.lookup import actor_for
    from cchc.flows.org import write_org
    from cchc.flows.params import AdvanceParams, ImportParams, OpenCycleParams
    from cchc.flows.runtime import local_flow_runs
    from cchc.flows.selfassessment import import_self_assessment_flow
    from cchc.models.db import get_engine, write_session
    from cchc.models.framework import framework_path, load_framework
    from cchc.models.migrate import upgrade

    engine = get_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        write_org(session, synthetic_org(units), actor_for(session, None, task="bench"), at("01/06/2021"), "bench")
    framework = load_framework(framework_path(get_settings().config_dir, "cah-2021"))
    csv_path = work / "self-assessment.csv"
    start = time.perf_counter()
    rows = write_csv(
        csv_path,
        (
            row
            for i in range(1, units + 1)
            for row in unit_rows(framework, unit_code(i), 0.7 + (i * 7919 % 1000) / 1000 * 0.28, not_applicable=0.02)
        ),
    )
    csv_s = time.perf_counter() - start
    with local_flow_runs():
        open_cycle_flow(OpenCycleParams(year=2021, database_url=url, actor="coord", at=at("25/06/2021")))
        advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor="coord", at=at("15/07/2021")))
        start = time.perf_counter()
        summary = import_self_assessment_flow(
            ImportParams(path=str(csv_path), year=2021, database_url=url, actor="coord", at=at("20/08/2021"))
        )
        import_s = time.perf_counter() - start
    assert summary.rows == rows and summary.changed_rows == rows, (summary.rows, summary.changed_rows, rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  {rows} rows ({csv_path.stat().st_size / 1_048_576:.0f} MiB) imported in {import_s:.2f} s "
        f"= {rows / import_s:,.0f} rows/s; peak {peak:.0f} MiB",
        flush=True,
    )
    return {
        "units": units,
        "rows": rows,
        "import_s": round(import_s, 3),
        "rows_per_s": round(rows / import_s),
        "csv_s": round(csv_s, 2),
        "peak_mib": round(peak, 1),
        "db": engine.dialect.name,
        "targets_met": {"import_s": import_s <= 20},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    add_database_args(parser)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cchc-bench-import-"))
    try:
        with (
            Measure(since_start=True) as whole,
            fresh_database(args.database_url, work, "cchc_bench_import", args.keep) as url,
        ):
            print(f"cchc bench import: {args.units} units, {url}", flush=True)
            figures = run(args.units, url, work)
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({**figures, **whole.figures(url)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
