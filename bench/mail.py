"""Benchmark of e-mail delivery: the outbox flushed to an SMTP server on loopback, against raw aiosmtplib.

What it measures, in one run:
1. `per_s`: N queued messages (default 5,000; real reminders: Vietnamese text and HTML, multipart, two
   recipients per unit sharing one context, as the deadline sweep queues them) flushed by the real flow
   (`flush_flow`: claim, render, build, send over reused SMTP connections, record each accepted message
   as sent) to an SMTP server on 127.0.0.1 (aiosmtpd, `LoopbackMailbox`) that runs in its own process,
   as a real server would. `cpu_s` is this process's CPU time over the flush.
2. `raw_per_s`: the reference, the wire's speed here and now: the same built messages sent by raw
   aiosmtplib over as many persistent connections (`CCHC_MAIL_CONCURRENCY`) to the same server, nothing
   rendered or recorded; measured once before and once after the flush (the mean is reported, the two
   are kept), so that `ratio` = per_s / raw_per_s compares like with like on a shared machine.

Target (2-core machine): per_s ≥ 800 on SQLite and PostgreSQL. The last line of stdout is one JSON object.

    .venv/bin/python bench/mail.py                                   # a fresh SQLite file, deleted after
    .venv/bin/python bench/mail.py --messages 2000 --profile /tmp/mail.prof
    .venv/bin/python bench/mail.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/cchc_bench_mail
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from cchc.flows.runtime import configure_prefect  # noqa: E402  (no prefect import here)

configure_prefect()

from measure import at, free_port  # noqa: E402  (bench/measure.py)

SINK = """
import sys
from cchc.notifications.sink import LoopbackMailbox
box = LoopbackMailbox(port=int(sys.argv[1])).start()
print("ready", flush=True)
for line in sys.stdin:
    print(box.count, flush=True)
box.stop()
"""


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


class Sink:
    """The loopback SMTP server in a process of its own; `count()` asks it how many it received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        assert self.stdout.readline().strip() == "ready"

    def count(self) -> int:
        self.stdin.write("\n")
        self.stdin.flush()
        return int(self.stdout.readline().strip())

    def stop(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=30)


def queue_reminders(url: str, messages: int, morning: datetime) -> None:
    """An organisation of messages/2 districts, each with a head and a focal officer, and one reminder
    step per district queued to both (one shared context), as the sweep writes them."""
    from cchc.flows.demo.synthetic import synthetic_org
    from cchc.flows.links import unit_link
    from cchc.flows.lookup import actor_for
    from cchc.flows.org import write_org
    from cchc.models.db import get_engine, write_session
    from cchc.models.migrate import upgrade
    from cchc.models.text import canonical
    from cchc.notifications.outbox import Queued, queue
    from cchc.states.labels import task_phrase

    engine = get_engine(url)
    upgrade(engine)
    units = (messages + 1) // 2
    org = synthetic_org(units, unit_people=True)
    with write_session(engine) as session:
        write_org(session, org, actor_for(session, None, task="bench"), at("01/06/2021", "08:00"), "bench")
    due = at("31/08/2021", "00:00")
    rows: list[Queued] = []
    for unit in org.units:
        if unit.group is None:
            continue
        shared = canonical(
            {
                "unit_name": unit.name,
                "unit_code": unit.code,
                "phase_label": task_phrase("submission", "vi"),
                "due": due.isoformat(),
                "year": 2021,
                "authority": "Công an tỉnh (benchmark)",
                "link": unit_link("http://127.0.0.1:8000", unit.code, 2021, "submission"),
                "days_left": 3,
            }
        )
        key = f"chase:assessment:{unit.code}:submission:{due.isoformat()}:r3"
        for person in org.people:
            if person.unit == unit.code and len(rows) < messages:
                rows.append(Queued(f"{key}:{person.code}", "reminder", person.email, person.name, shared, "vi"))
    with write_session(engine) as session:
        queue(session, rows, morning)


def built_messages(url: str, morning: datetime) -> list[Any]:
    """Every message of the outbox as the flush builds it (for the raw reference)."""
    from sqlalchemy import select
    from sqlmodel import col

    from cchc.config.settings import get_settings
    from cchc.flows.notify import compose
    from cchc.models.db import get_engine, read_session
    from cchc.models.tables import OutboxMessage
    from cchc.notifications.outbox import Claimed

    t = OutboxMessage
    columns = (t.id, t.dedupe_key, t.kind, t.lang, t.to_email, t.to_name, t.context, t.attempts)
    with read_session(get_engine(url)) as session:
        rows = [Claimed(*r) for r in session.execute(select(*map(col, columns)).order_by(col(t.id))).tuples()]
    settings = get_settings()
    return [compose(row, settings, morning) for row in rows]


