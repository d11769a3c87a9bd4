"""The digests of a unit's scores: PostgreSQL computing them itself gives exactly Python's digests, whatever
the rows hold (no score, not applicable, Vietnamese text, a newline, an emoji, a quote, a percent sign)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import import_rows, open_2021, rows_for
from sqlalchemy import text

from cchc.config.settings import Settings
from cchc.models.db import get_engine, read_session
from cchc.models.proof import score_digests

PG_URL = Settings().test_database_url

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.skipif(not PG_URL, reason="PostgreSQL computes the digests itself only there"),
]


def test_postgresql_computes_the_digests_python_computes(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's digests are Python's")
    pg_url = db_url
    org = open_2021(pg_url)
    import_rows(pg_url, tmp_path / "s.csv", rows_for(org, ["CAH-CMG", "CAH-BMT"], not_applicable=0.1))
    with get_engine(pg_url).begin() as conn:
        conn.execute(
            text(
                "UPDATE score SET note = :note, explanation = :why, metric = NULL, appraised_points = 125 "
                "WHERE criterion_id IN (SELECT min(criterion_id) FROM score)"
            ),
            {"note": 'Đã triển khai 100% "kế hoạch"\nở xã Ea Tu 🙂', "why": "thiếu bản gốc; 50% 'đã nộp'"},
        )
        conn.execute(
            text("UPDATE score SET self_points = NULL WHERE criterion_id = (SELECT max(criterion_id) FROM score)")
        )
    with read_session(get_engine(pg_url)) as session:
        ids = [int(i) for i in session.execute(text("SELECT id FROM assessment")).scalars()]
        by_postgres = score_digests(session, ids)
        by_python = score_digests(session, ids, in_database=False)
    assert by_postgres == by_python
    assert len({d["self"] for d in by_postgres.values()}) >= 3  # two units with rows, and the units without
