"""Pure guards. Each takes the transition's Context and returns None to allow, or the reason it refuses.

No session, no SMTP, no clock: everything a guard looks at is in the Context, loaded beforehand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cchc.models.i18n import N_, tr
from cchc.models.org import Role
from cchc.models.people import Actor

Guard = Callable[["Context"], str | None]

UNIT_ROLES = frozenset({Role.head, Role.deputy, Role.focal})


@dataclass(frozen=True)
class AssessmentFacts:
    """What the guards of an assessment may look at, loaded set-based for many assessments at once."""

    assessment_id: int
    unit_code: str
    unit_name: str
    group: str
    state: str
    version: int
    cycle_year: int
    cycle_phase: str
    unscored: tuple[str, ...] = ()
    out_of_range: tuple[str, ...] = ()
    submitted_at: datetime | None = None
    framework_id: int = 0
    commitment_required: bool = False  # the cycle asks the head to sign before self-assessment
    commitment_signed: bool = False


@dataclass(frozen=True)
class CycleFacts:
    cycle_id: int
    year: int
    phase: str
    version: int
    counts: dict[str, int] = field(default_factory=dict)  # assessment state → how many
    submission_due: datetime | None = None


@dataclass(frozen=True)
class CommitmentFacts:
    """What the guards of a head's commitment may look at."""

    commitment_id: int
    unit_code: str
    unit_name: str
    state: str
    version: int
    parent_unit: str | None  # the counterpart's unit (None for the authority, whose counterpart is outside)
    parent_signed: bool
    heads: tuple[str, ...] = ()  # person codes of the unit's head(s)
    deputies: tuple[str, ...] = ()
    has_scan: bool = False


@dataclass(frozen=True)
class FollowUpFacts:
    """What the guards of a remediation plan or a breakthrough registration may look at."""

    follow_up_id: int
    unit_code: str
    kind: str  # remediation | breakthrough
    state: str
    publication_version: int  # the publication that required it (or waived it)


@dataclass(frozen=True)
class ContributionFacts:
    """What the guards of a team's or commune's assignment may look at (`unit_code`: the assessed unit)."""

    contribution_id: int
    unit_code: str
    contributor: str
    state: str


@dataclass(frozen=True)
class AwardFacts:
    """What the guards of an award proposal may look at."""

    award_id: int
    unit_code: str
    rule: str
    state: str


RecordFacts = AssessmentFacts | CommitmentFacts | FollowUpFacts | ContributionFacts | AwardFacts


@dataclass
class Context:
    """One attempt to fire a trigger (or to take an action): who, when, why, and the facts of the record
    (none for an action that concerns no record)."""

    actor: Actor
    at: datetime
    facts: RecordFacts | CycleFacts | None = None
    reason: str = ""
    criteria: tuple[str, ...] = ()

    @property
    def unit(self) -> AssessmentFacts:
        assert isinstance(self.facts, AssessmentFacts)
        return self.facts

    @property
    def unit_code(self) -> str:
        """The unit a record belongs to."""
        assert self.facts is not None and not isinstance(self.facts, CycleFacts)
        return self.facts.unit_code

    @property
    def commitment(self) -> CommitmentFacts:
        assert isinstance(self.facts, CommitmentFacts)
        return self.facts

    @property
    def cycle(self) -> CycleFacts:
        assert isinstance(self.facts, CycleFacts)
        return self.facts


