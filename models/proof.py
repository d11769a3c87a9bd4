"""What the audit trail records of a unit's scores: a SHA-256 per assessment of its self-assessment rows
(the report a head signs) and of its appraised points (what appraisal decided), in criterion-code order.

Moves that freeze a part of the scores carry its digest in their event (states/workflow.py): a submission
the self-assessment's, an appraisal the appraised points'. `cchc audit verify` computes the digests of the
rows as they are now and compares them with the last ones recorded, so a score edited in the database, not
through cchc, is caught and named.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from cchc.models.text import canonical

SELF_PART = ("self_points", "not_applicable", "metric", "evidence", "note", "explanation", "supplied_by")
APPRAISED_PART = ("appraised_points",)
# Criterion codes in code-point order on both engines (SQLite's BINARY; PostgreSQL's "C", not the database's
# collation), so that digests recorded on one engine verify after a restore on the other.
_ROWS = (
    "SELECT s.assessment_id, c.code, s.{columns} FROM score s JOIN criterion c ON c.id = s.criterion_id "
    "WHERE s.assessment_id IN ({ids}) ORDER BY s.assessment_id, c.code{collate}"
).replace("{columns}", ", s.".join(SELF_PART + APPRAISED_PART))
_SELF = len(SELF_PART)


def _sized(sql: str) -> str:
    """PostgreSQL's text of `_field` for a column or expression: '-' for none, else length:text."""
    return f"CASE WHEN {sql} IS NULL THEN '-' ELSE length({sql}::text) || ':' || {sql}::text END"


def _text(sql: str) -> str:
    return f"length({sql}) || ':' || {sql}"


# The same two digests computed by PostgreSQL in one grouped query (sha256() over the same lines as
# `_digests`), so that 910,000 rows are not fetched into Python at a national submission: tested equal.
_PG_DIGESTS = (
    "SELECT s.assessment_id, "
    "encode(sha256(convert_to(string_agg({mine}, '' ORDER BY c.code COLLATE \"C\"), 'UTF8')), 'hex'), "
    "encode(sha256(convert_to(string_agg({theirs}, '' ORDER BY c.code COLLATE \"C\"), 'UTF8')), 'hex') "
    "FROM score s JOIN criterion c ON c.id = s.criterion_id WHERE s.assessment_id IN ({ids}) "
    "GROUP BY s.assessment_id"
).format(
    mine=" || ".join(
        [
            _text("c.code"),
            _sized("s.self_points"),
            "CASE WHEN s.not_applicable THEN '1' ELSE '0' END",
            _sized("s.metric"),
            *(_text(f"s.{column}") for column in ("evidence", "note", "explanation", "supplied_by")),
            "E'\\n'",
        ]
    ),
    theirs=" || ".join([_text("c.code"), _sized("s.appraised_points"), "E'\\n'"]),
    ids="{ids}",
)


def score_digests(
    session: Session, assessment_ids: Iterable[int], *, in_database: bool | None = None
) -> dict[int, dict[str, str]]:
    """{assessment id: {"self": sha256, "appraised": sha256}} of the rows stored now (an assessment without
    rows has the digests of nothing). PostgreSQL computes them itself unless `in_database` is False."""
    ids = sorted(set(assessment_ids))
    out = {aid: _digests(()) for aid in ids}
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql" if in_database is None else in_database
    for start in range(0, len(ids), 2_000):
        chunk = ids[start : start + 2_000]
        listed = ", ".join(str(int(i)) for i in chunk)
        if postgres:
            for aid, mine, theirs in connection.exec_driver_sql(_PG_DIGESTS.replace("{ids}", listed)):
                out[int(aid)] = {"self": str(mine), "appraised": str(theirs)}
            continue
        rows = connection.exec_driver_sql(
            _ROWS.format(ids=listed, collate=' COLLATE "C"' if connection.dialect.name == "postgresql" else "")
        )
        current: int | None = None
        group: list[Sequence[object]] = []
        for row in rows:
            if row[0] != current:
                if current is not None:
                    out[current] = _digests(group)
                current, group = row[0], []
            group.append(row)
        if current is not None:
            out[current] = _digests(group)
    return out


def _digests(rows: Iterable[Sequence[object]]) -> dict[str, str]:
    """The two digests of an assessment's rows. Each value is written with its length before it, so that no
    text moved from one column to the next keeps a digest (and a missing value differs from an empty one);
    a boolean is 0/1 on SQLite and true/false on PostgreSQL, and is written 0 or 1 on both."""
    mine: list[str] = []
    theirs: list[str] = []
    f = _field
    for _, code, points, na, metric, evidence, note, explanation, supplied_by, appraised in rows:
        c = f"{len(code)}:{code}"  # type: ignore[arg-type]  # the texts are NOT NULL columns
        mine.append(
            f"{c}{f(points)}{'1' if na else '0'}{f(metric)}{len(evidence)}:{evidence}{len(note)}:{note}"  # type: ignore[arg-type]
            f"{len(explanation)}:{explanation}{len(supplied_by)}:{supplied_by}\n"  # type: ignore[arg-type]
        )
        theirs.append(f"{c}{f(appraised)}\n")
    return {
        "self": hashlib.sha256("".join(mine).encode()).hexdigest(),
        "appraised": hashlib.sha256("".join(theirs).encode()).hexdigest(),
    }


def _field(value: object) -> str:
    """A stored value, unambiguously: `-` for none, else its length and its text (points are the stored
    whole hundredths on both engines)."""
    if value is None:
        return "-"
    text_ = str(value)
    return f"{len(text_)}:{text_}"


def digest_of_lines(lines: Iterable[tuple[Any, ...]]) -> str:
    """The digest of a publication's lines: (unit code, group, self total, appraised total, bonus, penalty,
    applicable maximum, index, class, rank, on time, {field: (points, maximum)}, previous index, previous
    rank), in any order. The same function reads the results computed and the results stored, so that
    `cchc audit verify` recomputes a publication's digest from its rows."""
    digest = hashlib.sha256()
    for line in sorted(lines, key=lambda x: str(x[0])):
        fields = ";".join(f"{code}={p}/{m}" for code, (p, m) in sorted(line[11].items()))
        head = "\t".join(str(v) for v in line[:11])
        digest.update(f"{head}\t{fields}\t{line[12]}\t{line[13]}\n".encode())
    return digest.hexdigest()


def imported_digest(entries: Iterable[tuple[str, Decimal, str]]) -> str:
    """The digest of a past year's imported results: (unit code, index, class) in code order. `cchc audit
    verify` recomputes it from the stored rows."""
    cents = Decimal("0.01")
    return hashlib.sha256(canonical(sorted((c, i.quantize(cents), k) for c, i, k in entries)).encode()).hexdigest()
