"""Pure guards. Each takes the transition's Context and returns None to allow, or the reason it refuses.

No session, no SMTP, no clock: everything a guard looks at is in the Context, loaded beforehand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

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
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


# --- who may act ----------------------------------------------------------------------------------


def _only(who: str, allowed: Callable[[Actor], bool], name: str) -> Callable[[str], Guard]:
    """Guards that let only some people act, each saying what they do: `_only("a coordinator", …)("grants
    extensions")` refuses with "only a coordinator grants extensions, not Nguyễn Văn A (nva)"."""

    def guard_for(does: str) -> Guard:
        def guard(ctx: Context) -> str | None:
            return None if allowed(ctx.actor) else f"only {who} {does}, not {ctx.actor.label()}"

        guard.__name__ = name
        guard.__doc__ = f"Only {who} {does}."
        return guard

    return guard_for


coordinator_only = _only("a coordinator", lambda a: a.is_coordinator, "is_coordinator")
coordinator_or_leader = _only(
    "a coordinator or the authority's leadership", lambda a: a.acts_for_authority, "is_coordinator_or_leader"
)
coordinator_leader_or_system = _only(
    "a coordinator or the authority's leadership",
    lambda a: a.acts_for_authority or a.is_system,
    "is_authority_or_system",
)
leadership_only = _only("the authority's head or a deputy", lambda a: a.is_authority_leader, "is_authority_leader")


def is_unit_member_or_coordinator(ctx: Context) -> str | None:
    """The unit's head, deputy or focal officer acts for it; a coordinator may act on its behalf."""
    actor, unit = ctx.actor, ctx.unit_code
    if actor.is_coordinator:
        return None
    if actor.unit_code == unit and actor.roles & UNIT_ROLES:
        return None
    return f"{actor.label()} is neither the head, a deputy or the focal officer of {unit} nor a coordinator"


def is_appraiser(ctx: Context) -> str | None:
    if "appraiser" in ctx.actor.roles:
        return None
    return f"{ctx.actor.label()} is not an appraiser"


def is_independent_of_unit(ctx: Context) -> str | None:
    """Nobody appraises their own unit."""
    if ctx.unit.unit_code in ctx.actor.own_units:
        return f"{ctx.actor.label()} belongs to {ctx.unit.unit_code} and cannot appraise their own unit"
    return None


def is_authority_staff(ctx: Context) -> str | None:
    if ctx.actor.is_authority_staff:
        return None
    return f"{ctx.actor.label()} does not act for the authority (a coordinator, appraiser or its leadership)"


def is_authority(ctx: Context) -> str | None:
    """Only the authority publishes: its coordinators or its leadership."""
    if ctx.actor.acts_for_authority:
        return None
    return f"only the authority publishes: {ctx.actor.label()} is neither a coordinator nor the authority's leadership"


def is_authority_or_system(ctx: Context) -> str | None:
    """The orchestrator itself, or the authority's coordinators and leadership."""
    if ctx.actor.is_system or ctx.actor.acts_for_authority:
        return None
    return f"{ctx.actor.label()} does not act for the authority (a coordinator or its leadership does)"


# A publication is reopened only on the authority leadership's word.
is_authority_leader = leadership_only("may reopen a publication")


# --- what the record must satisfy -----------------------------------------------------------------


def has_all_applicable_scored(ctx: Context) -> str | None:
    unscored = ctx.unit.unscored
    if unscored:
        return f"{len(unscored)} applicable sub-criteria have no self-score: {_codes(unscored)}"
    return None


def has_scores_within_range(ctx: Context) -> str | None:
    bad = ctx.unit.out_of_range
    if bad:
        return f"{len(bad)} self-scores are outside 0..max: {_codes(bad)}"
    return None


def has_signed_commitment(ctx: Context) -> str | None:
    """Where the cycle says so, a unit reports its self-assessment only once its head has signed."""
    facts = ctx.unit
    if not facts.commitment_required or facts.commitment_signed:
        return None
    return f"the head of {facts.unit_code} has not signed the responsibility commitment yet (the cycle requires it)"


def has_reason(ctx: Context) -> str | None:
    return None if ctx.reason.strip() else "a reason (note) is required"


def is_before_appraisal(ctx: Context) -> str | None:
    """A unit may withdraw (rút lại) its submission only until appraisal starts."""
    if ctx.unit.cycle_phase == "self_assessment":
        return None
    return f"appraisal of the {ctx.unit.cycle_year} cycle has started: the submission can no longer be withdrawn"


def is_appraisal_open(ctx: Context) -> str | None:
    """Appraisal starts only after the self-assessment phase is closed."""
    if ctx.unit.cycle_phase in ("appraisal", "published"):
        return None
    return f"the {ctx.unit.cycle_year} cycle is in phase {ctx.unit.cycle_phase!r}; appraisal has not started"


# --- the cycle ------------------------------------------------------------------------------------


def is_submission_closed(ctx: Context) -> str | None:
    """Appraisal starts after the submission deadline, or earlier once every unit has submitted."""
    cycle = ctx.cycle
    waiting = cycle.counts.get("plan", 0) + cycle.counts.get("self_assess", 0)
    if waiting == 0:
        return None
    if cycle.submission_due is not None and ctx.at >= cycle.submission_due:
        return None
    return f"{waiting} units have not submitted and the submission deadline has not passed"


def has_all_assessments_ready(ctx: Context) -> str | None:
    cycle = ctx.cycle
    waiting = {s: n for s, n in cycle.counts.items() if s not in ("supplemented", "published", "awarded") and n}
    if not waiting:
        return None
    detail = ", ".join(f"{n} {s}" for s, n in sorted(waiting.items()))
    return f"not every assessment is ready to publish ({detail})"


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
    who = "its head" if facts.heads else "a deputy acting for its missing head"
    return f"{ctx.actor.label()} does not lead {facts.unit_code}: only {who} signs its commitment"


def is_counterpart_signed(ctx: Context) -> str | None:
    """Commitments cascade top-down: a head signs after the superior head has signed their own."""
    facts = ctx.commitment
    if facts.parent_signed:
        return None
    return f"the commitment of {facts.parent_unit} (the counterpart) is not signed yet: commitments go top-down"


is_coordinator_or_leader = coordinator_or_leader("records a paper signature")


def has_scan(ctx: Context) -> str | None:
    return None if ctx.commitment.has_scan else "a paper signature is recorded with its scanned file"
