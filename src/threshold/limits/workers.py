"""The per-process limits of a server run as several worker processes (`threshold serve --workers N`).

Admission (`person_queries`, `queries`) and the engine's memory are counted in each process: N workers
that each applied the configured figure would give a person N times their queries and the engines N times
the memory. So each worker gets its share: the figure divided by N, rounded down, and at least 1 (a worker
that admitted no query would refuse everyone it serves). When a figure is smaller than N, or not a
multiple of it, the total over the workers differs from the configured one; `share_of` says so in one line
each, and `threshold serve` prints them. A reverse proxy spreads a person's requests over the workers, so a
person may be refused (429) at their worker's share before they reach the total.
"""

from __future__ import annotations

from dataclasses import dataclass

from threshold.limits.machine import engine_memory, memory_bytes, query_slots
from threshold.limits.settings import LimitSettings


@dataclass(frozen=True)
class WorkerShare:
    """What each of `workers` processes may use, as settings overrides, and what differs from the total."""

    overrides: dict[str, str]
    """`THRESHOLD_LIMITS__<FIELD>` -> the value each worker applies."""
    notes: list[str]
    """One line per limit whose total over the workers is not the configured figure."""


def share_of(limits: LimitSettings, workers: int) -> WorkerShare:
    """Each worker's share of the per-process limits (`workers` >= 1; one worker keeps them whole)."""
    if workers <= 1:
        return WorkerShare({}, [])
    overrides: dict[str, str] = {}
    notes: list[str] = []
    for field, total in (("person_queries", limits.person_queries), ("queries", query_slots(limits.queries))):
        each = max(1, total // workers)
        overrides[f"THRESHOLD_LIMITS__{field.upper()}"] = str(each)
        if each * workers != total:
            notes.append(
                f"limits.{field} = {total} over {workers} workers: each worker admits {each}, "
                f"{each * workers} at once in all (set THRESHOLD_LIMITS__{field.upper()} to a multiple of {workers})"
            )
    if not limits.engine_memory.strip():  # half the machine's memory, shared by the workers' engines
        overrides["THRESHOLD_LIMITS__ENGINE_MEMORY"] = f"{max(256, memory_bytes() // 2 // workers // 1024**2)}MiB"
    else:
        overrides["THRESHOLD_LIMITS__ENGINE_MEMORY"] = _divided(engine_memory(limits.engine_memory), workers)
    return WorkerShare(overrides, notes)


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def _divided(memory: str, workers: int) -> str:
    """A DuckDB memory size (`8GB`, `512MiB`) divided by `workers`, in MiB (at least 256)."""
    text = memory.strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :]
    try:
        size = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return memory  # DuckDB will refuse it with its own message, as it would with one worker
    return f"{max(256, int(size / workers / 1024**2))}MiB"
