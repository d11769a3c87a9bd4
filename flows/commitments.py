"""Heads' responsibility commitments (bản cam kết trách nhiệm của người đứng đầu), cascading top-down.

The commitments flow drafts one commitment per unit of the tree (to the calendar's depth) from the
Jinja2/Word templates, keeps the exact bytes by SHA-256, and sends each head a signing request with a
single-use link once the counterpart (the superior head) has signed their own. A signature records who,
when, in which capacity and the hash of the document signed; a document that changes afterwards is drafted
again and must be signed again. Unsigned commitments are chased by the deadline sweep.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import flow, task
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cchc.config.settings import get_settings
from cchc.flows.lookup import Deadlines, actor_for, cycle_of, shown, stored_framework
from cchc.flows.params import CommitmentParams
from cchc.flows.runtime import engine_for, local_tz, now
from cchc.models.audit import Event, EventDraft, append
from cchc.models.calendar import CommitmentPolicy, parse_commitments
from cchc.models.db import write_session
from cchc.models.directory import Directory, Recipient
from cchc.models.errors import UserError
from cchc.models.formats import local_time, vn_number
from cchc.models.framework import FrameworkDef
from cchc.models.people import Actor
from cchc.models.store import FileStore
from cchc.models.tables import Commitment, Cycle, CycleGroup, OrgUnit, Person
from cchc.notifications.documents import TITLES, CommitmentDoc, commitment_docx, commitment_html
from cchc.notifications.outbox import Queued, queue
from cchc.notifications.sealing import outbox_key, seal
from cchc.states.commitment import CommitmentState, commitment_machine
from cchc.states.guards import CommitmentFacts
from cchc.states.labels import task_phrase
from cchc.states.machine import TransitionNotAllowed
from cchc.states.permissions import Action, authorize
from cchc.states.workflow import Change, fire_records

C = CommitmentState


@dataclass(frozen=True)
class Node:
    """A unit of the commitment tree: the authority (level 0), its units (1), their teams and communes."""

    unit: OrgUnit
    level: int
    parent: OrgUnit | None
    assessed: OrgUnit | None  # the assessed unit it belongs to (itself at level 1)


@dataclass
class CommitmentsSummary:
    year: int
    drafted: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    total: int = 0


def policy_of(cycle: Cycle) -> CommitmentPolicy:
    problems: list[str] = []
    data = json.loads(cycle.commitment_policy or "{}")
    policy = parse_commitments(data, problems) if data else CommitmentPolicy()
    assert not problems, problems
    return policy


def tree(session: Session, cycle: Cycle, depth: int) -> list[Node]:
    """The active units from the authority down to `depth` levels, parents before children."""
    units = list(session.execute(select(OrgUnit).where(col(OrgUnit.active).is_(True))).scalars())
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    authority = next(u for u in units if u.id == cycle.authority_id)
    nodes = [Node(authority, 0, None, None)]
    frontier = [nodes[0]]
    while frontier:
        following = []
        for node in frontier:
            if node.level >= depth:
                continue
            for child in sorted(children.get(node.unit.id, []), key=lambda u: u.code):
                assessed = child if node.level == 0 else node.assessed
                if node.level == 0 and child.group_code is None:
                    continue  # the authority's own staff teams are not committed separately
                following.append(Node(child, node.level + 1, node.unit, assessed))
        nodes += following
        frontier = following
    return nodes


def _title(unit: OrgUnit, acting: bool) -> str:
    title = TITLES.get(unit.kind, "Thủ trưởng")
    return f"Phó {title[0].lower()}{title[1:]} phụ trách" if acting else title


def signer_of(directory: Directory, unit: OrgUnit) -> tuple[list[Recipient], bool]:
    """Who signs for a unit (its head, or its deputies when it has none) and whether they act for a head."""
    assert unit.id is not None
    heads = directory.people(unit.id, "head")
    return (heads, False) if heads else (directory.people(unit.id, "deputy"), True)


@dataclass
class Sources:
    """What every commitment of a cycle is written from, loaded once."""

    cycle: Cycle
    policy: CommitmentPolicy
    directory: Directory
    frameworks: dict[str, FrameworkDef]  # group → framework
    deadlines: dict[str, Deadlines]  # phase → deadlines

    @classmethod
    def load(cls, session: Session, cycle: Cycle) -> Sources:
        frameworks = {
            group: stored_framework(session, fid)
            for group, fid in session.execute(
                select(col(CycleGroup.group_code), col(CycleGroup.framework_id)).where(
                    col(CycleGroup.cycle_id) == cycle.id
                )
            ).tuples()
            if fid is not None
        }
        deadlines = {phase: Deadlines(session, cycle, phase) for phase in ("plan", "submission", "supplement")}
        return cls(cycle, policy_of(cycle), Directory(session), frameworks, deadlines)


def document_for(node: Node, sources: Sources, version: int) -> CommitmentDoc:
    """The commitment of a unit, from the organisation, its framework and the cycle's calendar (pure)."""
    cycle, policy, directory = sources.cycle, sources.policy, sources.directory
    signers, acting = signer_of(directory, node.unit)
    signer_name = " / ".join(p.name for p in signers) or "(đơn vị chưa có người đứng đầu)"
    if node.parent is None:
        counterpart_name, counterpart_title = policy.counterpart, ""
        parent_name = node.unit.name
    else:
        superiors, superior_acting = signer_of(directory, node.parent)
        counterpart_name = " / ".join(p.name for p in superiors) or f"Thủ trưởng {node.parent.name}"
        counterpart_title = f"{_title(node.parent, superior_acting)} {node.parent.name}"
        parent_name = node.parent.name
    assessed = node.assessed
    framework = sources.frameworks.get(assessed.group_code or "") if assessed is not None else None
    fields: tuple[tuple[str, str, str], ...] = ()
    scope = f"của {node.unit.name}"
    if assessed is not None and framework is not None:
        fields = tuple((f.code, f.name, vn_number(f.max_points)) for f in framework.fields)
        if node.level > 1:
            scope = f"thuộc chức năng, nhiệm vụ của {node.unit.name} trong Bộ tiêu chí của {assessed.name}"
    tz = str(local_tz())
    deadlines = tuple(
        (task_phrase(phase, "vi").capitalize(), local_time(due, tz, with_time=False))
        for phase, dates in sources.deadlines.items()
        if (due := dates.due(assessed.id or 0, assessed.group_code or "") if assessed else dates.default)
    )
    return CommitmentDoc(
        year=cycle.year,
        version=version,
        unit_code=node.unit.code,
        unit_name=node.unit.name,
        parent_unit_name=parent_name,
        signer_name=signer_name,
        signer_title=_title(node.unit, acting),
        counterpart_name=counterpart_name,
        counterpart_title=counterpart_title,
        plan_ref_text=f"Kế hoạch {cycle.title[0].lower()}{cycle.title[1:]}",
        fields_scope=scope,
        fields=fields,
        targets=policy.targets,
        deadlines=deadlines,
    )


def _documents(doc: CommitmentDoc, store: FileStore) -> tuple[str, str]:
    """Store the Word and HTML documents; their SHA-256."""
    return store.put(commitment_docx(doc), ".docx").sha256, store.put(commitment_html(doc), ".html").sha256


def facts_of(session: Session, commitment: Commitment, directory: Directory, scan: bool = False) -> CommitmentFacts:
    unit = session.get(OrgUnit, commitment.unit_id)
    assert unit is not None and commitment.id is not None
    parent = session.get(Commitment, commitment.parent_id) if commitment.parent_id else None
    parent_unit = session.get(OrgUnit, parent.unit_id) if parent else None
    return CommitmentFacts(
        commitment_id=commitment.id,
        unit_code=unit.code,
        unit_name=unit.name,
        state=commitment.state,
        version=commitment.version,
        parent_unit=parent_unit.code if parent_unit else None,
        parent_signed=parent is None or parent.state == C.signed,
        heads=tuple(p.code for p in directory.people(commitment.unit_id, "head")),
        deputies=tuple(p.code for p in directory.people(commitment.unit_id, "deputy")),
        has_scan=scan,
    )


def move(
    session: Session,
    cycle: Cycle,
    commitment: Commitment,
    trigger: str,
    actor: Actor,
    at: datetime,
    facts: CommitmentFacts,
    *,
    reason: str = "",
    values: dict[str, object] | None = None,
    payload: dict[str, object] | None = None,
) -> str:
    """Fire a trigger on a commitment: its new state, `values` and its event, through the workflow (which
    checks the version it was read in)."""
    assert commitment.id is not None
    change = Change(commitment.id, commitment.state, facts, values or {}, payload or {}, reason, commitment.version)
    (new_state,) = fire_records(
        session,
        commitment_machine(),
        Commitment,
        trigger,
        [change],
        actor,
        at,
        kind="commitment",
        cycle_year=cycle.year,
    )
    session.expire(commitment)
    return new_state


