"""The files of a unit's own documents: its plan, its remediation plan and its breakthrough registration.

A unit sends each of them from its page as a dated reference (flows/deadlines.register_plan,
flows/remediation.receive_follow_up) and, with it, the signed document's file: kept in the content-addressed
store by its SHA-256 (every version; the name a person gave is only remembered), recorded against the
document it is the file of, audited under the person's name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.flows.evidence import kept_file_values
from cchc.flows.lookup import acting_for_unit, document_ref, kept_ref
from cchc.flows.runtime import engine_for, now
from cchc.flows.worksheet import StoredFile
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import write_session
from cchc.models.errors import UserError
from cchc.models.store import Stored
from cchc.models.tables import DocumentFile, FollowUp
from cchc.models.text import collapse_lines

KINDS = ("plan", "remediation", "breakthrough")


def recorded_ref(kind: str, ref: str) -> str:
    """A document's reference written as the unit's record keeps it (a plan's as typed, on one line; a
    follow-up's as its parsed reference)."""
    return kept_ref(collapse_lines(ref)) if kind == "plan" else str(document_ref(ref))


def attach_document_file(
    database_url: str | None,
    year: int | None,
    unit: str,
    kind: str,
    ref: str,
    stored: Stored,
    suffix: str,
    name: str,
    actor_ident: str | None,
    at: datetime | None = None,
) -> bool:
    """Record a file already kept in the store as the file of one of the unit's documents, which must be
    the one on record (sent just before, or earlier); True if new, False when these bytes already were."""
    if kind not in KINDS:
        raise UserError(f"unknown kind of document {kind!r} (expected one of {', '.join(KINDS)})")
    document = recorded_ref(kind, ref)
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle, actor, assessment, _ = acting_for_unit(session, year, unit, actor_ident, when)
        if _on_record(session, assessment.id, kind, assessment.plan_ref) != document:
            raise UserError(f"{unit} has no {kind} document {document} on record: send the document first")
        known = session.execute(
            select(col(DocumentFile.id)).where(
                col(DocumentFile.assessment_id) == assessment.id,
                col(DocumentFile.kind) == kind,
                col(DocumentFile.sha256) == stored.sha256,
            )
        ).first()
        if known is not None:
            return False
        session.execute(
            insert(DocumentFile).values(
                assessment_id=assessment.id,
                kind=kind,
                ref=document[:200],
                **kept_file_values(stored, suffix, name, actor.code, when),
            )
        )
        append(
            session,
            [
                EventDraft(
                    kind="document",
                    trigger=Event.document_file,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    reason=document,
                    payload={"document": kind, "sha256": stored.sha256, "file": name, "size": stored.size},
                )
            ],
        )
        return True


def _on_record(session: Session, assessment_id: int | None, kind: str, plan_ref: str | None) -> str | None:
    if kind == "plan":
        return plan_ref
    return session.execute(
        select(col(FollowUp.ref)).where(col(FollowUp.assessment_id) == assessment_id, col(FollowUp.kind) == kind)
    ).scalar()


def document_files(session: Session, assessment_id: int) -> dict[tuple[str, str], list[StoredFile]]:
    """The files of an assessment's documents by (kind, reference), oldest first."""
    files: dict[tuple[str, str], list[StoredFile]] = {}
    for f in session.execute(
        select(DocumentFile).where(col(DocumentFile.assessment_id) == assessment_id).order_by(col(DocumentFile.id))
    ).scalars():
        files.setdefault((f.kind, f.ref), []).append(
            StoredFile(f.file_name, f.sha256, f.size, f.added_at, f.added_by, f.suffix)
        )
    return files
