"""The Prefect flows that drive the cycle and the use cases they call (one module per step of the cycle),
what they share (errors, inputs, lookups, parameters, the process's set-up), and the front ends built on
them: the command line (cli/), the dashboard (web/), the reports (reports/) and the demo (demo/)."""