def send_ready(
    session: Session,
    cycle: Cycle,
    commitments: Sequence[Commitment],
    actor: Actor,
    at: datetime,
    directory: Directory,
) -> list[str]:
    """Send every drafted commitment whose counterpart has signed: a single-use link to its signer."""
    due = Deadlines(session, cycle, "commitment")
    authority = session.get(OrgUnit, cycle.authority_id)
    sent: list[str] = []
    for commitment in commitments:
        if commitment.state != C.drafted:
            continue
        facts = facts_of(session, commitment, directory)
        if not facts.parent_signed:
            continue
        signers, _ = signer_of(directory, session.get(OrgUnit, commitment.unit_id))  # type: ignore[arg-type]
        token, token_values = new_token(session, signers, at)
        deadline = due.default
        values = {"sent_at": at, **token_values}
        try:
            move(
                session,
                cycle,
                commitment,
                "send",
                actor,
                at,
                facts,
                values=values,
                payload={
                    "doc_version": commitment.doc_version,
                    "docx_sha256": commitment.docx_sha256,
                    "to": [p.code for p in signers],
                },
            )
        except TransitionNotAllowed:
            continue
        queue_request(
            session,
            cycle,
            commitment,
            facts.unit_name,
            facts.unit_code,
            signers,
            token,
            deadline or at + timedelta(days=7),
            authority.name if authority else "",
            at,
            f"commitment:{commitment.id}:v{commitment.doc_version}",
        )
        sent.append(facts.unit_code)
    return sent


def new_token(session: Session, signers: Sequence[Recipient], at: datetime) -> tuple[str, dict[str, object]]:
    """A new single-use signing token and what the commitment keeps of it: its SHA-256 (never the token),
    the one person it was sent to, and when it expires (`signing_link_days`)."""
    token = secrets.token_urlsafe(24)
    return token, {
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "token_person_id": person_id(session, signers[0]) if len(signers) == 1 else None,
        "token_expires_at": at + timedelta(days=get_settings().signing_link_days),
    }


def queue_request(
    session: Session,
    cycle: Cycle,
    commitment: Commitment,
    unit_name: str,
    unit_code: str,
    signers: Sequence[Recipient],
    token: str,
    due: datetime,
    authority: str,
    at: datetime,
    dedupe: str,
) -> None:
    """The signing request to each signer. Its link is a bearer secret: it is sealed in the outbox
    (notifications/sealing.py) and opened only when the message is composed, so neither the outbox nor a
    backup holds a link that signs."""
    settings = get_settings()
    link = f"{settings.public_url.rstrip('/')}/commitments/sign/{token}"
    sealed = seal({"link": link}, outbox_key(settings, create=True))
    queue(
        session,
        [
            Queued(
                dedupe_key=f"{dedupe}:{person.code}",
                kind="commitment_request",
                to_email=person.email,
                to_name=person.name,
                lang=settings.mail_lang,
                unit_code=unit_code,
                cycle_year=cycle.year,
                context={
                    "unit_name": unit_name,
                    "unit_code": unit_code,
                    "year": cycle.year,
                    "superior_name": commitment.counterpart_label,
                    "due": due.isoformat(),
                    "authority": authority,
                    **sealed,
                },
            )
            for person in signers
        ],
        at,
    )


