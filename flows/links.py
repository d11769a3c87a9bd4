"""The links that e-mails carry: each goes straight to the page where its action is done (the dashboard
resolves `/units/CODE?year=Y&task=T` to that page, after a login)."""

from __future__ import annotations

from urllib.parse import urlencode

TASK_OF_MESSAGE = {  # a message kind → the task whose page its link opens
    "supplement_request": "supplement",
    "remediation_request": "remediation",
    "breakthrough_request": "breakthrough",
}


def unit_link(public_url: str, code: str, year: int, task: str = "") -> str:
    """The dashboard's address for a unit's task in a cycle (the unit's page when there is no task)."""
    query = {"year": str(year), **({"task": task} if task else {})}
    return f"{public_url.rstrip('/')}/units/{code}?{urlencode(query)}"
