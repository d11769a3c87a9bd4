"""The project's own promises: README's diagrams come from the machines, CI runs README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from states.assessment import assessment_machine
from states.cycle import cycle_machine

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_diagrams_are_the_ones_generated_from_the_transition_tables() -> None:
    assert assessment_machine().mermaid("Assessment of a unit").strip() in README
    assert cycle_machine().mermaid("Cycle").strip() in README


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

    import models.tables  # noqa: F401
    from models.migrate import upgrade

    engine = create_engine("sqlite://")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []
