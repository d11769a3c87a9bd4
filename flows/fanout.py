"""Sharing a flow's work out between the workers of a work pool: the parent starts one run of a child
deployment per group (any worker of the pool may take each), waits for them all, and hands back their
results, or fails naming every group whose run did not complete.

The children keep their summaries as Prefect results (their flows persist them) for the parent to read:
with workers on several machines, the result storage must be one they share (a storage block named in
PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, or PREFECT_RESULTS_LOCAL_STORAGE_PATH on a shared mount)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect import task
from prefect.client.schemas.objects import State

from cchc.flows.params import NO_GROUP


class GroupRunsFailed(RuntimeError):
    """Some group runs did not complete (or their results could not be read); the message names each."""


@dataclass(frozen=True)
class GroupRun:
    group: str
    flow_run_id: UUID
    name: str


def run_name(prefix: str, group: str) -> str:
    return f"{prefix}-{'no-group' if group == NO_GROUP else group}"


@task(name="start-group-runs")
def start_group_runs(deployment: str, children: dict[str, dict[str, Any]], prefix: str) -> list[GroupRun]:
    """Start one run of the child deployment per group (`children`: each group's flow parameters); they
    wait in the work pool for any worker."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    runs: list[GroupRun] = []
    for group, params in children.items():
        name = run_name(prefix, group)
        run = run_deployment(deployment, parameters={"params": params}, flow_run_name=name, timeout=0)
        assert isinstance(run, FlowRun)  # called from sync code: the run itself, not a coroutine
        runs.append(GroupRun(group, run.id, name))
    return runs


@task(name="wait-for-group-runs")
def wait_for_group_runs(runs: list[GroupRun], poll_s: float, timeout_s: float | None) -> list[Any]:
    """Wait until every group run has finished; their results, in the order of `runs`."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ids = [r.flow_run_id for r in runs]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            found = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids))
            states = {flow_run.id: flow_run.state for flow_run in found if flow_run.state is not None}
            waiting = [r for r in runs if r.flow_run_id not in states or not states[r.flow_run_id].is_final()]
            if not waiting:
                break
            if deadline is not None and time.monotonic() > deadline:
                names = ", ".join(f"{r.name} ({_describe(states.get(r.flow_run_id))})" for r in waiting)
                raise GroupRunsFailed(f"group runs not finished after {timeout_s:g} s (they go on): {names}")
            time.sleep(poll_s)
    failed = [r for r in runs if not states[r.flow_run_id].is_completed()]
    if failed:
        raise GroupRunsFailed(
            f"{len(failed)} of {len(runs)} group runs did not complete: "
            + "; ".join(f"{r.name} ({_describe(states[r.flow_run_id])})" for r in failed)
        )
    results: list[Any] = []
    for r in runs:
        try:
            results.append(states[r.flow_run_id].result())
        except Exception as exc:  # noqa: BLE001 - whatever the storage says, the parent cannot go on
            raise GroupRunsFailed(
                f"{r.name} completed, but its result could not be read ({type(exc).__name__}: {exc}); workers "
                "on several machines need a shared result storage"
            ) from exc
    return results


def _describe(state: State | None) -> str:
    if state is None:
        return "not found"
    name = state.name or state.type.value
    return f"{name}: {state.message}" if state.message else name
