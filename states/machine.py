"""One shared `transitions` Machine per table per process; records are attached only while a trigger fires."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import Machine, MachineError

from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.states.guards import Context, Guard


class TransitionNotAllowed(UserError):
    """A trigger was refused: the state does not allow it, or a guard said why not."""

    def __init__(self, trigger: str, state: str, reason: str, subject: str = "") -> None:
        self.trigger = trigger
        self.state = state
        self.reason = reason
        self.subject = subject
        self.text = self._words()  # in the language of the moment it is raised
        super().__init__(self.text)

    def __str__(self) -> str:
        return self.text

    def _words(self) -> str:
        who = f"{self.subject}: " if self.subject else ""
        # in Vietnamese the reason alone: the guard's sentence says what is missing, not that a state is wrong
        return tr(
            "{who}cannot {trigger} from state {state!r}: {reason}",
            who=who,
            trigger=self.trigger.replace("_", " "),
            state=self.state,
            reason=self.reason,
        )


@dataclass(frozen=True)
class Move:
    """A row of a transition table: trigger, sources, destination (None = stays), guards, help."""

    trigger: str
    source: tuple[str, ...]
    dest: str | None
    guards: tuple[Guard, ...]
    help: str


class _Subject:
    """What the shared machine moves: a state and the context its guards read."""

    def __init__(self, state: str, ctx: Context | None) -> None:
        self.state = state
        self.ctx = ctx
        self.refusal: str | None = None


def _condition(guard: Guard) -> Any:
    def check(event: Any) -> bool:
        reason = guard(event.model.ctx)
        if reason:
            event.model.refusal = reason
            return False
        return True

    check.__name__ = guard.__name__
    return check


class _Slot:
    """A thread's subject, kept in the thread's local storage: when the thread ends, its storage goes and
    the subject is detached from the machine, so threads that come and go leave nothing attached."""

    def __init__(self, machine: StateMachine, subject: _Subject) -> None:
        self.machine = machine
        self.subject = subject

    def __del__(self) -> None:
        try:
            self.machine._release(self.subject)
        except Exception:  # noqa: BLE001, S110 - at interpreter exit the machine may already be gone
            pass


class StateMachine:
    """A transition table bound to one `transitions.Machine` (auto_transitions off).

    Records are never attached: each thread has one subject attached once, whose state and context are
    set before each trigger (attaching and detaching per record costs ~50 µs; this costs ~8 µs).
    """

    def __init__(self, states: type[StrEnum], table: Sequence[Move]) -> None:
        self.states = states
        self.table = tuple(table)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._triggers = frozenset(m.trigger for m in self.table)
        self._states = frozenset(s.value for s in states)
        self._machine = Machine(
            model=None,
            states=[s.value for s in states],
            transitions=[
                {
                    "trigger": m.trigger,
                    "source": list(m.source),
                    "dest": m.dest,
                    "conditions": [_condition(g) for g in m.guards],
                }
                for m in self.table
            ],
            initial=None,
            auto_transitions=False,
            send_event=True,
        )

    @property
    def triggers(self) -> list[str]:
        return sorted(self._triggers)

    def _subject(self) -> _Subject:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            subject = _Subject(next(iter(self._states)), None)
            with self._lock:
                self._machine.add_model(subject, initial=subject.state)
            slot = self._local.slot = _Slot(self, subject)
        return slot.subject

    def _release(self, subject: _Subject) -> None:
        with self._lock:
            self._machine.remove_model(subject)

    def allowed_from(self, state: str) -> list[str]:
        return sorted({m.trigger for m in self.table if state in m.source})

    def fire(self, trigger: str, state: str, ctx: Context, subject: str = "") -> str:
        """The state after `trigger` from `state`, or TransitionNotAllowed with the reason."""
        state = str(state)
        if trigger not in self._triggers:
            known = ", ".join(self.triggers)
            raise TransitionNotAllowed(trigger, state, tr("unknown trigger (known: {known})", known=known), subject)
        if state not in self._states:
            raise TransitionNotAllowed(trigger, state, tr("unknown state"), subject)
        model = self._subject()
        model.state, model.ctx, model.refusal = state, ctx, None
        try:
            moved = model.trigger(trigger)  # type: ignore[attr-defined]
        except MachineError:
            allowed = self.allowed_from(state)
            hint = (
                tr("from {state!r} only {moves}", state=state, moves=", ".join(allowed))
                if allowed
                else tr("nothing leaves {state!r}", state=state)
            )
            reason = tr("not a move of this state ({hint})", hint=hint)
            raise TransitionNotAllowed(trigger, state, reason, subject) from None
        finally:
            model.ctx = None
        if not moved:
            raise TransitionNotAllowed(trigger, state, model.refusal or tr("refused"), subject)
        return model.state

    def mermaid(self, title: str) -> str:
        """The state diagram as Mermaid text, generated from the table (for README.md)."""
        from transitions.extensions import GraphMachine

        graph = GraphMachine(
            states=[s.value for s in self.states],
            transitions=[
                {"trigger": m.trigger, "source": source, "dest": m.dest or source}
                for m in self.table
                for source in m.source
            ],
            initial=next(iter(self.states)).value,
            auto_transitions=False,
            graph_engine="mermaid",
            title=title,
            show_conditions=False,
        )
        text = str(graph.get_graph().draw(None))
        # Drop the styling lines (they mark an "active" state, which means nothing in a document).
        lines = [ln for ln in text.splitlines() if not ln.strip().startswith(("classDef", "Class "))]
        return "\n".join(ln.rstrip() for ln in lines if ln.strip() or not lines) + "\n"
