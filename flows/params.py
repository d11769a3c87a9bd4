"""The parameters object of each flow: one pydantic model per flow, free to grow."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class FlowParams(BaseModel):
    """What every flow takes: the database, who acts, and the moment it acts at (now by default)."""

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; the configured one if None")
    actor: str | None = Field(default=None, description="Person code or e-mail; None = the system")
    at: datetime | None = Field(default=None, description="The moment to act at (aware); now if None")


class OpenCycleParams(FlowParams):
    year: int
    calendar_path: str | None = None  # config/cycles/<year>.yaml by default
    from_year: int | None = None  # carry that year's calendar forward (dates +1 year, next frameworks)


class AdvanceParams(FlowParams):
    year: int
    reason: str = ""
    remediation_rules_path: str | None = None  # config/remediation.yaml if None (entering remediation)


class ImportParams(FlowParams):
    path: str
    year: int | None = None  # the newest open cycle if None


class SubmitParams(FlowParams):
    year: int | None = None
    units: list[str] = Field(default_factory=list)  # empty = every unit ready to submit (coordinators)


class AppraiseParams(FlowParams):
    year: int | None = None
    units: list[str] = Field(default_factory=list)  # empty = every unit waiting for (re)appraisal
    scores_path: str | None = None  # the appraiser's own scores: unit, criterion, score, note
    group: str | None = None  # one unit group's units only (its code); None = every group


class PublishParams(FlowParams):
    year: int | None = None
    reason: str = ""


class AwardsParams(FlowParams):
    year: int | None = None
    rules_path: str | None = None  # config/awards.yaml by default


class SweepParams(FlowParams):
    """`at` is the moment the sweep acts as of (a coordinator previews any future day with it)."""

    year: int | None = None
    # one part of the cycle's items only: a unit group's code, or NO_GROUP for the items that belong to no
    # group of the cycle (the authority's own commitment); None = the whole cycle
    group: str | None = None


NO_GROUP = "-"


class FanOut(BaseModel):
    """How a parent flow shares its work out: one run of a child deployment per group, which any worker of
    the deployment's work pool may take; the parent waits for them all."""

    deployment: str  # the child deployment, "flow-name/deployment-name"
    poll_s: float = Field(default=2.0, gt=0, description="How often the parent looks at its children's states")
    timeout_s: float | None = Field(default=3600.0, gt=0, description="Stop waiting after this long (None: never)")


class SweepByGroupParams(SweepParams, FanOut):
    deployment: str = "deadline-sweep-group/sweep-group"


class AppraiseByGroupParams(AppraiseParams, FanOut):
    deployment: str = "appraise-group/appraise-group"


class FlushParams(FlowParams):
    batch: int = 500  # messages claimed and sent at a time
    max_batches: int = 1000


class Listing(Generic[T]):
    """A list that a flow or task returns without Prefect walking every item of it.

    Prefect visits every list, tuple, dict and dataclass a task returns, looking for futures to resolve:
    10,000 lines of a sweep cost it ~0.3 s. This holder is none of those, so it is passed as it is."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[T] = ()) -> None:
        self.items: list[T] = list(items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __bool__(self) -> bool:
        return bool(self.items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Listing):
            return self.items == other.items
        return isinstance(other, list) and self.items == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Listing({self.items!r})"

    def append(self, item: T) -> None:
        self.items.append(item)

    def extend(self, items: Iterable[T]) -> None:
        self.items.extend(items)

    def sort(self, *, key: Callable[[T], Any]) -> None:
        self.items.sort(key=key)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[T]:
        """`dataclasses.asdict` deep-copies fields: give it a plain list."""
        from copy import deepcopy

        return [deepcopy(item, memo) for item in self.items]


class CommitmentParams(FlowParams):
    year: int | None = None
