"""The one Settings class. Every setting comes from here; nothing else reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import CONFIG_DIR


class Settings(BaseSettings):
    """Settings read from `CCHC_*` environment variables (or a `.env` file) with laptop defaults."""

    model_config = SettingsConfigDict(env_prefix="CCHC_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./cchc.db",
        description="SQLAlchemy URL; e.g. postgresql+psycopg://user@127.0.0.1:5432/cchc",
    )
    actor: str | None = Field(
        default=None, description="Who acts when a command is not given --as (a person code or e-mail)"
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="Time zone for everything shown")
    config_dir: Path = Field(default=CONFIG_DIR, description="Where frameworks/, org/ and cycles/ are")
    echo_sql: bool = Field(default=False, description="Log every SQL statement")
    test_database_url: str | None = Field(
        default=None,
        description="PostgreSQL server for the test suite (a fresh database is created on it); unset = SQLite only",
    )
    # Prefect: defaults that work offline on a laptop (../shared/PLATFORM.md).
    prefect_startup_timeout_s: int = Field(default=120, description="Temporary Prefect server start-up")
    prefect_log_level: str = Field(default="WARNING", description="Prefect's own log level for the CLI")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings instead)."""
    return Settings()
