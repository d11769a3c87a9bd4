"""The parameters object of each flow: one pydantic model per flow, free to grow."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class FlowParams(BaseModel):
    """What every flow takes: the database, who acts, and the moment it acts at (now by default)."""

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; the configured one if None")
    actor: str | None = Field(default=None, description="Person code or e-mail; None = the system")
    at: datetime | None = Field(default=None, description="The moment to act at (aware); now if None")


class OpenCycleParams(FlowParams):
    year: int
    calendar_path: str | None = None  # config/cycles/<year>.yaml by default


class AdvanceParams(FlowParams):
    year: int
    reason: str = ""


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


class PublishParams(FlowParams):
    year: int | None = None
    reason: str = ""


class AwardsParams(FlowParams):
    year: int | None = None
    rules_path: str | None = None  # config/awards.yaml by default


class SweepParams(FlowParams):
    """`at` is the moment the sweep acts as of (a coordinator previews any future day with it)."""

    year: int | None = None


class FlushParams(FlowParams):
    batch: int = 500  # messages claimed and sent at a time
    max_batches: int = 1000
