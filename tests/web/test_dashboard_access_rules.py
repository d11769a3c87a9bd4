"""Who sees what on the dashboard (pure: from the person's roles and unit)."""

from __future__ import annotations

import pytest
from people import actor, appraiser, coordinator, unit_officer

from cchc.flows.web.access import may_run_flows, may_sweep, may_view_unit, role_text, sees_all
from cchc.models.people import Actor

STAFF = {
    "a coordinator": coordinator(),
    "an appraiser": appraiser(),
    "the director": actor("gd", "head"),
    "a deputy director": actor("pgd1", "deputy"),
}
UNIT_PEOPLE = {
    "the unit's head": unit_officer("head", "PV05"),
    "its deputy": unit_officer("deputy", "PV05"),
    "its focal officer": unit_officer("focal", "PV05"),
    "a viewer (no role)": actor("pv05.clerk", unit="PV05"),
}


@pytest.mark.parametrize("who", STAFF)
def test_the_authority_s_staff_see_every_unit(who: str) -> None:
    person = STAFF[who]
    assert sees_all(person) and may_view_unit(person, "PV05") and may_view_unit(person, "CAH-CMG")
    assert may_run_flows(person)


@pytest.mark.parametrize("who", UNIT_PEOPLE)
def test_a_unit_s_people_see_their_own_unit_only(who: str) -> None:
    person: Actor = UNIT_PEOPLE[who]
    assert not sees_all(person)
    assert may_view_unit(person, "PV05") and not may_view_unit(person, "PV11")
    assert not may_run_flows(person) and not may_sweep(person)


def test_only_a_coordinator_runs_the_sweep() -> None:
    assert may_sweep(coordinator())
    assert not may_sweep(appraiser()) and not may_sweep(actor("gd", "head"))


def test_roles_are_named_in_vietnamese_and_a_person_without_one_is_a_viewer() -> None:
    assert role_text(coordinator()) == "bộ phận điều phối"
    assert role_text(actor("gd", "head")) == "lãnh đạo cơ quan, thủ trưởng đơn vị"
    assert role_text(actor("pv05.clerk", unit="PV05")) == "xem"
