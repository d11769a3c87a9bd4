"""A head's responsibility commitment: drafted → sent → signed (or declined), re-drafted whenever its
document changes, so that a document changed after signing is signed again."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cchc.states import guards as g
from cchc.states.machine import Move, StateMachine


class CommitmentState(StrEnum):
    drafted = "drafted"
    sent = "sent"
    signed = "signed"
    declined = "declined"


C = CommitmentState

TRANSITIONS: tuple[Move, ...] = (
    Move(
        "send",
        (C.drafted,),
        C.sent,
        (g.is_authority_or_system, g.is_counterpart_signed),
        "the head is asked to sign, once the counterpart has signed their own commitment",
    ),
    Move(
        "sign",
        (C.sent,),
        C.signed,
        (g.is_rightful_signer,),
        "the head (or a deputy acting for a missing head) signs the exact document",
    ),
    Move("decline", (C.sent,), C.declined, (g.is_rightful_signer, g.has_reason), "the head declines, with a reason"),
    Move(
        "record_paper",
        (C.drafted, C.sent, C.declined),
        C.signed,
        (g.is_coordinator_or_leader, g.has_scan),
        "a coordinator records a signature made on paper, with its scanned file",
    ),
    Move(
        "revise",
        (C.drafted, C.sent, C.signed, C.declined),
        C.drafted,
        (g.is_authority_or_system,),
        "the document changed (a new head, new criteria or targets): it must be signed again",
    ),
)


@lru_cache(maxsize=1)
def commitment_machine() -> StateMachine:
    return StateMachine(CommitmentState, TRANSITIONS)
