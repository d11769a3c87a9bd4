"""The one Settings class. Every setting comes from here; nothing else reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.config import CONFIG_DIR


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
    store_dir: Path = Field(
        default=Path("var/store"), description="Content-addressed files: documents, scans, evidence"
    )
    # What proves the trail outside the database (models/attest.py): the Ed25519 key that signs checkpoints
    # and backups (default: audit-signing.key beside the store), and where checkpoints are kept.
    audit_key_file: Path | None = Field(
        default=None, description="The installation's Ed25519 signing key (default: beside the store directory)"
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Where signed checkpoints of the audit trail are written (default: beside the store)"
    )
    restore_max_bytes: int = Field(
        default=32 << 30, ge=1 << 20, description="The most a backup may expand to when it is read for a restore"
    )
    signing_link_days: int = Field(
        default=14, ge=1, le=60, description="How long a commitment's signing link stays good"
    )
    password: SecretStr | None = Field(
        default=None,
        description="For a script: the dashboard password of the person a command acts as (--as), when they have one",
    )
    # E-mail (notifications/): the SMTP server the outbox is delivered to.
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server")
    smtp_port: int = Field(default=25, description="SMTP port (587 with STARTTLS, 465 with TLS)")
    smtp_security: Literal["none", "starttls", "tls"] = Field(default="none", description="Connection security")
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server wants one")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_timeout_s: float = Field(default=30, description="SMTP timeout per operation")
    mail_from: str = Field(default="CCHC <cchc@localhost>", description="The From of every message")
    mail_concurrency: int = Field(default=8, ge=1, le=64, description="SMTP connections used at once")
    mail_max_attempts: int = Field(default=8, ge=1, description="Attempts before a message is dead-lettered")
    mail_lang: Literal["vi", "en"] = Field(default="vi", description="Language of the messages")
    language: Literal["vi", "en"] = Field(
        default="vi", description="Language of what people read: refusals, problems of a file (models/locale)"
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base of the links in messages")
    # Prefect: defaults that work offline on a laptop (../shared/PLATFORM.md).
    prefect_startup_timeout_s: int = Field(default=120, description="Temporary Prefect server start-up")
    # A running Prefect server (`prefect server start`) that every process uses instead of starting a temporary
    # one per command (6–15 s each): its API URL becomes PREFECT_API_URL, which still wins when it is set.
    prefect_api_url: str | None = Field(
        default=None,
        description="A running Prefect server's API for every process, e.g. http://127.0.0.1:4200/api (unset: a "
        "temporary server per command)",
    )
    # Prefect logs a failed task with its traceback at ERROR; the CLI reports every failure itself, in one
    # line, so Prefect's own logging stays quiet unless asked for (or `--debug`).
    prefect_log_level: str = Field(default="CRITICAL", description="Prefect's own log level for the CLI")

    @property
    def signing_key_path(self) -> Path:
        return self.audit_key_file or self.store_dir.parent / "audit-signing.key"

    @property
    def checkpoints_path(self) -> Path:
        return self.checkpoint_dir or self.store_dir.parent / "checkpoints"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings instead)."""
    return Settings()
