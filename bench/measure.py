"""What every benchmark shares: where its database comes from, and the figures every one of them prints.

    parser = argparse.ArgumentParser(...)
    add_database_args(parser)                           # --database-url, --keep
    args = parser.parse_args(argv)
    with Measure(since_start=True) as whole, fresh_database(args.database_url, work, "cchc_bench_x") as url:
        figures = run(..., url)
    print(json.dumps({**figures, **whole.figures(url)}))

`--database-url`: nothing (or `sqlite`) is a fresh SQLite file in the bench's temporary folder; `postgresql`
is a fresh database of the script's name on the local server (postgresql+psycopg://postgres@127.0.0.1:5432/,
trust authentication), dropped afterwards — also on Ctrl-C or SIGTERM — unless `--keep`; any other URL is
used as it is, and must be empty (nothing of it is dropped).

Every bench's last line of stdout is one JSON object that holds at least `db` ("sqlite" or "postgresql"),
`wall_s` (the whole script), `cpu_s` (user + system seconds of this process and of its children: the
subprocesses it waited for, and those still running, such as Prefect's temporary server), `loadavg_start`
and `loadavg_end` (the machine is shared: read the figures with its load). A bench gives a step's CPU seconds
beside its wall seconds with `cpu_s()` (bench/sweep.py: `sweep_s` and `sweep_cpu_s`).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

try:  # installed with the dev tools (locust needs it); without it, running children are not counted
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
STARTED = time.perf_counter()  # when the script started (this module is imported first)


def at(day: str, clock: str = "09:00") -> datetime:
    """A moment of the benches' calendar in Asia/Ho_Chi_Minh: at("31/08/2021", "10:00")."""
    return datetime.strptime(f"{day} {clock}", "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


def free_port() -> int:
    """A free TCP port on loopback (for a server the bench starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_s() -> float:
    """CPU seconds (user + system) of this process, of its children it waited for, and of those running."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    if psutil is not None:
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:  # it ended meanwhile (and is counted above once waited for)
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Measure:
    """Wall seconds, CPU seconds (`cpu_s()`) and the load average around a block."""

    def __init__(self, since_start: bool = False) -> None:
        self.since_start = since_start  # from the start of the script (this module's import), not of the block
        self.wall_s = self.cpu_s = 0.0
        self.loadavg_start: list[float] = []
        self.loadavg_end: list[float] = []

    def __enter__(self) -> Measure:
        self.loadavg_start = loadavg()
        self._cpu = 0.0 if self.since_start else cpu_s()
        self._start = STARTED if self.since_start else time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._start
        self.cpu_s = cpu_s() - self._cpu
        self.loadavg_end = loadavg()

    def figures(self, url: str) -> dict[str, Any]:
        """The fields every bench prints (`wall_s` of the script, its `cpu_s`, the load, the engine)."""
        return {
            "db": engine_name(url),
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "loadavg_start": self.loadavg_start,
            "loadavg_end": self.loadavg_end,
        }


def engine_name(url: str) -> str:
    """The engine's name, "sqlite" or "postgresql", whatever the driver."""
    return make_url(url).get_backend_name()


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="nothing or `sqlite`: a fresh SQLite file (default); `postgresql`: a fresh database on "
        f"{SERVER}, dropped after; any other URL: an EMPTY database, used as it is",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the fresh database")


def on_server(*statements: str) -> None:
    """Statements about databases, run through the local server's `postgres` database."""
    admin = create_engine(SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def _exists(name: str) -> bool:
    admin = create_engine(SERVER + "postgres")
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        admin.dispose()


def _check_empty(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise SystemExit(f"{url} is not empty ({len(tables)} tables): give an empty database, or `postgresql`")


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # as Ctrl-C: the fresh database is dropped on the way out


@contextmanager
def fresh_database(arg: str | None, work_dir: Path, name: str, keep: bool = False) -> Iterator[str]:
    """The URL of the bench's database (see the module's docstring); a database made here is dropped when
    the block ends, however it ends (a SIGTERM is turned into a KeyboardInterrupt meanwhile). The files that
    go beside a database (the store, its keys, the audit checkpoints) go to `work_dir/store`, unless
    CCHC_STORE_DIR names a place: a bench neither writes into the working directory nor trusts an earlier
    run's checkpoint."""
    if "CCHC_STORE_DIR" not in os.environ:
        from cchc.config.settings import get_settings

        os.environ["CCHC_STORE_DIR"] = str(work_dir / "store")
        get_settings.cache_clear()
    if arg is None or arg == "sqlite":
        yield f"sqlite:///{work_dir / (name + '.db')}"  # the caller's temporary folder goes with it
        return
    if arg != "postgresql":
        _check_empty(arg)
        yield arg
        return
    if _exists(name):
        raise SystemExit(
            f"the database {name} is already on {SERVER} (a bench running, or one that was killed): "
            f"if it is a leftover, drop it: psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE {name} WITH (FORCE)'"
        )
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        on_server(f'CREATE DATABASE "{name}"')
        try:
            yield SERVER + name
        finally:
            if keep:
                print(f"kept the database {SERVER}{name}", flush=True)
            else:
                on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        signal.signal(signal.SIGTERM, previous)
