"""The evidence registry: the documents units cite (filled from their imports), and their files.

A file is kept in the content-addressed store under its SHA-256: every version is kept, nothing is
overwritten, and the name a user gives is only remembered, never used as a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for, cycle_of, document_ref, member_refusal, unit_assessment
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.evidence import outside_window
from cchc.models.store import FileStore
from cchc.models.tables import Contribution, Evidence, EvidenceFile, OrgUnit
from cchc.models.text import collapse_lines

FILE_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".ods", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class EvidenceLine:
    symbol: str
    issued_on: date
    title: str
    cited_by: str
    files: list[tuple[str, str, int, datetime]] = field(default_factory=list)  # (name, sha256, size, added)


@dataclass
class Added:
    symbol: str
    sha256: str
    version: int  # how many files this document now has
    new: bool  # False when the same bytes were already kept


def add_file(
    database_url: str | None,
    year: int | None,
    unit: str,
    reference: str,
    file: Path,
    actor_ident: str | None,
    at: datetime | None = None,
) -> Added:
    """Keep a file for a document of a unit's evidence (the document is registered if new)."""
    when = at or now()
    ref = document_ref(reference)
    suffix = file.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise UserError(f"{file.name}: not a document or scan this registry keeps ({', '.join(FILE_SUFFIXES)})")
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(f"{file.name}: {size // 1_048_576} MiB is more than the 50 MiB a file may have")
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"{file}: cannot be read ({exc.strerror})") from None
    if not data:
        raise UserError(f"{file.name}: the file is empty")
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        assessment, org_unit = unit_assessment(session, cycle, unit)
        assert assessment.id is not None
        if member_refusal(cycle, assessment, org_unit, actor, when) and not _contributes(
            session, assessment.id, actor.unit_code
        ):
            raise UserError(f"{actor.label()} neither belongs to {unit} (or one of its contributors) nor coordinates")
        if outside_window([ref], cycle.evidence_from, cycle.evidence_to):
            raise UserError(f"{ref.symbol} is dated {ref.issued_on:%d/%m/%Y}, outside the cycle's evidence window")
        evidence = session.execute(
            select(Evidence).where(
                col(Evidence.assessment_id) == assessment.id,
                col(Evidence.symbol) == ref.symbol,
                col(Evidence.issued_on) == ref.issued_on,
            )
        ).scalar_one_or_none()
        if evidence is None:
            evidence_id = session.execute(
                insert(Evidence)
                .values(
                    cycle_id=cycle.id,
                    assessment_id=assessment.id,
                    symbol=ref.symbol,
                    number=ref.number,
                    doc_type=ref.doc_type,
                    issuer=ref.issuer,
                    issued_on=ref.issued_on,
                    title=ref.title,
                    cited_by=actor.unit_code or unit,
                    first_cited_at=when,
                )
                .returning(col(Evidence.id))
            ).scalar_one()
        else:
            evidence_id = evidence.id
        stored = FileStore(get_settings().store_dir).put(data, suffix)
        known = set(
            session.execute(
                select(col(EvidenceFile.sha256)).where(col(EvidenceFile.evidence_id) == evidence_id)
            ).scalars()
        )
        if stored.sha256 in known:
            return Added(ref.symbol, stored.sha256, len(known), False)
        session.execute(
            insert(EvidenceFile).values(
                evidence_id=evidence_id,
                sha256=stored.sha256,
                file_name=collapse_lines(file.name)[:200],
                suffix=suffix,
                size=stored.size,
                added_by=actor.code,
                added_at=when,
            )
        )
        append(
            session,
            [
                EventDraft(
                    kind="evidence",
                    trigger=Event.add_file,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    reason=str(ref),
                    payload={
                        "symbol": ref.symbol,
                        "issued_on": ref.issued_on,
                        "sha256": stored.sha256,
                        "file": file.name,
                        "version": len(known) + 1,
                    },
                )
            ],
        )
        return Added(ref.symbol, stored.sha256, len(known) + 1, True)


def _contributes(session: Session, assessment_id: int, unit_code: str | None) -> bool:
    """The unit is one of the assessment's contributors (a team or commune it assigned criteria to)."""
    if unit_code is None:
        return False
    return (
        session.execute(
            select(col(Contribution.id))
            .join(OrgUnit, col(OrgUnit.id) == col(Contribution.unit_id))
            .where(col(Contribution.assessment_id) == assessment_id, col(OrgUnit.code) == unit_code)
        ).first()
        is not None
    )


def registry(database_url: str | None, year: int | None, unit: str) -> list[EvidenceLine]:
    """A unit's cited documents, each with every version of its file."""
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        assessment, _ = unit_assessment(session, cycle, unit)
        documents = list(
            session.execute(
                select(Evidence)
                .where(col(Evidence.assessment_id) == assessment.id)
                .order_by(col(Evidence.issued_on), col(Evidence.symbol))
            ).scalars()
        )
        files: dict[int, list[tuple[str, str, int, datetime]]] = {}
        for f in session.execute(
            select(EvidenceFile)
            .where(col(EvidenceFile.evidence_id).in_([d.id for d in documents]))
            .order_by(col(EvidenceFile.id))
        ).scalars():
            files.setdefault(f.evidence_id, []).append((f.file_name, f.sha256, f.size, f.added_at))
        return [EvidenceLine(d.symbol, d.issued_on, d.title, d.cited_by, files.get(d.id or 0, [])) for d in documents]
