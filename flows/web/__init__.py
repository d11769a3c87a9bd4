"""The coordinators' web dashboard: a server-rendered Starlette app (`cchc dashboard`).

Pages read through the functions that own their figures (cycle status, the progress report, the ranking,
the evidence registry, the audit trail); actions call the flows, which check roles and write the audit
trail. See `flows.web.app.create_app`.
"""
