"""The resident query helper: one warm process per home that runs the CLI's read commands, so that
`threshold query` answers without paying ~1 s of imports each time (docs/operations.md, "The resident
query helper").

- `protocol`: what client and helper share (the socket's place, its checks, framing, the helper's key);
  standard library only, imported by every `threshold` run.
- `client`: the thin client the CLI's root calls first (`forward`); standard library only.
- `helper`: the warm process: imports the command code once, then forks one child per command that runs
  the very same in-process command (same gateway call, same usage and audit events) on the caller's own
  stdin/stdout/stderr, environment, working directory and umask.
"""

COMMANDS = frozenset({"query", "datasets", "show", "usage"})
"""The read commands a helper runs (the first word of the command line). Here, with no import, so that
the CLI's root decides without importing the client: `threshold --help` pays nothing for it."""
