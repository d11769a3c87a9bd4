"""Who may take the actions that are not a move of a state machine (opening a cycle, granting an extension,
running the sweep, …): as data, each with the pure guards that decide it, as the machines' moves have
theirs. The flows ask before they act; the dashboard asks the same table which buttons to offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cchc.models.errors import UserError
from cchc.models.i18n import N_
from cchc.models.people import Actor
from cchc.states import guards as g


class Action(StrEnum):
    open_cycle = "open_cycle"
    prepare_commitments = "prepare_commitments"
    grant_extension = "grant_extension"
    import_results = "import_results"
    run_sweep = "run_sweep"
    adjust = "adjust"
    require_follow_ups = "require_follow_ups"
    invite_people = "invite_people"


@dataclass(frozen=True)
class Permission:
    action: Action
    guards: tuple[g.Guard, ...]
    help: str


def is_coordinator_inviting(ctx: g.Context) -> str | None:
    """Only a coordinator invites people to the dashboard (the dashboard shows this refusal as it is, so it is
    in Vietnamese; the shared guards of guards.py speak English to the command line)."""
    if ctx.actor.is_coordinator:
        return None
    return (
        f"Chỉ bộ phận điều phối mời người dùng vào bảng điều khiển; {ctx.actor.label()} không thuộc bộ phận điều phối."
    )


PERMISSIONS: dict[Action, Permission] = {
    p.action: p
    for p in (
        Permission(
            Action.open_cycle,
            (g.coordinator_leader_or_system(N_("opens a cycle")),),
            "open a year's cycle: frameworks, deadlines, one assessment per assessed unit",
        ),
        Permission(
            Action.prepare_commitments,
            (g.coordinator_leader_or_system(N_("prepares commitments")),),
            "draft the heads' commitments and send them for signing",
        ),
        Permission(
            Action.grant_extension,
            (g.coordinator_or_leader(N_("grants extensions")),),
            "give a unit a later deadline, with the reason",
        ),
        Permission(
            Action.import_results,
            (g.coordinator_or_leader(N_("imports results")),),
            "take in a past year's published results",
        ),
        Permission(
            Action.run_sweep, (g.coordinator_only(N_("runs the deadline sweep")),), "run the deadline sweep now"
        ),
        Permission(Action.adjust, (g.is_authority_staff,), "grant or revoke a bonus or penalty item"),
        Permission(
            Action.require_follow_ups,
            (g.coordinator_or_leader(N_("requires remediation")),),
            "after a corrected publication, require what the current version requires",
        ),
        Permission(
            Action.invite_people,
            (is_coordinator_inviting,),
            "invite people to the dashboard by e-mail (a single-use link to choose their password)",
        ),
    )
}


class ActionNotAllowed(UserError):
    """A person may not take an action: the sentence says who may."""

    def __init__(self, action: Action, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(reason)


def refusal(action: Action, actor: Actor, at: datetime | None = None) -> str | None:
    """Why `actor` may not take `action` (at `at`, now by default), or None."""
    ctx = g.Context(actor=actor, at=at or datetime.now(UTC))
    return next((reason for guard in PERMISSIONS[action].guards if (reason := guard(ctx))), None)


def authorize(action: Action, actor: Actor, at: datetime) -> None:
    """Go on, or ActionNotAllowed with the reason."""
    reason = refusal(action, actor, at)
    if reason:
        raise ActionNotAllowed(action, reason)
