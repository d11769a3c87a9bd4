"""The evidence registry: the documents units cite (filled from their imports), and their files.

A file is kept in the content-addressed store under its SHA-256: every version is kept, nothing is
overwritten, and the name a user gives is only remembered, never used as a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import actor_for, cycle_of, document_ref, member_refusal, unit_assessment
from cchc.flows.runtime import engine_for, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.errors import UserError
from cchc.models.evidence import EvidenceRef, outside_window
from cchc.models.i18n import tr
from cchc.models.people import Actor
from cchc.models.store import FileStore, Stored, TooLarge
from cchc.models.tables import Assessment, Contribution, Cycle, Evidence, EvidenceFile, OrgUnit
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
    file_suffix(file.name, FILE_SUFFIXES)
    try:
        with file.open("rb") as stream:
            return add_stream(database_url, year, unit, reference, file.name, stream, actor_ident, at)
    except OSError as exc:
        raise UserError(tr("{path}: cannot be read ({why})", path=file, why=exc.strerror)) from None


def add_stream(
    database_url: str | None,
    year: int | None,
    unit: str,
    reference: str,
    name: str,
    stream: BinaryIO,
    actor_ident: str | None,
    at: datetime | None = None,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    suffixes: tuple[str, ...] = FILE_SUFFIXES,
) -> Added:
    """Keep a file read from a stream (the CLI's file, or a browser's upload) for a document of a unit's
    evidence: copied into the store a mebibyte at a time, never held whole in memory; the document is
    registered if new. Who may, and the document's date, are checked before anything is kept, and again
    in the writing transaction."""
    when = at or now()
    ref = document_ref(reference)
    name = file_name(name)
    file_suffix(name, suffixes)
    engine = engine_for(database_url)
    with read_session(engine) as session:
        _may_add(session, year, unit, actor_ident, ref, when)
    stored, suffix = keep_stream(name, stream, max_bytes=max_bytes, suffixes=suffixes)
    with write_session(engine) as session:
        cycle, actor, assessment = _may_add(session, year, unit, actor_ident, ref, when)
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
        known = set(
            session.execute(
                select(col(EvidenceFile.sha256)).where(col(EvidenceFile.evidence_id) == evidence_id)
            ).scalars()
        )
        if stored.sha256 in known:
            return Added(ref.symbol, stored.sha256, len(known), False)
        session.execute(
            insert(EvidenceFile).values(
                evidence_id=evidence_id, **kept_file_values(stored, suffix, name, actor.code, when)
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
                        "file": name,
                        "version": len(known) + 1,
                    },
                )
            ],
        )
        return Added(ref.symbol, stored.sha256, len(known) + 1, True)


def kept_file_values(stored: Stored, suffix: str, name: str, by: str, at: datetime) -> dict[str, object]:
    """The columns every record of a kept file has (models/tables.py `_KeptFile`)."""
    return {
        "sha256": stored.sha256,
        "file_name": name[:200],
        "suffix": suffix,
        "size": stored.size,
        "added_by": by,
        "added_at": at,
    }


def file_name(name: str) -> str:
    """The name a person gave a file, on one line (only remembered, never a path)."""
    return collapse_lines(name).strip() or "file"


def keep_stream(
    name: str, stream: BinaryIO, *, max_bytes: int = MAX_FILE_BYTES, suffixes: tuple[str, ...] = FILE_SUFFIXES
) -> tuple[Stored, str]:
    """A file read from a stream into the store a mebibyte at a time (never held whole in memory), with its
    suffix; a UserError naming the file when its kind is not kept, it is too large or it is empty."""
    suffix = file_suffix(name, suffixes)
    try:
        stored = FileStore(get_settings().store_dir).put_stream(stream, suffix, max_bytes)
    except TooLarge:
        raise UserError(
            tr("{name}: is more than the {n} MiB a file may have", name=name, n=max_bytes // 1_048_576)
        ) from None
    if not stored.size:
        raise UserError(tr("{name}: the file is empty", name=name))
    return stored, suffix


def file_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    """A file name's suffix, if it is one of the kinds of document kept (else a UserError)."""
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise UserError(
            tr("{name}: not a document or scan this registry keeps ({kinds})", name=name, kinds=", ".join(suffixes))
        )
    return suffix


def _may_add(
    session: Session, year: int | None, unit: str, actor_ident: str | None, ref: EvidenceRef, when: datetime
) -> tuple[Cycle, Actor, Assessment]:
    """The cycle, the actor and the unit's assessment, unless (UserError) the actor neither belongs to the
    unit (or one of its contributors) nor coordinates, or the document is dated outside the evidence
    window."""
    cycle = cycle_of(session, year)
    actor = actor_for(session, actor_ident)
    assessment, org_unit = unit_assessment(session, cycle, unit)
    assert assessment.id is not None
    if member_refusal(cycle, assessment, org_unit, actor, when) and not _contributes(
        session, assessment.id, actor.unit_code
    ):
        raise UserError(
            tr(
                "{actor} neither belongs to {unit} (or one of its contributors) nor coordinates",
                actor=actor.label(),
                unit=unit,
            )
        )
    if outside_window([ref], cycle.evidence_from, cycle.evidence_to):
        raise UserError(
            tr(
                "{symbol} is dated {day}, outside the cycle's evidence window",
                symbol=ref.symbol,
                day=f"{ref.issued_on:%d/%m/%Y}",
            )
        )
    return cycle, actor, assessment


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
