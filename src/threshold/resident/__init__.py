"""The resident query helper: one warm process per home that runs the CLI's read commands and `share`, so
that `threshold query` answers, and `threshold share` starts converting, without paying ~1.5 s of imports
and start-up each time (docs/operations.md, "The resident query helper").

- `protocol`: what client and helper share (the socket's place, its checks, framing, the helper's key);
  standard library only, imported by every `threshold` run.
- `client`: the thin client the CLI's root calls first (`forward`); standard library only.
- `helper`: the warm process: imports the command code once, then forks one child per command that runs
  the very same in-process command (same gateway call, same usage and audit events) on the caller's own
  stdin/stdout/stderr, environment, working directory and umask.
"""

COMMANDS = frozenset({"query", "datasets", "show", "usage", "share"})
"""The commands a helper runs (the first word of the command line): the read commands, and `share`, whose file
a child opens with the caller's credentials (the helper's key includes them) from the caller's working
directory. Here, with no import, so that the CLI's root decides without importing the client: `threshold
--help` pays nothing for it."""