@task(name="prepare-commitments")
def prepare(params: CommitmentParams) -> CommitmentsSummary:
    """Draft (or re-draft) every commitment of the tree and send those whose counterpart has signed."""
    settings = get_settings()
    at = params.at or now()
    with write_session(engine_for(params.database_url)) as session:
        cycle = cycle_of(session, params.year)
        actor = actor_for(session, params.actor, task="commitments")
        authorize(Action.prepare_commitments, actor, at)
        sources = Sources.load(session, cycle)
        nodes = tree(session, cycle, sources.policy.depth)
        directory = sources.directory
        store = FileStore(settings.store_dir)
        existing = {
            c.unit_id: c
            for c in session.execute(select(Commitment).where(col(Commitment.cycle_id) == cycle.id)).scalars()
        }
        summary = CommitmentsSummary(year=cycle.year, total=len(nodes))
        by_unit: dict[int, Commitment] = {}
        for node in nodes:
            assert node.unit.id is not None
            current = existing.get(node.unit.id)
            version = current.doc_version if current else 1
            doc = document_for(node, sources, version)
            docx, html = _documents(doc, store)
            parent = by_unit.get(node.parent.id) if node.parent and node.parent.id else None
            superiors = signer_of(directory, node.parent)[0] if node.parent else []
            counterpart = superiors[0] if superiors else None
            label = doc.counterpart_name + (f", {doc.counterpart_title}" if doc.counterpart_title else "")
            if current is None:
                cid = session.execute(
                    insert(Commitment)
                    .values(
                        cycle_id=cycle.id,
                        unit_id=node.unit.id,
                        parent_id=parent.id if parent else None,
                        level=node.level,
                        counterpart_label=label,
                        state=C.drafted,
                        version=1,
                        doc_version=1,
                        docx_sha256=docx,
                        html_sha256=html,
                        updated_at=at,
                        counterpart_person_id=person_id(session, counterpart),
                    )
                    .returning(col(Commitment.id))
                ).scalar_one()
                append(
                    session,
                    [
                        EventDraft(
                            kind="commitment",
                            trigger=Event.draft,
                            actor=actor.code,
                            at=at,
                            cycle_year=cycle.year,
                            unit_code=node.unit.code,
                            to_state=C.drafted,
                            payload={"doc_version": 1, "docx_sha256": docx, "html_sha256": html, "counterpart": label},
                        )
                    ],
                )
                summary.drafted.append(node.unit.code)
                current = session.get(Commitment, cid)
                assert current is not None
            elif current.docx_sha256 != docx:
                revised = document_for(node, sources, version + 1)
                docx, html = _documents(revised, store)
                facts = facts_of(session, current, directory)
                move(
                    session,
                    cycle,
                    current,
                    "revise",
                    actor,
                    at,
                    facts,
                    reason="the document changed: it must be signed again",
                    values={
                        "doc_version": version + 1,
                        "docx_sha256": docx,
                        "html_sha256": html,
                        "counterpart_label": label,
                        "token_hash": "",
                        "token_expires_at": None,
                    },
                    payload={"doc_version": version + 1, "docx_sha256": docx, "before": current.docx_sha256},
                )
                summary.revised.append(node.unit.code)
            by_unit[node.unit.id] = current
        ordered = [by_unit[n.unit.id] for n in nodes if n.unit.id in by_unit]
        summary.sent = send_ready(session, cycle, ordered, actor, at, directory)
        return summary


def person_id(session: Session, person: Recipient | None) -> int | None:
    if person is None:
        return None

    return session.execute(select(col(Person.id)).where(col(Person.code) == person.code)).scalar_one_or_none()


@flow(name="commitments")
def commitments_flow(params: CommitmentParams) -> CommitmentsSummary:
    """Draft the heads' commitments and send the signing requests, top-down."""
    return prepare(params)


def commitment_of(session: Session, cycle: Cycle, unit: str) -> Commitment:
    row = session.execute(
        select(Commitment)
        .join(OrgUnit, col(OrgUnit.id) == col(Commitment.unit_id))
        .where(col(Commitment.cycle_id) == cycle.id, col(OrgUnit.code) == unit)
    ).scalar_one_or_none()
    if row is None:
        raise UserError(f"{shown(unit)} has no commitment in the {cycle.year} cycle (run `cchc commitments prepare`)")
    return row
