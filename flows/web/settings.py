"""The dashboard's own settings: the session secret and how long a session lasts.

They are read from `CCHC_*` variables like every other setting (pydantic-settings, not `os.environ`), kept
apart from `config.settings.Settings` only while the dashboard is new:

- `CCHC_SECRET_KEY` signs the session cookie. Unset, a random key is generated once and kept, readable by
  its owner only, in `CCHC_SECRET_KEY_FILE` (default: `dashboard-secret.key` beside the store directory,
  `var/dashboard-secret.key` on a laptop). Every process that shares the file shares the sessions.
- `CCHC_SESSION_IDLE_MINUTES` (30) and `CCHC_SESSION_MAX_HOURS` (8): a session ends after that long without
  a request, and in any case that long after the login.
- `CCHC_INVITATION_DAYS` (7): how long the single-use link of an invitation or a password reset works
  (flows/accounts.py).
- The login throttle (flows/accounts.py): after `CCHC_LOGIN_ACCOUNT_FAILURES` (5) failed logins for one
  account, or `CCHC_LOGIN_ADDRESS_FAILURES` (50) from one address, within `CCHC_LOGIN_WINDOW_MINUTES` (15),
  logins for it are refused for `CCHC_LOGIN_LOCKOUT_MINUTES` (15), twice as long at each lockout after, up to
  `CCHC_LOGIN_LOCKOUT_MAX_HOURS` (24).
- `CCHC_SECURE_COOKIE`: the session cookie is sent over HTTPS only (`Secure`); unset, it is when
  `CCHC_PUBLIC_URL` is an https:// address.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.config.settings import get_settings
from cchc.flows.accounts import LoginLimits
from cchc.models.errors import UserError
from cchc.models.secretfile import keep_new

MIN_SECRET = 32


class DashboardSettings(BaseSettings):
    """The dashboard's settings, from `CCHC_*` environment variables (or `.env`)."""

    model_config = SettingsConfigDict(env_prefix="CCHC_", env_file=".env", extra="ignore")

    secret_key: SecretStr | None = Field(default=None, description="Signs the session cookie (≥ 32 characters)")
    secret_key_file: Path | None = Field(
        default=None, description="Where a generated key is kept when CCHC_SECRET_KEY is unset"
    )
    session_idle_minutes: float = Field(default=30, gt=0, description="A session ends after this long idle")
    session_max_hours: float = Field(default=8, gt=0, description="A session ends this long after the login")
    invitation_days: float = Field(
        default=7, gt=0, le=365, description="An invitation's or a password reset's link works this long, once"
    )
    language: Literal["vi", "en"] | None = Field(
        default=None, description="Language of the pages' refusals (CCHC_LANGUAGE, as everything else)"
    )
    session_recheck_seconds: float = Field(
        default=10,
        ge=0,
        le=300,
        description="How long a web process trusts who a session is (roles, password, active) before asking again",
    )
    threads: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Requests one web process works on at once; the others wait their turn in order",
    )
    login_account_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed logins for one account, within the window, before a lockout"
    )
    login_address_failures: int = Field(
        default=50, ge=1, le=100_000, description="Failed logins from one address, within the window, before a lockout"
    )
    login_window_minutes: float = Field(
        default=15, gt=0, le=1440, description="The window failed logins are counted in"
    )
    login_lockout_minutes: float = Field(
        default=15, gt=0, le=1440, description="The first lockout; each lockout after lasts twice the one before"
    )
    login_lockout_max_hours: float = Field(default=24, gt=0, le=720, description="The longest lockout")
    secure_cookie: bool | None = Field(
        default=None, description="Send the session cookie over HTTPS only (unset: when CCHC_PUBLIC_URL is https://)"
    )
    upload_max_mib: int = Field(default=20, gt=0, le=50, description="The largest evidence file a browser may send")
    upload_types: str = Field(
        default=".pdf,.doc,.docx,.xls,.xlsx,.odt,.ods,.jpg,.jpeg,.png,.tif,.tiff",
        description="The kinds of evidence file a browser may send (suffixes, comma-separated)",
    )

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie is marked Secure (HTTPS only)."""
        if self.secure_cookie is not None:
            return self.secure_cookie
        return get_settings().public_url.startswith("https://")

    @property
    def login_limits(self) -> LoginLimits:
        """The login throttle's bounds, for the login page and for the command line's `--as`."""
        return LoginLimits(
            account_failures=self.login_account_failures,
            address_failures=self.login_address_failures,
            window=timedelta(minutes=self.login_window_minutes),
            lockout=timedelta(minutes=self.login_lockout_minutes),
            longest=timedelta(hours=self.login_lockout_max_hours),
        )

    @property
    def upload_suffixes(self) -> tuple[str, ...]:
        return tuple(s.strip().lower() for s in self.upload_types.split(",") if s.strip())


def key_file(settings: DashboardSettings) -> Path:
    return settings.secret_key_file or get_settings().store_dir.parent / "dashboard-secret.key"


def secret_key(settings: DashboardSettings) -> str:
    """The key that signs sessions: CCHC_SECRET_KEY, else the kept one, else a new one, kept (mode 0600)."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < MIN_SECRET:
            raise UserError(f"CCHC_SECRET_KEY is too short: give at least {MIN_SECRET} random characters")
        return key
    path = key_file(settings)
    try:
        keep_new(path, lambda: (secrets.token_hex(32) + "\n").encode("ascii"))
    except OSError as exc:
        raise UserError(f"cannot keep the dashboard's secret key in {path}: {exc.strerror}") from None
    return _read_key(path)


def _read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the dashboard's secret key from {path}: {exc}") from None
    if len(key) < MIN_SECRET:
        raise UserError(f"{path}: the secret key is too short (or the file is still being written); delete the file")
    return key
