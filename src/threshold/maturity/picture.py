"""The target picture: levels per dimension with thresholds, the organisation baseline, each domain's target
("happy place"), the north star and the self-assessment questions, read from YAML and validated.

Every error is one line that says where (`targets.sales.reuse: level 7 is not between 1 and 5`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from threshold.errors import InvalidInput

DIMENSIONS: tuple[str, ...] = (
    "sharing",
    "ownership",
    "documentation",
    "quality",
    "reuse",
    "access_speed",
    "literacy",
)
"""The dimensions of the model, in the order every view shows them."""

MAX_DOCUMENT = 64_000
"""Bytes a target picture may have."""
MAX_QUESTIONS = 50
_KEYS = {"north_star", "levels", "baseline", "targets", "questions"}


@dataclass(frozen=True)
class Question:
    id: str
    dimension: str
    text: str


@dataclass(frozen=True)
class Picture:
    north_star: str
    names: tuple[str, ...]
    """Level names, level 1 first."""
    thresholds: dict[str, tuple[float, ...]]
    """{dimension: scores needed for levels 2..n}, every dimension present."""
    baseline: dict[str, int]
    """{dimension: level}, every dimension present."""
    targets: dict[str, dict[str, int]]
    """{domain or `default`: {dimension: level}}, every dimension present."""
    questions: tuple[Question, ...] = field(default=())

    @property
    def top(self) -> int:
        return len(self.names)

    def level(self, dimension: str, score: float) -> int:
        """The level a score reaches on `dimension`."""
        return 1 + sum(1 for t in self.thresholds[dimension] if score >= t)

    def needs(self, dimension: str, level: int) -> float:
        """The score `level` needs on `dimension` (0 for level 1)."""
        return 0.0 if level <= 1 else self.thresholds[dimension][min(level, self.top) - 2]

    def target(self, domain: str, dimension: str) -> int:
        return self.targets.get(domain, self.targets["default"])[dimension]

    def name(self, level: int) -> str:
        return self.names[max(1, min(level, self.top)) - 1]


def default_document() -> str:
    """The target picture shipped with Threshold (version 1 of every home)."""
    return resources.files("threshold.maturity").joinpath("target_picture.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=32)
def parse(text: str) -> Picture:
    """Read and validate a target picture; `InvalidInput` with one line naming the place of the first error.
    Kept per text (a picture depends on nothing else; every page about maturity reads the one in force, and
    parsing its YAML cost more than the rest of the page): callers share the `Picture` and only read it."""
    if len(text.encode("utf-8")) > MAX_DOCUMENT:
        raise InvalidInput(f"target picture: larger than {MAX_DOCUMENT // 1000} kB")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"target picture: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("target picture: expected a mapping with levels, baseline and targets")
    unknown = sorted(set(map(str, doc)) - _KEYS)
    if unknown:
        raise InvalidInput(f"target picture: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    north_star = doc.get("north_star") or ""
    if not isinstance(north_star, str):
        raise InvalidInput("north_star: expected text")
    levels = _mapping(doc.get("levels"), "levels")
    names = levels.get("names")
    if not isinstance(names, list) or not 2 <= len(names) <= 10 or not all(isinstance(n, str) and n for n in names):
        raise InvalidInput("levels.names: expected a list of 2 to 10 level names")
    top = len(names)
    raw = _mapping(levels.get("thresholds"), "levels.thresholds")
    thresholds = {d: _thresholds(v, f"levels.thresholds.{d}", top) for d, v in _per_dimension(raw, "levels.thresholds")}
    baseline = _levels(_mapping(doc.get("baseline", {"default": 1}), "baseline"), "baseline", top)
    raw_targets = _mapping(doc.get("targets", {}), "targets")
    targets: dict[str, dict[str, int]] = {}
    for domain, spec in raw_targets.items():
        targets[str(domain)] = _levels(_mapping(spec, f"targets.{domain}"), f"targets.{domain}", top)
    targets.setdefault("default", dict(baseline))
    for domain, wanted in targets.items():
        for d in DIMENSIONS:
            if wanted[d] < baseline[d]:
                raise InvalidInput(
                    f"targets.{domain}.{d}: level {wanted[d]} is below the organisation baseline {baseline[d]}"
                )
    return Picture(
        north_star=north_star.strip(),
        names=tuple(names),
        thresholds=thresholds,
        baseline=baseline,
        targets=targets,
        questions=_questions(doc.get("questions") or []),
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expected a mapping")
    return {str(k): v for k, v in value.items()}


def _per_dimension(raw: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    """Each dimension's value: its own key, else `default` (one of the two must be there)."""
    for key in raw:
        if key != "default" and key not in DIMENSIONS:
            raise InvalidInput(f"{where}.{key}: no such dimension (known: {', '.join(DIMENSIONS)})")
    out = []
    for d in DIMENSIONS:
        if d not in raw and "default" not in raw:
            raise InvalidInput(f"{where}: no value for {d} and no default")
        out.append((d, raw.get(d, raw.get("default"))))
    return out


def _thresholds(value: Any, where: str, top: int) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != top - 1:
        raise InvalidInput(f"{where}: expected {top - 1} scores (for levels 2 to {top})")
    out: list[float] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            raise InvalidInput(f"{where}: {v!r} is not a score between 0 and 100")
        if out and v <= out[-1]:
            raise InvalidInput(f"{where}: scores must rise from one level to the next")
        out.append(float(v))
    return tuple(out)


def _levels(raw: dict[str, Any], where: str, top: int) -> dict[str, int]:
    out = {}
    for d, v in _per_dimension(raw, where):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
            raise InvalidInput(f"{where}.{d}: level {v!r} is not between 1 and {top}")
        out[d] = v
    return out


def _questions(raw: Any) -> tuple[Question, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_QUESTIONS:
        raise InvalidInput(f"questions: expected a list of at most {MAX_QUESTIONS} questions")
    seen: set[str] = set()
    out = []
    for i, q in enumerate(raw):
        q = _mapping(q, f"questions[{i}]")
        qid, dim, text = q.get("id"), q.get("dimension"), q.get("text")
        if not isinstance(qid, str) or not qid.replace("_", "").isalnum() or len(qid) > 60:
            raise InvalidInput(f"questions[{i}].id: expected a short name of letters, digits and _")
        if qid in seen:
            raise InvalidInput(f"questions[{i}].id: {qid!r} is used twice")
        if dim not in DIMENSIONS:
            raise InvalidInput(f"questions[{i}].dimension: {dim!r} is not a dimension")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"questions[{i}].text: expected the question")
        seen.add(qid)
        out.append(Question(qid, str(dim), text.strip()))
    return tuple(out)


def with_target(text: str, domain: str, levels: dict[str, int]) -> str:
    """The document `text` with `domain`'s target replaced by `levels` (for an approved proposal)."""
    doc = yaml.safe_load(text)
    doc.setdefault("targets", {})[domain] = dict(levels)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
