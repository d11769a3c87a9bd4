"""The one kind of failure a person can act on: its text is the sentence they read (bad input, a refused
move, a change made meanwhile, a missing set-up step). Every such exception of the project derives from
UserError, near its source; cchc.flows.errors turns any failure into the sentence shown."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad input, a refused move, a missing set-up step): one clear message."""
