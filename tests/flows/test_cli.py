"""The command line: one clear line and a non-zero exit for every user error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cchc.flows.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()


def cchc(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", url, *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_a_whole_cycle_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    from factories import rows_for, sample_org, write_rows

    assert cchc(db_url, "org", "load")[0] == 0
    code, out = cchc(db_url, "org", "load")
    assert code == 0 and "nothing changed" in out
    code, out = cchc(db_url, "cycle", "open", "--year", "2021", "--as", "pv01.coord1")
    assert code == 0 and "44 assessments" in out and "91 sub-criteria" in out
    assert cchc(db_url, "cycle", "advance", "--year", "2021", "--as", "pv01.coord1")[0] == 0
    sheet = write_rows(tmp_path / "s.csv", rows_for(sample_org(), ["CAH-CMG"]))
    code, out = cchc(db_url, "self-assessment", "import", str(sheet), "--as", "cmg.focal")
    assert code == 0 and "91 rows for 1 units" in out
    code, out = cchc(db_url, "submit", "--unit", "CAH-CMG", "--as", "cmg.focal")
    assert code == 0 and "submitted: CAH-CMG" in out
    code, out = cchc(db_url, "cycle", "status", "--year", "2021", "--json")
    status = json.loads(out)
    assert status["counts"]["cah"]["submitted"] == 1 and status["total"] == 44
    code, out = cchc(db_url, "audit", "log", "--unit", "CAH-CMG")
    assert code == 0 and "submit" in out and "self_assess → submitted" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cycle", "status", "--year", "2030"], "there is no 2030 cycle"),
        (["org", "load", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
        (["cycle", "open", "--year", "2021", "--as", "nobody"], "nobody with the code or e-mail 'nobody'"),
        (["submit"], "name the units (--unit CODE) or submit every ready unit with --all"),
        (["audit", "log", "--unit", "XYZ"], "no unit with the code 'XYZ'"),
        (["states", "bogus"], "unknown machine 'bogus'"),
        (["ranking", "--year", "2021"], "there is no 2021 cycle"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(db_url: str, args: list[str], message: str) -> None:
    cchc(db_url, "org", "load")
    code, out = cchc(db_url, *args)
    assert code == 1, out
    assert message in " ".join(out.split())


def test_an_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    code, out = cchc(f"sqlite:///{tmp_path / 'new.db'}", "cycle", "status")
    assert code == 1 and "run `cchc init` first" in out
    code, out = cchc(f"sqlite:///{tmp_path / 'new.db'}", "init")
    assert code == 0 and "schema revision" in out


def test_a_broken_organisation_file_names_the_entry(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text(
        "code: x\nname: X\ngroups: []\nunits:\n  - code: A\n    name: A\n    kind: authority\n"
        "    people:\n      - {code: p, name: P, email: 'p@x.example', roles: [boss]}\n",
        encoding="utf-8",
    )
    code, out = cchc(db_url, "org", "load", str(bad))
    assert code == 1 and "unit A › person p: 'roles': unknown role 'boss'" in out


def test_the_state_diagram_is_generated_from_the_table(db_url: str) -> None:
    code, out = cchc(db_url, "states", "assessment")
    assert code == 0 and "submitted --> self_assess: withdraw" in out


def test_the_installed_command_shows_a_failed_flow_as_one_error_without_prefects_traceback(tmp_path: Path) -> None:
    """The real `cchc` in a fresh process, where Prefect's own logging is configured as a user gets it:
    a failure inside a flow is our one message, not Prefect's log of the task's traceback."""
    import os
    import subprocess
    import sys

    command = Path(sys.executable).with_name("cchc")
    env = {**os.environ, "CCHC_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    env = {k: v for k, v in env.items() if not k.startswith("PREFECT_") and k != "CCHC_PREFECT_LOG_LEVEL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")  # its own temporary server's database
    assert subprocess.run([command, "init"], env=env, capture_output=True, check=False).returncode == 0
    done = subprocess.run(
        [command, "self-assessment", "import", str(tmp_path / "khong-co.xlsx"), "--as", "cmg.focal"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1] == "error: no cycle is open yet: run `cchc cycle open --year YYYY`"


def test_a_sweep_of_a_year_that_is_not_there_is_refused_before_prefect_starts(db_url: str) -> None:
    cchc(db_url, "org", "load")
    code, out = cchc(db_url, "sweep", "--year", "2030")
    assert code == 1 and "there is no 2030 cycle" in out
    assert "Prefect" not in out  # the refusal came first: no temporary server was started for it
