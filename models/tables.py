"""SQLModel tables: the storage of the domain. Rows are storage; the workflows in states/ move them.

Conventions: points and percentages are `Points` (exact, two decimals); times are `UTCDateTime`;
JSON documents are text written with `models.text.canonical`.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cchc.models.types import Points, UTCDateTime


def _points(nullable: bool = False, default: Decimal | None = None) -> Decimal | None:
    return Field(default=default, sa_type=Points, nullable=nullable)


def _when(nullable: bool = True) -> datetime | None:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def _text(default: str = "") -> str:
    return Field(default=default, sa_type=Text, nullable=False)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's SQLAlchemy `Table` (SQLModel sets `__table__` at runtime, untyped)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- the organisation ---------------------------------------------------------------------------


class UnitGroup(SQLModel, table=True):
    """A group of assessed units scored and ranked separately (e.g. district police)."""

    __tablename__ = "unit_group"
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=300)
    position: int = 0  # the order groups are listed in (the organisation file's)


class OrgUnit(SQLModel, table=True):
    """A node of the organisation tree: the authority, an assessed unit, a team, a commune."""

    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=300)
    kind: str = Field(max_length=30)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    group_code: str | None = Field(default=None, foreign_key="unit_group.code", max_length=40)
    active: bool = True


class Person(SQLModel, table=True):
    """Someone who acts in a cycle: a unit's head, deputy or focal officer, a coordinator, an appraiser."""

    __tablename__ = "person"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True, index=True)
    full_name: str = Field(max_length=200)
    email: str = Field(max_length=254, unique=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    active: bool = True


class PersonRole(SQLModel, table=True):
    """A role a person holds: head, deputy, focal, coordinator, appraiser."""

    __tablename__ = "person_role"
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=30)


# --- frameworks -----------------------------------------------------------------------------------


