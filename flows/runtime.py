"""What every process of cchc sets up first, whatever started it (the CLI, the dashboard, a Prefect worker,
the tests): Prefect's defaults, the clock, the database engine, and a temporary Prefect server that dies with
the process that started it. Serving the schedules is flows/serve.py."""

from __future__ import annotations

import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from cchc.config.settings import Settings, get_settings
from cchc.models.db import get_engine
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.migrate import is_current

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer


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
    if settings.prefect_api_url:  # a running server for every process, instead of a temporary one per command
        os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)


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


def prefect_server() -> str | None:
    """The API URL of the Prefect server the flows of this process use (PREFECT_API_URL, or
    CCHC_PREFECT_API_URL through `configure_prefect`), or None: the first flow starts a temporary one."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextmanager
def local_flow_runs() -> Iterator[None]:
    """Flows run in this process for a command: no heartbeat thread (it costs ~1.1 s per flow run and
    detects nothing a foreground command would not see). When a server is named, it must answer first
    (`check_prefect_server`); when none is, the temporary server that the first flow starts is tied to this
    process (`tie_temporary_server`)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    url = prefect_server()
    if url:
        check_prefect_server(url)
    else:
        tie_temporary_server()
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def check_prefect_server(url: str, timeout_s: float = 5) -> None:
    """A UserError, in one line, when the Prefect server at `url` does not answer its health check (else the
    first flow fails with Prefect's connection error). There is no fall-back to a temporary server: runs meant
    for a named server must not be recorded elsewhere without a word. Asked with Prefect's own client, so
    that its authentication and TLS settings apply: ~30 ms on loopback."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True, httpx_settings={"timeout": timeout_s}) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        raise UserError(
            tr(
                "the Prefect server at {url} does not answer ({reason}): start it (`prefect server start`), or "
                "correct or unset CCHC_PREFECT_API_URL and PREFECT_API_URL",
                url=url,
                reason=_first_line(failure),
            )
        )


# The temporary server's command: Prefect's `python -m uvicorn …`, with a thread that stops the server once the
# process that started it is gone (its parent id changes when the parent dies and the server is re-parented).
# Plain Python, so that the server starts no slower than Prefect's own command.
_TIED_TO_PARENT = """\
import os, runpy, signal, sys, threading, time
parent = int(sys.argv.pop(1))
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, name="cchc-parent-watch", daemon=True).start()
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


def tie_temporary_server() -> None:
    """Make Prefect's temporary server (started by the first flow when no PREFECT_API_URL is set) end with
    the process that started it, however that process ends.

    Prefect 3.8 starts it as a subprocess (`SubprocessASGIServer._run_uvicorn_command`: `python -m uvicorn
    … prefect.server.api.server:create_app`) and stops it only from an `atexit` hook. A process killed by a
    signal runs no atexit hook, so the server, ~180 MiB, was left running for good: after `kill -9` of a
    command, after SIGTERM of a command, and after SIGTERM of the dashboard (uvicorn shuts the app down,
    then raises the signal again with its default action, which ends the process without atexit).

    The server's command is therefore run through `_TIED_TO_PARENT`, which notices the death of its parent
    within half a second and stops the server (SIGTERM, then exit after 10 s). Why not
    `prctl(PR_SET_PDEATHSIG)`: Linux sends that signal when the *thread* that forked the child ends, not the
    process, and Prefect starts the server from whichever thread makes the first call (a dashboard job's
    worker, a thread of anyio's pool that ends after 10 idle seconds): the server would die under a living
    process. A `preexec_fn` is also unsafe in a process with threads (subprocess's documentation).

    Importing Prefect's server module costs ~3 s, which the first flow call pays anyway when no server is
    named; with PREFECT_API_URL set (`prefect server start`, a worker, the tests' harness) nothing is
    imported and nothing is changed. The method is replaced once per process; it builds the command and the
    environment exactly as Prefect 3.8.8 does (tests/flows/test_processes.py compares them)."""
    from prefect.server.api.server import SubprocessASGIServer

    if SubprocessASGIServer._run_uvicorn_command is not _run_tied:
        SubprocessASGIServer._run_uvicorn_command = _run_tied  # type: ignore[method-assign,assignment]


def _run_tied(server: SubprocessASGIServer) -> subprocess.Popen[Any]:
    """Prefect 3.8.8's `SubprocessASGIServer._run_uvicorn_command`, run through `_TIED_TO_PARENT`."""
    from prefect.settings import get_current_settings

    return subprocess.Popen(
        args=[sys.executable, "-c", _TIED_TO_PARENT, str(os.getpid()), *_uvicorn_arguments(server.port)],
        env={
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        },
    )


def _uvicorn_arguments(port: int | None) -> list[str]:
    """What Prefect 3.8.8 passes to `python -m uvicorn` for its temporary server on `port`."""
    import prefect

    return [
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


def stop_temporary_server() -> None:
    """Stop the temporary Prefect server that a flow of this process started, if one did (the dashboard
    calls it when it shuts down). A server named by PREFECT_API_URL or the tests' harness (started with a
    port of its own) is not this process's to stop."""
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is None:  # no flow started a server: nothing to import for it
        return
    server = server_module.SubprocessASGIServer._instances.get(None)
    if server is not None and getattr(server, "_instance_key", None) is None:
        server.stop()