async def send_raw(port: int, mails: list[Any], connections: int) -> None:
    import aiosmtplib

    work: asyncio.Queue[Any] = asyncio.Queue()
    for mail in mails:
        work.put_nowait(mail)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        try:
            while not work.empty():
                mail = work.get_nowait()
                await smtp.sendmail(mail.sender, [mail.recipient], mail.data)
        finally:
            await smtp.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


def raw_reference(sink: Sink, mails: list[Any], connections: int) -> dict[str, float]:
    before = sink.count()
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(send_raw(sink.port, mails, connections))
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    assert sink.count() - before == len(mails), "the server did not receive every raw message"
    return {"per_s": len(mails) / seconds, "seconds": seconds, "cpu_s": cpu_s}


def run(url: str, messages: int, batch: int, profile: str | None) -> dict[str, Any]:
    from cchc.config.settings import get_settings
    from cchc.flows.notify import flush_flow
    from cchc.flows.params import FlushParams
    from cchc.flows.runtime import local_flow_runs
    from cchc.models.db import get_engine

    morning = at("28/08/2021", "08:00")
    sink = Sink()
    try:
        os.environ.update(
            {"CCHC_SMTP_HOST": "127.0.0.1", "CCHC_SMTP_PORT": str(sink.port), "CCHC_SMTP_SECURITY": "none"}
        )
        get_settings.cache_clear()
        concurrency = get_settings().mail_concurrency
        queue_reminders(url, messages, morning)
        mails = built_messages(url, morning)
        with local_flow_runs():
            flush_flow(FlushParams(database_url=url, at=at("01/06/2021", "08:00"), batch=batch))  # Prefect, warm
            load_start = loadavg()
            raw_before = raw_reference(sink, mails, concurrency)
            before = sink.count()
            profiler = cProfile.Profile() if profile else None
            start, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            flushed = flush_flow(
                FlushParams(database_url=url, at=morning, batch=batch, max_batches=messages // batch + 2)
            )
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile)
            seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
            received = sink.count() - before
            raw_after = raw_reference(sink, mails, concurrency)
            load_end = loadavg()
    finally:
        sink.stop()
    raw_per_s = (raw_before["per_s"] + raw_after["per_s"]) / 2
    per_s = flushed.sent / seconds
    return {
        "messages": flushed.sent,
        "received": received,
        "retry": flushed.retry,
        "dead": flushed.dead,
        "batch": batch,
        "concurrency": concurrency,
        "bytes_per_message": round(sum(len(m.data) for m in mails) / len(mails)),
        "seconds": round(seconds, 3),
        "per_s": round(per_s, 1),
        "cpu_s": round(cpu_s, 3),
        "cpu_ms_per_message": round(1000 * cpu_s / max(1, flushed.sent), 3),
        "raw_per_s": round(raw_per_s, 1),
        "raw_per_s_before": round(raw_before["per_s"], 1),
        "raw_per_s_after": round(raw_after["per_s"], 1),
        "raw_cpu_ms_per_message": round(500 * (raw_before["cpu_s"] + raw_after["cpu_s"]) / len(mails), 3),
        "ratio": round(per_s / raw_per_s, 3),
        "db": get_engine(url).dialect.name,
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "target_met": per_s >= 800 and flushed.sent == messages == received,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=500, help="messages claimed at a time (FlushParams.batch)")
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    parser.add_argument("--profile", default=None, help="write cProfile stats of the flush to this file")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cchc-bench-mail-"))
    os.environ.setdefault("CCHC_STORE_DIR", str(work / "store"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    print(f"cchc bench mail: {args.messages} messages, {url}", flush=True)
    try:
        figures = run(url, args.messages, args.batch, args.profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"  flush {figures['per_s']:.0f}/s ({figures['cpu_s']:.2f} s CPU), "
        f"raw aiosmtplib {figures['raw_per_s']:.0f}/s, "
        f"ratio {figures['ratio']:.2f}, load {figures['loadavg_start']} → {figures['loadavg_end']}",
        flush=True,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
