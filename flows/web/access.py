"""Who may see and do what on the dashboard. Pure: decided from the person's roles and unit.

- The authority's staff (its coordinators, its appraisers and its leadership) see every unit.
- Everyone else sees their own unit only: a unit's head, deputy and focal officer, and a viewer (a person
  with none of these roles). Any other unit's page is refused.
- Actions: a coordinator runs the sweep; coordinators and appraisers (re-)appraise, request supplements
  and publish, and the flows then apply their own rules (nobody appraises their own unit, only the
  authority publishes, …) and audit what they did.
"""

from __future__ import annotations

from cchc.models.calendar import RecipientRole
from cchc.models.org import Role
from cchc.models.people import Actor
from cchc.states.labels import ROLE_LABELS
from cchc.states.permissions import Action, refusal

UNIT_ROLES = (Role.head, Role.deputy, Role.focal)


def sees_all(actor: Actor) -> bool:
    """The authority's staff see the whole cycle."""
    return actor.is_authority_staff


def may_view_unit(actor: Actor, unit_code: str) -> bool:
    return sees_all(actor) or actor.unit_code == unit_code


def may_sweep(actor: Actor) -> bool:
    """Offered to whom the sweep's own permission lets run it (states/permissions.py)."""
    return refusal(Action.run_sweep, actor) is None


def may_run_flows(actor: Actor) -> bool:
    """Appraise, request a supplement, publish: offered to coordinators and appraisers (the flows decide)."""
    return bool(actor.roles & {Role.coordinator, Role.appraiser}) or actor.is_authority_leader


def role_text(actor: Actor) -> str:
    """The person's roles in Vietnamese, or "xem" (viewer) when they hold none."""
    labels = [ROLE_LABELS[r] for r in (Role.coordinator, Role.appraiser, *UNIT_ROLES) if r in actor.roles]
    if actor.is_authority_leader:
        labels.insert(0, ROLE_LABELS[RecipientRole.authority_leadership])
    return ", ".join(dict.fromkeys(labels)) or "xem"
