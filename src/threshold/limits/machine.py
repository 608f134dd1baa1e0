"""What this process may use of the machine: memory (the machine's, or its cgroup's limit) and cores."""

from __future__ import annotations

import os
from pathlib import Path


def memory_bytes() -> int:
    """Memory this process may use: the smaller of the machine's and its cgroup's limit (containers)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


def engine_memory(configured: str) -> str:
    """The gateway engine's DuckDB memory limit: the configured one, else half of `memory_bytes()`."""
    if configured.strip():
        return configured.strip()
    return f"{max(256, memory_bytes() // 2 // 1024**2)}MiB"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def query_slots(configured: int) -> int:
    """Interactive queries running at once: the configured number, else twice the cores (at least 4)."""
    return configured if configured > 0 else max(4, 2 * cores())
