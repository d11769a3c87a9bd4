"""Signing the heads' commitments: by the head (or a deputy acting for a missing head), through the single-use
link or by name; declining with a reason; a paper signature with its scan; who signed and who is late."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.commitments import C, commitment_of, facts_of, move, new_token, queue_request, send_ready, signer_of
from cchc.flows.links import unit_link
from cchc.flows.lookup import Deadlines, actor_for, cycle_of
from cchc.flows.runtime import engine_for, local_tz, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.db import read_session, write_session
from cchc.models.directory import Directory
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.people import Actor, resolve_actor
from cchc.models.store import FileStore
from cchc.models.tables import Assessment, Commitment, Cycle, OrgUnit, Person, table_of
from cchc.notifications.outbox import Queued, queue
from cchc.states.guards import CommitmentFacts, signing_capacity
from cchc.states.permissions import Action, authorize
from cchc.states.workflow import ConcurrentChange

SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")


@dataclass
class Signed:
    unit: str
    capacity: str
    sha256: str
    sent: list[str] = field(default_factory=list)  # the commitments below, now sent
    notified: list[str] = field(default_factory=list)  # told that a deputy signed as acting


def by_token(session: Session, token: str, at: datetime) -> Commitment:
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    row = session.execute(select(Commitment).where(col(Commitment.token_hash) == digest)).scalar_one_or_none()
    if row is None:
        raise UserError("this signing link is not valid, or it was already used")
    if row.token_expires_at is not None and row.token_expires_at < at:
        raise UserError("this signing link has expired; ask the coordinator for a new one")
    return row


def sign(
    database_url: str | None,
    year: int | None,
    actor_ident: str | None,
    *,
    unit: str | None = None,
    token: str | None = None,
    at: datetime | None = None,
) -> Signed:
    """Sign a commitment (by its unit, or by the single-use link's token) as the head or an acting deputy;
    the commitments below are then sent, and a deputy's signature is reported to the superior head."""
    when = at or now()
    if (unit is None) == (token is None):
        raise UserError("name the unit (--unit) or give the signing link's token (--token)")
    with write_session(engine_for(database_url)) as session:
        commitment = by_token(session, token, when) if token is not None else None
        cycle = session.get(Cycle, commitment.cycle_id) if commitment else cycle_of(session, year)
        assert cycle is not None
        commitment = commitment or commitment_of(session, cycle, unit or "")
        actor = (
            _link_holder(session, commitment)
            if token is not None and actor_ident is None
            else actor_for(session, actor_ident)
        )
        directory = Directory(session)
        facts = facts_of(session, commitment, directory)
        capacity = signing_capacity(actor, facts) or ""
        move(
            session,
            cycle,
            commitment,
            "sign",
            actor,
            when,
            facts,
            values={
                "signed_at": when,
                "signed_by": actor.code,
                "capacity": capacity,
                "signed_sha256": commitment.docx_sha256,
                "token_hash": "",
                "token_expires_at": None,
            },
            payload={
                "capacity": capacity,
                "sha256": commitment.docx_sha256,
                "doc_version": commitment.doc_version,
                **({"by_link": True} if token else {}),
            },
        )
        result = Signed(facts.unit_code, capacity, commitment.docx_sha256)
        if capacity == "acting":
            result.notified = _report_acting(session, cycle, commitment, facts, actor, when, directory)
        children = list(
            session.execute(
                select(Commitment).where(col(Commitment.parent_id) == commitment.id).order_by(col(Commitment.id))
            ).scalars()
        )
        result.sent = send_ready(
            session, cycle, children, actor_for(session, None, task="commitments"), when, directory
        )
        return result


def _link_holder(session: Session, commitment: Commitment) -> Actor:
    """Who a signing link was sent to (the link stands for that person)."""

    person = session.get(Person, commitment.token_person_id) if commitment.token_person_id else None
    if person is None:
        raise UserError("this link was sent to several deputies: say who signs with --as")
    return resolve_actor(session, person.code)


def _report_acting(
    session: Session,
    cycle: Cycle,
    commitment: Commitment,
    facts: CommitmentFacts,
    actor: Actor,
    at: datetime,
    directory: Directory,
) -> list[str]:
    """A deputy signed for a unit without a head: the superior head is told at once (000_ item 1)."""
    settings = get_settings()
    unit = session.get(OrgUnit, commitment.unit_id)
    assert unit is not None and unit.id is not None
    parent_id = directory.parent.get(unit.id)
    people = (directory.head_or_acting(parent_id) if parent_id is not None else []) or directory.coordinators
    context = {
        "unit_name": unit.name,
        "unit_code": unit.code,
        "year": cycle.year,
        "signer_name": actor.name,
        "signed_at": at.isoformat(),
        "sha256": commitment.docx_sha256,
        "authority": "",
        "link": unit_link(settings.public_url, unit.code, cycle.year),
    }
    queue(
        session,
        [
            Queued(
                f"acting:{commitment.id}:v{commitment.doc_version}:{p.code}",
                "acting_signature_notice",
                p.email,
                p.name,
                context,
                settings.mail_lang,
                unit.code,
                cycle.year,
            )
            for p in people
        ],
        at,
    )
    return [p.code for p in people]


def decline(
    database_url: str | None,
    year: int | None,
    unit: str,
    reason: str,
    actor_ident: str | None,
    at: datetime | None = None,
) -> None:
    """The head declines to sign, with a reason (the coordinators see it in the status and the trail)."""
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        commitment = commitment_of(session, cycle, unit)
        actor = actor_for(session, actor_ident)
        facts = facts_of(session, commitment, Directory(session))
        move(
            session,
            cycle,
            commitment,
            "decline",
            actor,
            when,
            facts,
            reason=reason,
            values={"decline_reason": reason, "token_hash": "", "token_expires_at": None},
        )


def record_paper(
    database_url: str | None,
    year: int | None,
    unit: str,
    scan: Path,
    signed_on: date,
    actor_ident: str | None,
    at: datetime | None = None,
) -> Signed:
    """Record a commitment signed on paper, with its scanned file (kept by SHA-256)."""
    when = at or now()
    if scan.suffix.lower() not in SCAN_SUFFIXES:
        raise UserError(f"{scan.name}: a scan is a PDF or an image ({', '.join(SCAN_SUFFIXES)})")
    try:
        data = scan.read_bytes()
    except OSError as exc:
        raise UserError(f"{scan}: cannot be read ({exc.strerror})") from None
    if not data:
        raise UserError(f"{scan}: the file is empty")
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        commitment = commitment_of(session, cycle, unit)
        actor = actor_for(session, actor_ident)
        directory = Directory(session)
        stored = FileStore(get_settings().store_dir).put(data, scan.suffix.lower())
        facts = facts_of(session, commitment, directory, scan=True)
        signers, acting = signer_of(directory, session.get(OrgUnit, commitment.unit_id))  # type: ignore[arg-type]
        signed_at = datetime.combine(signed_on, time(12, 0), local_tz())
        move(
            session,
            cycle,
            commitment,
            "record_paper",
            actor,
            when,
            facts,
            values={
                "signed_at": signed_at,
                "signed_by": signers[0].code if signers else "",
                "capacity": "paper",
                "signed_sha256": commitment.docx_sha256,
                "scan_sha256": stored.sha256,
                "token_hash": "",
                "token_expires_at": None,
            },
            payload={
                "capacity": "paper",
                "sha256": commitment.docx_sha256,
                "scan_sha256": stored.sha256,
                "scan": scan.name,
                "signed_on": signed_on.isoformat(),
                "acting": acting,
            },
        )
        children = list(
            session.execute(
                select(Commitment).where(col(Commitment.parent_id) == commitment.id).order_by(col(Commitment.id))
            ).scalars()
        )
        sent = send_ready(session, cycle, children, actor_for(session, None, task="commitments"), when, directory)
        return Signed(unit, "paper", commitment.docx_sha256, sent)


@dataclass
class CommitmentLine:
    unit: str
    name: str
    level: int
    state: str
    counterpart: str
    signed_by: str
    capacity: str
    signed_at: datetime | None
    due: datetime | None
    late: bool
    docx_sha256: str
    doc_version: int


def status(database_url: str | None, year: int | None, at: datetime | None = None) -> list[CommitmentLine]:
    """Every commitment of a cycle, top-down, with who signed and who is late."""
    moment = at or now()
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        due = Deadlines(session, cycle, "commitment")
        groups = dict(
            session.execute(
                select(col(Assessment.unit_id), col(Assessment.group_code)).where(col(Assessment.cycle_id) == cycle.id)
            )
            .tuples()
            .all()
        )
        rows = session.execute(
            select(Commitment, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == col(Commitment.unit_id))
            .where(col(Commitment.cycle_id) == cycle.id)
            .order_by(col(Commitment.level), col(OrgUnit.code))
        ).all()
        lines = []
        for commitment, unit in rows:
            deadline = due.due(unit.id or 0, groups.get(unit.id or 0, ""))
            late = commitment.state != C.signed and deadline is not None and moment >= deadline
            lines.append(
                CommitmentLine(
                    unit.code,
                    unit.name,
                    commitment.level,
                    commitment.state,
                    commitment.counterpart_label,
                    commitment.signed_by,
                    commitment.capacity,
                    commitment.signed_at,
                    deadline,
                    late,
                    commitment.docx_sha256,
                    commitment.doc_version,
                )
            )
        return lines


def document(database_url: str | None, year: int | None, unit: str, suffix: str) -> tuple[str, bytes]:
    """The stored document of a unit's current commitment (".docx" or ".html"): its name and bytes."""
    with read_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        commitment = commitment_of(session, cycle, unit)
        sha = commitment.docx_sha256 if suffix == ".docx" else commitment.html_sha256
        data = FileStore(get_settings().store_dir).read(sha, suffix)
        return f"cam-ket-{unit}-{cycle.year}-v{commitment.doc_version}{suffix}", data


def renew_link(
    database_url: str | None,
    year: int | None,
    unit: str,
    actor_ident: str | None,
    at: datetime | None = None,
    *,
    revoke: bool = False,
) -> list[str]:
    """A new signing link for a unit's commitment waiting to be signed (the old one stops working at once),
    or, with `revoke`, no link at all until the next renewal: the coordinator's answer to a link that
    expired, went to a wrong address or leaked. Audited; the people the new link was sent to are returned."""
    when = at or now()
    with write_session(engine_for(database_url)) as session:
        cycle = cycle_of(session, year)
        actor = actor_for(session, actor_ident)
        authorize(Action.prepare_commitments, actor, when)
        commitment = commitment_of(session, cycle, unit)
        if commitment.state != C.sent:
            raise UserError(tr("{unit}'s commitment is not waiting to be signed: it has no signing link", unit=unit))
        owner = session.get(OrgUnit, commitment.unit_id)
        assert owner is not None
        signers, _ = signer_of(Directory(session), owner)
        token, values = (
            new_token(session, signers, when) if not revoke else ("", {"token_hash": "", "token_expires_at": None})
        )
        table = table_of(Commitment)
        written = session.connection().execute(
            table.update()
            .where(table.c.id == commitment.id, table.c.state == C.sent, table.c.version == commitment.version)
            .values(**values, version=table.c.version + 1, updated_at=when)
        )
        if written.rowcount != 1:
            raise ConcurrentChange(
                tr("{unit}'s commitment changed meanwhile: nothing was written — look again", unit=unit)
            )
        append(
            session,
            [
                EventDraft(
                    kind="commitment",
                    trigger=Event.revoke_link if revoke else Event.renew_link,
                    actor=actor.code,
                    at=when,
                    cycle_year=cycle.year,
                    unit_code=unit,
                    payload={}
                    if revoke
                    else {"to": [p.code for p in signers], "expires_at": str(values["token_expires_at"])},
                )
            ],
        )
        if revoke:
            return []
        due = Deadlines(session, cycle, "commitment").default
        authority = session.get(OrgUnit, cycle.authority_id)
        queue_request(
            session,
            cycle,
            commitment,
            owner.name,
            unit,
            signers,
            token,
            due or when + timedelta(days=7),
            authority.name if authority else "",
            when,
            f"commitment:{commitment.id}:link:{when.isoformat()}",
        )
        return [p.code for p in signers]