def _codes(codes: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (" " + tr("and {n} more", n=len(codes) - limit) if len(codes) > limit else "")


# --- who may act ----------------------------------------------------------------------------------


def _only(who: str, allowed: Callable[[Actor], bool], name: str) -> Callable[[str], Guard]:
    """Guards that let only some people act, each saying what they do: `_only("a coordinator", …)("grants
    extensions")` refuses with "only a coordinator grants extensions, not Nguyễn Văn A (nva)"."""

    def guard_for(does: str) -> Guard:
        def guard(ctx: Context) -> str | None:
            if allowed(ctx.actor):
                return None
            return tr("only {who} {does}, not {actor}", who=tr(who), does=tr(does), actor=ctx.actor.label())

        guard.__name__ = name
        guard.__doc__ = f"Only {who} {does}."
        return guard

    return guard_for


coordinator_only = _only(N_("a coordinator"), lambda a: a.is_coordinator, "is_coordinator")
coordinator_or_leader = _only(
    N_("a coordinator or the authority's leadership"), lambda a: a.acts_for_authority, "is_coordinator_or_leader"
)
coordinator_leader_or_system = _only(
    N_("a coordinator or the authority's leadership"),
    lambda a: a.acts_for_authority or a.is_system,
    "is_authority_or_system",
)
leadership_only = _only(N_("the authority's head or a deputy"), lambda a: a.is_authority_leader, "is_authority_leader")


def is_unit_member_or_coordinator(ctx: Context) -> str | None:
    """The unit's head, deputy or focal officer acts for it; a coordinator may act on its behalf."""
    actor, unit = ctx.actor, ctx.unit_code
    if actor.is_coordinator:
        return None
    if actor.unit_code == unit and actor.roles & UNIT_ROLES:
        return None
    return tr(
        "{actor} is neither the head, a deputy or the focal officer of {unit} nor a coordinator",
        actor=actor.label(),
        unit=unit,
    )


def is_appraiser(ctx: Context) -> str | None:
    if "appraiser" in ctx.actor.roles:
        return None
    return tr("{actor} is not an appraiser", actor=ctx.actor.label())


def is_independent_of_unit(ctx: Context) -> str | None:
    """Nobody appraises their own unit."""
    if ctx.unit.unit_code in ctx.actor.own_units:
        return tr(
            "{actor} belongs to {unit} and cannot appraise their own unit",
            actor=ctx.actor.label(),
            unit=ctx.unit.unit_code,
        )
    return None


def is_authority_staff(ctx: Context) -> str | None:
    if ctx.actor.is_authority_staff:
        return None
    return tr(
        "{actor} does not act for the authority (a coordinator, appraiser or its leadership)",
        actor=ctx.actor.label(),
    )


def is_authority(ctx: Context) -> str | None:
    """Only the authority publishes: its coordinators or its leadership."""
    if ctx.actor.acts_for_authority:
        return None
    return tr(
        "only the authority publishes: {actor} is neither a coordinator nor the authority's leadership",
        actor=ctx.actor.label(),
    )


def is_authority_or_system(ctx: Context) -> str | None:
    """The orchestrator itself, or the authority's coordinators and leadership."""
    if ctx.actor.is_system or ctx.actor.acts_for_authority:
        return None
    return tr("{actor} does not act for the authority (a coordinator or its leadership does)", actor=ctx.actor.label())


# A publication is reopened only on the authority leadership's word.
is_authority_leader = leadership_only(N_("may reopen a publication"))


# --- what the record must satisfy -----------------------------------------------------------------


def has_all_applicable_scored(ctx: Context) -> str | None:
    unscored = ctx.unit.unscored
    if unscored:
        return tr("{n} applicable sub-criteria have no self-score: {codes}", n=len(unscored), codes=_codes(unscored))
    return None


def has_scores_within_range(ctx: Context) -> str | None:
    bad = ctx.unit.out_of_range
    if bad:
        return tr("{n} self-scores are outside 0..max: {codes}", n=len(bad), codes=_codes(bad))
    return None


def has_signed_commitment(ctx: Context) -> str | None:
    """Where the cycle says so, a unit reports its self-assessment only once its head has signed."""
    facts = ctx.unit
    if not facts.commitment_required or facts.commitment_signed:
        return None
    return tr(
        "the head of {unit} has not signed the responsibility commitment yet (the cycle requires it)",
        unit=facts.unit_code,
    )


def has_reason(ctx: Context) -> str | None:
    return None if ctx.reason.strip() else tr("a reason (note) is required")


def is_before_appraisal(ctx: Context) -> str | None:
    """A unit may withdraw (rút lại) its submission only until appraisal starts."""
    if ctx.unit.cycle_phase == "self_assessment":
        return None
    return tr(
        "appraisal of the {year} cycle has started: the submission can no longer be withdrawn",
        year=ctx.unit.cycle_year,
    )


def is_appraisal_open(ctx: Context) -> str | None:
    """Appraisal starts only after the self-assessment phase is closed."""
    if ctx.unit.cycle_phase in ("appraisal", "published"):
        return None
    return tr(
        "the {year} cycle is in phase {phase!r}; appraisal has not started",
        year=ctx.unit.cycle_year,
        phase=ctx.unit.cycle_phase,
    )


# --- the cycle ------------------------------------------------------------------------------------


def is_submission_closed(ctx: Context) -> str | None:
    """Appraisal starts after the submission deadline, or earlier once every unit has submitted."""
    cycle = ctx.cycle
    waiting = cycle.counts.get("plan", 0) + cycle.counts.get("self_assess", 0)
    if waiting == 0:
        return None
    if cycle.submission_due is not None and ctx.at >= cycle.submission_due:
        return None
    return tr("{n} units have not submitted and the submission deadline has not passed", n=waiting)


def has_all_assessments_ready(ctx: Context) -> str | None:
    cycle = ctx.cycle
    waiting = {s: n for s, n in cycle.counts.items() if s not in ("supplemented", "published", "awarded") and n}
    if not waiting:
        return None
    detail = ", ".join(f"{n} {s}" for s, n in sorted(waiting.items()))
    return tr("not every assessment is ready to publish ({detail})", detail=detail)


# --- heads' commitments ---------------------------------------------------------------------------


def signing_capacity(actor: Actor, facts: CommitmentFacts) -> str | None:
    """ "head" for the unit's head; "acting" for a deputy of a unit that has no head; else None."""
    if actor.code in facts.heads:
        return "head"
    if not facts.heads and actor.code in facts.deputies:
        return "acting"
    return None


def is_rightful_signer(ctx: Context) -> str | None:
    """The head signs; where a unit has no head, a deputy signs as acting; nobody signs for a unit they
    do not lead (Công văn 91/CAH-TH, item 1)."""
    facts = ctx.commitment
    if signing_capacity(ctx.actor, facts):
        return None
    if facts.heads:
        return tr(
            "{actor} does not lead {unit}: only its head signs its commitment",
            actor=ctx.actor.label(),
            unit=facts.unit_code,
        )
    return tr(
        "{actor} does not lead {unit}: only a deputy acting for its missing head signs its commitment",
        actor=ctx.actor.label(),
        unit=facts.unit_code,
    )


def is_counterpart_signed(ctx: Context) -> str | None:
    """Commitments cascade top-down: a head signs after the superior head has signed their own."""
    facts = ctx.commitment
    if facts.parent_signed:
        return None
    return tr(
        "the commitment of {unit} (the counterpart) is not signed yet: commitments go top-down",
        unit=facts.parent_unit,
    )


is_coordinator_or_leader = coordinator_or_leader(N_("records a paper signature"))


def has_scan(ctx: Context) -> str | None:
    return None if ctx.commitment.has_scan else tr("a paper signature is recorded with its scanned file")
