"""Wall time, CPU time and peak memory of one child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time
    cpu_seconds: float  # user + system time, less sensitive than wall time to a busy machine
    peak_rss_bytes: int


def run_child(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to completion; its wall time, CPU time and own peak resident set size.

    ``os.wait4`` returns the rusage of exactly this child (``ru_maxrss``, KiB on Linux), where
    ``getrusage(RUSAGE_CHILDREN)`` reports the maximum over every child reaped so far. The peak
    covers the child itself, not processes it starts in turn.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    stderr = proc.stderr.read()  # drain first, so a chatty child cannot block on a full pipe
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen the child is already reaped
    proc.stderr.close()
    if proc.returncode != 0:
        sys.stderr.write(stderr.decode(errors="replace"))
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"
