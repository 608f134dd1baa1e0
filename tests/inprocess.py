"""`threshold ARGS` run in the test's own process, as a command-line user would see it.

A `threshold` subprocess costs a Python start and the CLI's imports (a second or more on a loaded machine)
for each call; most CLI tests only need what the command prints and its exit code. `threshold(...)` runs
the real entry point (`threshold.cli.main`) here, in the environment a subprocess would get (only `PATH`,
`COLUMNS` and what the caller adds; no `THRESHOLD_*` of the test run), captures stdout and stderr, and
ends the way a process ends: background work drained, every platform the command opened closed (its
usage journal flushed). A few tests keep a real subprocess on purpose (the entry points, lazy imports,
signals, killed processes).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threshold.runtime import Clock


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` is exactly `env` inside the block, and as it was after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _platforms_closed_after(clock: Clock | None) -> Iterator[None]:
    """Close every platform opened inside the block when it ends (a process that exits closes them); each
    runs on `clock` when one is given."""
    from threshold.platform import Platform

    opened: list[Any] = []
    original = Platform.__dict__["open"]

    def open_and_remember(cls: type[Platform], *args: Any, **kwargs: Any) -> Platform:
        platform = original.__func__(cls, *args, **kwargs)
        opened.append(platform)
        if clock is not None:
            platform.clock = clock
        return platform

    Platform.open = classmethod(open_and_remember)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        Platform.open = original  # type: ignore[method-assign]
        for platform in opened:
            platform.close()


def _process_environment(columns: int) -> dict[str, str]:
    """What a `threshold` subprocess of a test sees: `PATH` and `COLUMNS`, and that it runs under pytest
    (a subprocess finds pytest among its parents; here the marker pytest sets says it), so the CLI keeps
    its test behaviour (no resident query helper is started)."""
    kept = {k: os.environ[k] for k in ("PYTEST_CURRENT_TEST",) if k in os.environ}
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": str(columns), **kept}


def _fresh_consoles() -> None:
    """Forget the CLI's Rich consoles: the next use makes them for this call's stdout, stderr and COLUMNS."""
    from threshold.commands import support

    for console in (support.out, support.err):
        console._console = None  # type: ignore[attr-defined]


def threshold(
    *args: str | Path,
    home: Path | None = None,
    columns: int = 80,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS [--home HOME]` in this process: its exit code, stdout and stderr. `clock`: the time
    of every platform the command opens (a test's home that runs on its own clock)."""
    from threshold import runtime
    from threshold.cli import main

    argv = ["threshold", *map(str, args), *(["--home", str(home)] if home is not None else [])]
    # Text streams over bytes, as a process's are: a command may write bytes to `sys.stdout.buffer` (CSV).
    stdout, stderr = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    code = 0
    saved_argv, saved_gc = sys.argv, gc.get_threshold()
    sys.argv = argv
    _fresh_consoles()
    try:
        with (
            _environment({**_process_environment(columns), **(env or {})}),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                with _platforms_closed_after(clock):
                    try:
                        main()
                    finally:
                        runtime.drain()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, int | None):
                    print(e.code, file=sys.stderr)
    finally:
        sys.argv = saved_argv
        gc.set_threshold(*saved_gc)  # an in-process `share` raises the third threshold for its process
        _fresh_consoles()
    return subprocess.CompletedProcess(argv, code, _text(stdout), _text(stderr))


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined,no-any-return]
