"""The project's own promises: README's diagrams come from the machines, CI runs README's test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cchc.states.diagrams import MACHINES, diagram

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGES = ("config", "flows", "models", "notifications", "states")


def test_the_readme_diagrams_are_the_ones_generated_from_the_transition_tables() -> None:
    for name in MACHINES:
        assert diagram(name).strip() in README, name


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    commands = re.findall(r"^\s*(make \w+)\s*$", README, flags=re.MULTILINE)
    assert "make test" in commands and "make demo" in commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.MULTILINE)


def test_the_schema_migrations_match_the_tables() -> None:
    """A table or column added to models/tables.py without a migration is caught here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import cchc.models.tables  # noqa: F401
    from cchc.models.migrate import upgrade

    engine = create_engine("sqlite://")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


@pytest.mark.slow
def test_the_installed_project_is_one_namespace_with_all_its_files(tmp_path: Path) -> None:
    """`pip install .` puts `cchc` alone into site-packages (no generic `config`, `flows`, … next to other
    projects'), with every file of the five folders, and the command line runs from that copy."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cchc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {name.split("/")[0] for name in names} == {"cchc", wheel.name.split("-py3")[0] + ".dist-info"}
    shipped = {
        f"cchc/{path.relative_to(ROOT).as_posix()}"
        for folder in PACKAGES
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped - names == set()

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    # -S: no site-packages processing, so the editable install of this checkout is not seen; the
    # dependencies come from this environment's site-packages, cchc from the installed copy only.
    path = os.pathsep.join([str(site), *(p for p in sys.path if p.endswith("site-packages"))])
    env = {**os.environ, "PYTHONPATH": path, "CCHC_DATABASE_URL": f"sqlite:///{tmp_path / 'cchc.db'}"}

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)

    for name in PACKAGES:
        assert "ModuleNotFoundError" in run(f"import {name}").stderr
    found = run("import cchc.flows.cli as cli; print(cli.__file__)")
    assert found.stdout.startswith(str(site)), found.stderr
    cli = "import sys; from cchc.flows.cli import main; sys.argv = ['cchc', *sys.argv[1:]]; main()"
    for command in (["init"], ["org", "load"]):
        done = subprocess.run(
            [sys.executable, "-S", "-c", cli, *command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert "(tthc 6, ktthc 23, cah 15 assessed)" in done.stdout, done.stdout
