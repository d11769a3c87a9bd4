"""Fixtures: a migrated database per test (SQLite always; PostgreSQL too when CCHC_TEST_DATABASE_URL is
set), and one Prefect test harness for the whole session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

# The suite reads the messages by their English keys (models/i18n.py); what people read by default is the
# Vietnamese catalogue, which tests/models/test_i18n.py and the pages' tests check (`speaking("vi")`).
os.environ.setdefault("CCHC_LANGUAGE", "en")
# every request asks the database who its session is (a test changes roles and passwords between two
# requests); tests/web/test_dashboard_login.py tests the dashboard's trust of a few seconds itself
os.environ.setdefault("CCHC_SESSION_RECHECK_SECONDS", "0")

from cchc.config.settings import Settings  # noqa: E402
from cchc.flows.runtime import configure_prefect  # noqa: E402
from cchc.models.db import get_engine  # noqa: E402
from cchc.models.migrate import upgrade  # noqa: E402

configure_prefect(Settings(prefect_log_level="ERROR"))

PG_URL = Settings().test_database_url
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness (a temporary server and database), entered once per session."""
    from prefect.testing.utilities import prefect_test_harness

    from cchc.flows.runtime import local_flow_runs

    with prefect_test_harness(server_startup_timeout=180), local_flow_runs():
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "cchc.db"
    engine = get_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A new PostgreSQL database on the test server, migrated once, dropped at the end."""
    from databases import new_database

    assert PG_URL, "CCHC_TEST_DATABASE_URL is not set"
    with new_database(PG_URL, "cchc_test") as url:
        upgrade(get_engine(url))
        yield url


def _tables() -> str:
    """Every table of the schema (so a new table is emptied between tests without a list to keep)."""
    from sqlmodel import SQLModel

    import cchc.models.tables  # noqa: F401

    return ", ".join(t.name for t in SQLModel.metadata.sorted_tables)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "cchc.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {_tables()} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def mail_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real SMTP server on loopback, and the settings pointing the sender at it."""
    from mailserver import MailServer

    from cchc.config.settings import get_settings

    server = MailServer().start()
    monkeypatch.setenv("CCHC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CCHC_SMTP_PORT", str(server.port))
    monkeypatch.setenv("CCHC_MAIL_FROM", "Hệ thống CCHC <cchc@dlk.cand.example>")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test keeps its documents, scans and evidence in its own store."""
    from cchc.config.settings import get_settings

    store = tmp_path / "store"
    monkeypatch.setenv("CCHC_STORE_DIR", str(store))
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()
