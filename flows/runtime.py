"""What every process of cchc sets up first, whatever started it (the CLI, the dashboard, a Prefect worker,
the tests): Prefect's defaults, the clock, the database engine. Serving the schedules is flows/serve.py."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from cchc.config.settings import Settings, get_settings
from cchc.models.db import get_engine
from cchc.models.errors import UserError
from cchc.models.migrate import is_current


def configure_prefect(settings: Settings | None = None) -> None:
    """Defaults for Prefect that work offline (PLATFORM.md), before prefect is imported; explicit
    PREFECT_* variables in the environment win."""
    settings = settings or get_settings()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(settings.prefect_startup_timeout_s))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", settings.prefect_log_level)
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", settings.prefect_log_level)
    # Prefect's background services log through root-level loggers ("EventsWorker - Still processing
    # items" at exit), which only the root level silences.
    os.environ.setdefault("PREFECT_LOGGING_ROOT_LEVEL", settings.prefect_log_level)
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")


def now() -> datetime:
    return datetime.now(UTC)


def local_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def open_engine(url: str | None) -> Engine:
    """The engine of a database URL (the configured one by default), or a UserError when the URL does not
    parse or names a driver that is not installed."""
    text = url or get_settings().database_url
    try:
        return get_engine(text)
    except (ArgumentError, ImportError, ValueError) as exc:  # NoSuchModuleError is an ArgumentError
        if isinstance(exc, ImportError | NoSuchModuleError):
            reason = f"there is no driver here for {text.split(':', 1)[0]!r}"
        else:
            reason = _first_line(exc)
        raise UserError(
            f"cannot use the database URL of --database-url or CCHC_DATABASE_URL: {reason}; write "
            "postgresql+psycopg://USER@HOST:5432/NAME or sqlite:///FILE"
        ) from None


_CURRENT: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose schema was found up to date


def engine_for(url: str | None) -> Engine:
    """The engine of a flow's database, refusing one whose schema is not up to date. The schema is asked
    once per engine and process (a served page would otherwise pay Alembic's ~15 ms on every request):
    migrations only move forward, so a database found current stays usable by this code."""
    engine = open_engine(url)
    if engine in _CURRENT:
        return engine
    try:
        current = is_current(engine)
    except Exception as exc:  # noqa: BLE001 - any driver error means the same thing to the user
        raise UserError(f"cannot open the database {engine.url.render_as_string()}: {_first_line(exc)}") from None
    if not current:
        raise UserError(f"the database {engine.url.render_as_string()} is not initialised: run `cchc init` first")
    _CURRENT.add(engine)
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def local_flow_runs() -> Iterator[None]:
    """Flows run in this process for a command: no heartbeat thread (it costs ~1.1 s per flow run and
    detects nothing a foreground command would not see)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
