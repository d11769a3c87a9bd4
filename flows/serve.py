"""`cchc serve`: the deadline sweep (daily, local time) and the outbox flush (every few minutes) served from
one process, on a Prefect server (its temporary server runs no scheduler). prefect.yaml deploys the same
flows to a work pool instead."""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval
from prefect.settings import PREFECT_API_URL

from cchc.config.settings import get_settings
from cchc.flows.notify import flush_flow
from cchc.flows.params import FlushParams, SweepParams
from cchc.flows.sweep import sweep_flow
from cchc.models.errors import UserError


def schedules(database_url: str | None, sweep_cron: str, flush_every_s: int) -> None:
    """Serve the deadline sweep (daily, local time) and the outbox flush (every few minutes) from this
    process. Prefect's temporary server runs no scheduler, so a real one must be running."""
    if not PREFECT_API_URL.value():
        raise UserError(
            "`cchc serve` needs a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (the temporary server runs no schedules)"
        )
    timezone = get_settings().timezone
    deployments = [
        sweep_flow.to_deployment(
            name="daily-sweep",
            schedule=Cron(sweep_cron, timezone=timezone),
            parameters={"params": SweepParams(database_url=database_url).model_dump(mode="json")},
        ),
        flush_flow.to_deployment(
            name="outbox-flush",
            schedule=Interval(flush_every_s, timezone=timezone),
            parameters={"params": FlushParams(database_url=database_url).model_dump(mode="json")},
        ),
    ]
    serve(*(d for d in deployments if isinstance(d, RunnerDeployment)))
