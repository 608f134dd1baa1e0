"""What one viewer may see of the consumption record of datasets: whether a dataset exists for them
(`dataset.know`, and with it the counts per domain and purpose) and whether its consumers are named
(`dataset.usage.names`). Every usage and consumer view asks here, many datasets at once.

A person always sees their own use (the views add it); the names of others go to the dataset's producers
(unless the organisation shows producers domains and purposes only: `privacy.producers_see_names`) and to
the governance group; everyone else sees aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from threshold.access.rules import may
from threshold.access.visibility import knows, refs
from threshold.identity.service import Person
from threshold.platform import Platform


@dataclass(frozen=True)
class Sight:
    """What one viewer may see of one dataset's consumption."""

    exists: bool
    """May know the dataset exists (and how it is used: counts per domain and purpose)."""
    names: bool
    """May see who uses it, and the shape of their questions."""

    @property
    def why(self) -> str:
        if self.names:
            return ""
        return "counts per domain and purpose only: the people who use it are named to its producers"


HIDDEN = Sight(False, False)


def sights(
    s: Session, viewer: Person | None, dataset_ids: Iterable[int] | None = None, *, platform: Platform
) -> dict[int, Sight]:
    """The viewer's sight of many datasets (every dataset when `dataset_ids` is None)."""
    out = {}
    for i, ref in refs(s, viewer, None if dataset_ids is None else list(dataset_ids)).items():
        exists = knows(viewer, ref)
        out[i] = Sight(exists, exists and bool(may(viewer, "dataset.usage.names", ref, platform=platform)))
    return out


def sight(s: Session, viewer: Person | None, dataset_id: int, *, platform: Platform) -> Sight:
    return sights(s, viewer, [dataset_id], platform=platform).get(dataset_id, HIDDEN)
