"""Every state machine of the cycle by name, with its title: `cchc states NAME` prints its Mermaid diagram,
generated from its transition table, and README.md shows each (a test keeps them the same)."""

from __future__ import annotations

from collections.abc import Callable

from cchc.states.assessment import assessment_machine
from cchc.states.award import award_machine
from cchc.states.commitment import commitment_machine
from cchc.states.contribution import contribution_machine
from cchc.states.cycle import cycle_machine
from cchc.states.followup import follow_up_machine
from cchc.states.machine import StateMachine

MACHINES: dict[str, tuple[Callable[[], StateMachine], str]] = {
    "assessment": (assessment_machine, "Assessment of a unit"),
    "cycle": (cycle_machine, "Cycle"),
    "commitment": (commitment_machine, "A head's commitment"),
    "contribution": (contribution_machine, "A contributor's sub-criteria"),
    "follow-up": (follow_up_machine, "A remediation plan or a breakthrough registration"),
    "award": (award_machine, "An award proposal"),
}


def diagram(name: str) -> str:
    """The Mermaid diagram of a machine (KeyError for a name that is none)."""
    factory, title = MACHINES[name]
    return factory().mermaid(title)