class Framework(SQLModel, table=True):
    """A framework file as it was when a cycle first used it (code + version, with its SHA-256)."""

    __tablename__ = "framework"
    __table_args__ = (UniqueConstraint("code", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60)
    version: int
    year: int
    group_code: str = Field(max_length=40)
    title: str = Field(max_length=400)
    total_points: Decimal = _points()  # type: ignore[assignment]
    illustrative: bool = False
    sha256: str = Field(max_length=64)
    document: str = _text()


class Criterion(SQLModel, table=True):
    """A field, criterion or sub-criterion of a stored framework. Only sub-criteria are scored."""

    __tablename__ = "criterion"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    code: str = Field(max_length=30)
    level: str = Field(max_length=12)  # field | criterion | sub
    parent_code: str | None = Field(default=None, max_length=30)
    field_code: str = Field(max_length=30)
    name: str = _text()
    max_points: Decimal = _points()  # type: ignore[assignment]
    evidence_required: bool = True
    method: str = Field(default="judged", max_length=20)
    metric: str | None = Field(default=None, sa_type=Text)
    tags: str = Field(default="", max_length=200)
    position: int = 0


# --- cycles and assessments -----------------------------------------------------------------------


class Cycle(SQLModel, table=True):
    """One year's PAR index cycle run by an authority."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("authority_id", "year"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    authority_id: int = Field(foreign_key="unit.id")
    title: str = Field(max_length=400)
    phase: str = Field(max_length=30)
    evidence_from: date | None = None
    evidence_to: date | None = None
    imported: bool = False  # a past year's published results taken in from paper, not run here
    opened_at: datetime | None = _when()
    config_sha256: str = Field(default="", max_length=64)
    chase_policy: str = _text("{}")  # how deadlines are chased (canonical JSON of the calendar's `chasing`)
    commitment_policy: str = _text("{}")  # the calendar's `commitments` (canonical JSON)
    version: int = 1


class CycleGroup(SQLModel, table=True):
    """Which framework a group of units is scored with in a cycle."""

    __tablename__ = "cycle_group"
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    group_code: str = Field(foreign_key="unit_group.code", primary_key=True, max_length=40)
    framework_id: int | None = Field(default=None, foreign_key="framework.id")


class Deadline(SQLModel, table=True):
    """When a phase's work is due: for the whole cycle, or overridden for a group or a unit."""

    __tablename__ = "deadline"
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    phase: str = Field(max_length=30)
    due_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    group_code: str | None = Field(default=None, max_length=40)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    reason: str = _text()  # why an override or extension was granted
    granted_by: str = Field(default="", max_length=80)
    granted_at: datetime | None = _when()


class Assessment(SQLModel, table=True):
    """One unit's assessment in one cycle; `state` moves only through states.workflow."""

    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("cycle_id", "unit_id"),
        Index("ix_assessment_cycle_state", "cycle_id", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id")
    unit_id: int = Field(foreign_key="unit.id")
    group_code: str = Field(foreign_key="unit_group.code", max_length=40)
    framework_id: int | None = Field(default=None, foreign_key="framework.id")
    state: str = Field(max_length=30)
    version: int = 1
    submitted_at: datetime | None = _when()
    appraisal_version: int = 0
    appraised_at: datetime | None = _when()
    supplement_note: str = _text()
    supplement_criteria: str = _text()  # comma-separated codes named by the last request
    supplement_due_at: datetime | None = _when()  # the last request's deadline
    plan_ref: str = Field(default="", max_length=120)  # the unit's own plan, e.g. "91/KH-CAH ngày 30/6/2021"
    plan_received_at: datetime | None = _when()
    updated_at: datetime | None = _when()


class Score(SQLModel, table=True):
    """One sub-criterion of one assessment: the unit's self-score and evidence, the appraised score."""

    __tablename__ = "score"
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True)
    criterion_id: int = Field(foreign_key="criterion.id", primary_key=True)
    self_points: Decimal | None = _points(nullable=True)
    not_applicable: bool = False
    metric: str | None = Field(default=None, max_length=60)
    evidence: str = _text()
    note: str = _text()
    explanation: str = Field(default="", sa_type=Text, nullable=False, sa_column_kwargs={"server_default": ""})
    # why evidence is missing or late (giải trình): the appraiser reads it beside the rules' "no evidence → 0"
    appraised_points: Decimal | None = _points(nullable=True)
    appraiser_points: Decimal | None = _points(nullable=True)  # an appraiser's own judgement, if given
    appraisal_note: str = _text()
    supplied_by: str = Field(default="", max_length=60)  # the unit or contributor (team, commune) who entered it


class Adjustment(SQLModel, table=True):
    """A bonus or penalty item (±2) granted to an assessment, with its reason."""

    __tablename__ = "adjustment"
    __table_args__ = (UniqueConstraint("assessment_id", "item_code"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    item_code: str = Field(max_length=20)
    kind: str = Field(max_length=10)  # bonus | penalty
    points: Decimal = _points()  # type: ignore[assignment]
    reason: str = _text()
    actor: str = Field(max_length=80)
    at: datetime = _when(nullable=False)  # type: ignore[assignment]
    revoked: bool = False


# --- publication and awards ---------------------------------------------------------------------


class Publication(SQLModel, table=True):
    """A published version of a cycle's results; a correction adds a version, never edits one."""

    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("cycle_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id")
    version: int
    published_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    published_by: str = Field(max_length=80)
    reason: str = _text()
    digest: str = Field(max_length=64)
    current: bool = True


class Result(SQLModel, table=True):
    """A unit's published result in one publication version."""

    __tablename__ = "result"
    publication_id: int = Field(foreign_key="publication.id", primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    group_code: str = Field(max_length=40)
    self_total: Decimal = _points()  # type: ignore[assignment]
    appraised_total: Decimal = _points()  # type: ignore[assignment]
    bonus: Decimal = _points()  # type: ignore[assignment]
    penalty: Decimal = _points()  # type: ignore[assignment]
    applicable_max: Decimal = _points()  # type: ignore[assignment]
    index_pct: Decimal = _points()  # type: ignore[assignment]
    class_code: str = Field(max_length=30)
    rank: int
    on_time: bool = False
    prev_index_pct: Decimal | None = _points(nullable=True)
    prev_rank: int | None = None


class FieldResult(SQLModel, table=True):
    """A unit's points in one field of the framework, in one publication version."""

    __tablename__ = "field_result"
    publication_id: int = Field(foreign_key="publication.id", primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True)
    field_code: str = Field(primary_key=True, max_length=30)
    points: Decimal = _points()  # type: ignore[assignment]
    max_points: Decimal = _points()  # type: ignore[assignment]
    pct: Decimal = _points()  # type: ignore[assignment]


class Award(SQLModel, table=True):
    """An award proposal for a unit, or the emulation standing of its head, derived from a publication."""

    __tablename__ = "award"
    __table_args__ = (UniqueConstraint("cycle_id", "assessment_id", "rule"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id")
    publication_id: int = Field(foreign_key="publication.id")
    assessment_id: int = Field(foreign_key="assessment.id")
    rule: str = Field(max_length=40)
    kind: str = Field(max_length=20)  # collective | head
    outcome: str = Field(max_length=40)  # e.g. certificate | not_considered | lowered_one_grade
    person_id: int | None = Field(default=None, foreign_key="person.id")
    status: str = Field(default="proposed", max_length=20)  # proposed | approved | rejected
    decision_ref: str = Field(default="", max_length=120)  # e.g. "125/QĐ-CAT ngày 30/9/2021"
    decided_by: str = Field(default="", max_length=80)
    decided_at: datetime | None = _when()
    note: str = _text()


class FollowUp(SQLModel, table=True):
    """What a unit owes after publication: a remediation plan (with the reasons, from the publication
    version that required it) or next year's breakthrough work; chased by the sweep until received."""

    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    assessment_id: int = Field(foreign_key="assessment.id")
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=20)  # remediation | breakthrough
    reasons: str = _text()  # JSON list of sentences
    publication_version: int
    state: str = Field(default="required", max_length=20)  # required | received | waived
    required_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    ref: str = Field(default="", max_length=200)  # the unit's document, e.g. "12/KH-CAH ngày 05/4/2022"
    note: str = _text()
    received_at: datetime | None = _when()
    received_by: str = Field(default="", max_length=80)


# --- evidence and contributors --------------------------------------------------------------------


class Evidence(SQLModel, table=True):
    """A document cited as evidence (tài liệu kiểm chứng) by a unit: number, type, issuer, date, title."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("assessment_id", "symbol", "issued_on"),)
    id: int | None = Field(default=None, primary_key=True)
    # no index of its own on cycle_id or assessment_id: the unique key (assessment_id, …) serves the
    # lookups, and every index is written again for each of the ~500,000 documents of a national import
    cycle_id: int = Field(foreign_key="cycle.id")
    assessment_id: int = Field(foreign_key="assessment.id")
    symbol: str = Field(max_length=80)  # e.g. 91/KH-CAH
    number: str = Field(max_length=20)
    doc_type: str = Field(max_length=10)
    issuer: str = Field(max_length=40)
    issued_on: date
    title: str = _text()
    cited_by: str = Field(default="", max_length=60)
    first_cited_at: datetime | None = _when()


class _KeptFile(SQLModel):
    """What is recorded of a file kept in the content-addressed store (its SHA-256 names it there; the name a
    person gave is only remembered), and who added it when."""

    sha256: str = Field(max_length=64)
    file_name: str = Field(max_length=200)
    suffix: str = Field(max_length=10)
    size: int
    added_by: str = Field(max_length=80)
    added_at: datetime = _when(nullable=False)  # type: ignore[assignment]


class EvidenceFile(_KeptFile, table=True):
    """A version of an evidence document's file, kept in the content-addressed store by its SHA-256."""

    __tablename__ = "evidence_file"
    __table_args__ = (UniqueConstraint("evidence_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)


class DocumentFile(_KeptFile, table=True):
    """A file of one of the unit's own documents (its plan, remediation plan or breakthrough registration),
    sent from the browser with the document's reference and kept in the content-addressed store."""

    __tablename__ = "document_file"
    __table_args__ = (UniqueConstraint("assessment_id", "kind", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    kind: str = Field(max_length=20)  # plan | remediation | breakthrough
    ref: str = Field(max_length=200)  # the document it is the file of, as recorded


class Contribution(SQLModel, table=True):
    """Sub-criteria a unit's team or commune supplies, by an internal deadline before the unit's own."""

    __tablename__ = "contribution"
    __table_args__ = (UniqueConstraint("assessment_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    assessment_id: int = Field(foreign_key="assessment.id")
    unit_id: int = Field(foreign_key="unit.id")  # the contributor
    criteria: str = _text()  # comma-separated sub-criterion codes
    due_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    state: str = Field(default="assigned", max_length=20)  # assigned | supplied
    assigned_by: str = Field(max_length=80)
    assigned_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    supplied_at: datetime | None = _when()


# --- responsibility commitments ------------------------------------------------------------------


class Commitment(SQLModel, table=True):
    """A head's responsibility commitment for one unit in one cycle, with its counterpart (the superior
    head), the exact document to sign (by hash) and the signature. `state` moves only through
    states.workflow."""

    __tablename__ = "commitment"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    parent_id: int | None = Field(default=None, foreign_key="commitment.id")  # the counterpart's commitment
    level: int = 0  # 0 the authority, 1 its units, 2 their teams and communes
    counterpart_person_id: int | None = Field(default=None, foreign_key="person.id")
    counterpart_label: str = Field(default="", max_length=300)
    state: str = Field(max_length=20)  # drafted | sent | signed | declined
    version: int = 1
    doc_version: int = 1
    docx_sha256: str = Field(max_length=64)
    html_sha256: str = Field(max_length=64)
    sent_at: datetime | None = _when()
    signed_at: datetime | None = _when()
    signed_by: str = Field(default="", max_length=80)
    capacity: str = Field(default="", max_length=20)  # head | acting | paper
    signed_sha256: str = Field(default="", max_length=64)  # the document signed, exactly
    scan_sha256: str = Field(default="", max_length=64)  # a paper signature's scanned file
    decline_reason: str = _text()
    token_hash: str = Field(default="", max_length=64)  # the single-use signing link (its SHA-256)
    token_person_id: int | None = Field(default=None, foreign_key="person.id")
    token_expires_at: datetime | None = _when()
    updated_at: datetime | None = _when()


# --- deadlines that act ---------------------------------------------------------------------------


class ChaseStep(SQLModel, table=True):
    """A reminder or escalation step that fired for an item with a deadline: recorded once per
    (item, phase, deadline, step), so a step is never sent twice however often the sweep runs."""

    __tablename__ = "chase_step"
    __table_args__ = (UniqueConstraint("item_kind", "item_id", "phase", "due_at", "step"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    item_kind: str = Field(max_length=20)  # assessment | commitment | contribution | follow_up
    item_id: int
    unit_code: str = Field(max_length=60)
    phase: str = Field(max_length=30)  # plan | submission | supplement | …
    due_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    step: str = Field(max_length=20)  # remind-7 | remind-3 | remind-1 | escalate-1 | …
    fired_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    recipients: int = 0


class OutboxMessage(SQLModel, table=True):
    """An e-mail to send, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    created_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    kind: str = Field(max_length=30)  # a template of notifications/templates
    lang: str = Field(default="vi", max_length=5)
    to_email: str = Field(max_length=254)
    to_name: str = Field(max_length=200)
    unit_code: str | None = Field(default=None, max_length=60)
    cycle_year: int | None = None
    context: str = _text("{}")  # canonical JSON: the template's data
    status: str = Field(default="pending", max_length=10)  # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    lease_until: datetime | None = _when()
    last_error: str = _text()
    sent_at: datetime | None = _when()


# --- the audit trail ------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """An append-only, hash-chained record of something that happened."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_unit_seq", "unit_code", "seq"),)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = _when(nullable=False)  # type: ignore[assignment]
    actor: str = Field(max_length=80, index=True)
    kind: str = Field(max_length=20)  # transition | score | adjustment | publication | cycle | org | award
    trigger: str = Field(max_length=40, index=True)
    cycle_year: int | None = None
    unit_code: str | None = Field(default=None, max_length=60)
    from_state: str | None = Field(default=None, max_length=30)
    to_state: str | None = Field(default=None, max_length=30)
    reason: str = _text()
    payload: str = _text("{}")
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """The chain's head (last sequence number and hash): a deleted last event is caught against it."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


__all__ = [
    "Adjustment",
    "Assessment",
    "AuditEvent",
    "AuditHead",
    "Award",
    "ChaseStep",
    "Commitment",
    "Contribution",
    "Evidence",
    "EvidenceFile",
    "DocumentFile",
    "Column",
    "Criterion",
    "Cycle",
    "CycleGroup",
    "Deadline",
    "FieldResult",
    "Framework",
    "Invitation",
    "LoginThrottle",
    "OrgUnit",
    "OutboxMessage",
    "Person",
    "PersonRole",
    "Publication",
    "Result",
    "Score",
    "UnitGroup",
    "WebSession",
    "table_of",
]


class Login(SQLModel, table=True):
    """A person's login to the dashboard: the argon2 hash of their password, never the password itself."""

    __tablename__ = "login"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    updated_at: datetime = _when(nullable=False)  # type: ignore[assignment]


class Invitation(SQLModel, table=True):
    """A single-use link to choose a dashboard password: an invitation ('invite') or a password reset
    ('reset'). Only the SHA-256 of the link's token is kept, never the token. A link is used once
    (`used_at`), expires (`expires_at`), and a newer link for the same person and purpose revokes it
    (`revoked_at`: kept for the record, never deleted)."""

    __tablename__ = "invitation"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    purpose: str = Field(max_length=10)  # invite | reset
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    created_by: str = Field(max_length=100)  # who sent it: a person's code, or system:… for "forgot password"
    expires_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()


class WebSession(SQLModel, table=True):
    """A dashboard session. Its browser's cookie carries a random id; only the id's SHA-256 is kept here (its
    primary key: one lookup per request), so a copy of the database opens no session. A session is good while
    `revoked_at` is unset and it is within the idle and absolute limits; it is revoked at logout, when the
    person's password changes, or by a coordinator (`revoked_why`: logout | password | revoked)."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)  # the SHA-256 (hex) of the cookie's session id
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    last_seen_at: datetime = _when(nullable=False)  # type: ignore[assignment]  # written at most once a minute
    revoked_at: datetime | None = _when()
    revoked_why: str | None = Field(default=None, max_length=20)
    address: str = Field(default="", max_length=64)  # the browser's address at the login
    user_agent: str = Field(default="", max_length=300)


class LoginThrottle(SQLModel, table=True):
    """Failed logins counted per account (`person:ID`, or `name:TYPED` for a name that is nobody's) and per
    address (`address:IP`), shared by every web process: `failures` since `window_start`; past the limit,
    logins for the key are refused until `locked_until`, for longer at each `lockouts`."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(default=0)  # attempts of the window not (yet) known to have succeeded
    window_start: datetime = _when(nullable=False)  # type: ignore[assignment]
    lockouts: int = Field(default=0)
    locked_until: datetime | None = _when()
    refusal_noted: bool = Field(default=False)  # the first attempt refused during this lockout is audited
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
