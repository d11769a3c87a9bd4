"""Issue 15: `cchc --as gd` acted as the Director from any shell. A person who has a dashboard password now
proves it on the command line as on the login page (typed when asked on a terminal, or CCHC_PASSWORD for a
script), with the same throttle and the same audit of a wrong password; a person without one is acted for by
the operator, as before."""

from __future__ import annotations

import pytest
from factories import COORDINATOR, DIRECTOR, at, open_2021, scalar
from typer.testing import CliRunner

from cchc.config.settings import get_settings
from cchc.flows.cli import app, common
from cchc.flows.passwords import set_password

pytestmark = pytest.mark.usefixtures("prefect_harness")
PASSWORD = "Đắk Lắk mùa cà phê 2021"


@pytest.fixture(autouse=True)
def _forget_proofs() -> None:
    common._PROVEN.clear()


def _prepare(runner: CliRunner, url: str, **env: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--database-url", url, "commitments", "prepare", "--as", DIRECTOR], env=env)


def test_acting_as_a_person_with_a_password_needs_that_password(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    open_2021(db_url, self_assessment=False)
    set_password(db_url, DIRECTOR, PASSWORD, None, at("01/07/2021"))
    runner = CliRunner()
    refused = _prepare(runner, db_url)
    assert refused.exit_code == 1 and "has a dashboard password" in refused.output and "CCHC_PASSWORD" in refused.output
    assert scalar(db_url, "SELECT count(*) FROM commitment") == 0  # nothing was done
    monkeypatch.setenv("CCHC_PASSWORD", "doan-bua-thoi")
    get_settings.cache_clear()
    wrong = _prepare(runner, db_url)
    assert wrong.exit_code == 1 and "wrong password" in wrong.output and "Traceback" not in wrong.output
    assert scalar(db_url, "SELECT count(*) FROM audit_event WHERE trigger = 'login_failed'") == 1
    assert "doan-bua-thoi" not in str(scalar(db_url, "SELECT payload FROM audit_event WHERE trigger = 'login_failed'"))
    assert scalar(db_url, "SELECT count(*) FROM commitment") == 0
    common._PROVEN.clear()
    monkeypatch.setenv("CCHC_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    done = _prepare(runner, db_url)
    assert done.exit_code == 0, done.output
    assert scalar(db_url, "SELECT count(*) FROM commitment") > 0
    get_settings.cache_clear()


def test_guessing_the_directors_password_from_a_shell_is_throttled_like_the_login_page(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_2021(db_url, self_assessment=False)
    set_password(db_url, DIRECTOR, PASSWORD, None, at("01/07/2021"))
    runner = CliRunner()
    monkeypatch.setenv("CCHC_PASSWORD", "sai-mat-khau-0")
    get_settings.cache_clear()
    outputs = [_prepare(runner, db_url).output for _ in range(6)]
    assert all("wrong password" in o for o in outputs[:5]) and "Too many failed logins" in outputs[5], outputs[5]
    monkeypatch.setenv("CCHC_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    locked = _prepare(runner, db_url)
    assert locked.exit_code == 1 and "Too many failed logins" in locked.output  # the right one too, while locked
    get_settings.cache_clear()


def test_a_person_without_a_password_is_acted_for_as_before(db_url: str) -> None:
    open_2021(db_url, self_assessment=False)
    done = CliRunner().invoke(app, ["--database-url", db_url, "commitments", "prepare", "--as", COORDINATOR])
    assert done.exit_code == 0, done.output
