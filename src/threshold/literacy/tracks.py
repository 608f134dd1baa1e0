"""Learning tracks: tracks -> weeks -> tasks, read from a YAML file (docs/literacy.md describes it).

The shipped file (`tracks.yaml` beside this module) holds the ten-week programme; an organisation points
`literacy.tracks_file` at its own. Every task names the event (`threshold.events`) that completes it and an
optional condition on the facts of that event (`FACTS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from threshold.errors import InvalidInput, NotFound

FACTS: dict[str, tuple[str, ...]] = {
    "search_done": ("results",),
    "query_done": ("datasets", "domains", "interface"),
    "question_explored": ("datasets", "domains", "charted"),
    "insight_saved": ("audience", "shared"),
    "access_requested": ("dataset",),
    "request_reviewed": ("decision",),
    "problem_reported": ("dataset",),
    "term_proposed": (),
    "dataset_published": ("described", "mode"),
}
"""Event name -> the facts a task's condition may test (docs/literacy.md lists them)."""

SHIPPED = Path(__file__).with_name("tracks.yaml")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,98}$")
MAX_WEEKS = 52
MAX_TASKS = 500


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    event: str
    """The name of the event that completes it (`threshold.events`)."""
    condition: dict[str, Any] = field(default_factory=dict)
    """Facts the event must show: a number is a minimum, any other value must be equal."""
    hint: str = ""
    link: str = ""
    """The page (a path of the web interface) where the task is done."""
    week: int = 1

    def met_by(self, facts: dict[str, Any]) -> bool:
        """Whether an event with these facts completes the task."""
        for name, wanted in self.condition.items():
            got = facts.get(name)
            if isinstance(wanted, bool) or not isinstance(wanted, int | float):
                if got != wanted:
                    return False
            elif not isinstance(got, int | float) or got < wanted:
                return False
        return True


@dataclass(frozen=True)
class Week:
    number: int
    title: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Track:
    key: str
    title: str
    description: str
    weeks: tuple[Week, ...]

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(t for w in self.weeks for t in w.tasks)


def load(path: Path | None = None) -> tuple[Track, ...]:
    """The tracks of `path` (the shipped file when None), checked: unknown events, facts, duplicate keys
    and a malformed file are refused with the place of the mistake."""
    return _load(str(path or SHIPPED))


def track(tracks: tuple[Track, ...], key: str) -> Track:
    for t in tracks:
        if t.key == key:
            return t
    raise NotFound(f"no learning track {key!r}; there are: {', '.join(t.key for t in tracks)}")


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[Track, ...]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read the learning tracks file {Path(path).name}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise InvalidInput(f"the learning tracks file {Path(path).name} is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("tracks"), list) or not raw["tracks"]:
        raise InvalidInput("the learning tracks file needs a list 'tracks'")
    out: list[Track] = []
    for i, t in enumerate(raw["tracks"], 1):
        where = f"track {i}"
        t = _mapping(t, where)
        key = _key(t.get("key"), where)
        weeks_raw = t.get("weeks")
        if not isinstance(weeks_raw, list) or not 1 <= len(weeks_raw) <= MAX_WEEKS:
            raise InvalidInput(f"{where} ({key}) needs 1 to {MAX_WEEKS} weeks")
        seen: set[str] = set()
        weeks: list[Week] = []
        for n, w in enumerate(weeks_raw, 1):
            w = _mapping(w, f"{key} week {n}")
            tasks: list[Task] = []
            for j, task in enumerate(w.get("tasks") or [], 1):
                at = f"{key} week {n} task {j}"
                task = _mapping(task, at)
                tkey = _key(task.get("key"), at)
                if tkey in seen:
                    raise InvalidInput(f"{at}: task key {tkey!r} is used twice in track {key}")
                seen.add(tkey)
                event = str(task.get("event") or "")
                if event not in FACTS:
                    raise InvalidInput(f"{at} ({tkey}): event {event!r} is not one of {', '.join(sorted(FACTS))}")
                condition = _mapping(task.get("condition") or {}, f"{at} condition")
                unknown = sorted(set(condition) - set(FACTS[event]))
                if unknown:
                    raise InvalidInput(
                        f"{at} ({tkey}): {event} has no fact {', '.join(unknown)}; "
                        f"it has {', '.join(FACTS[event]) or 'none'}"
                    )
                tasks.append(
                    Task(
                        tkey,
                        _text(task.get("title"), f"{at} title"),
                        event,
                        dict(condition),
                        str(task.get("hint") or ""),
                        _link(task.get("link"), at),
                        n,
                    )
                )
            weeks.append(Week(n, str(w.get("title") or f"Week {n}"), tuple(tasks)))
        track_ = Track(
            key, _text(t.get("title"), f"{where} title"), str(t.get("description") or "").strip(), tuple(weeks)
        )
        if not track_.tasks or len(track_.tasks) > MAX_TASKS:
            raise InvalidInput(f"{where} ({key}) needs 1 to {MAX_TASKS} tasks")
        out.append(track_)
    if len({t.key for t in out}) != len(out):
        raise InvalidInput("two learning tracks have the same key")
    return tuple(out)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expected a mapping")
    return value


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _KEY.match(value):
        raise InvalidInput(f"{where}: 'key' is lower-case letters, digits and dashes (got {value!r})")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput(f"{where}: expected a text of 1 to 200 characters")
    return value.strip()


def _link(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        raise InvalidInput(f"{where}: 'link' is a path of this platform, starting with one '/'")
    return value
