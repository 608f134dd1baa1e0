"""The decision point: the only place that answers "may this person see or do this", and the filter of
"datasets this person may know about" that every listing uses.

- `may(actor, action, resource)` / `require(...)`: every action of the vocabulary (`actions.py`), decided
  by one rule each (`rules.py`), answered with the rule id that decided;
- `knowable(viewer)`: `dataset.know` as a SQL condition; `find_dataset` / `dataset_ref`: lookups that
  refuse a hidden dataset exactly like a missing one (`no_dataset`);
- `decide(...)`: the read decision of the gateway (`reading.py`): visibility, grants, purposes, the
  guardrail on the sensitive class judged against where values come from, masks and row filters.

Services ask; interfaces declare (`api/permissions.Requires`) and render the answers. Nothing else
re-derives who may see what.
"""

from __future__ import annotations

from threshold.access.actions import ACTIONS, LEVELS, Action, Level
from threshold.access.resources import (
    VISIBILITIES,
    BoardRef,
    DatasetRef,
    DerivationRef,
    DomainRef,
    IncidentRef,
    InsightRef,
    PersonRef,
    PolicyScope,
    ProductRef,
    SourceRef,
    TargetProposalRef,
    TermLinkRef,
    TermRef,
)
from threshold.access.rules import Answer, may, require
from threshold.access.visibility import (
    audited_by,
    dataset_ref,
    find_dataset,
    grants_decided_by,
    hidden_names,
    kept_ref,
    knowable,
    knowable_ids,
    knowable_or_none,
    known_ref,
    knows,
    live_grants,
    no_dataset,
    refs,
    scrub,
    sees_every_dataset,
    viewer_key,
    written_by,
)

__all__ = [
    "ACTIONS",
    "LEVELS",
    "VISIBILITIES",
    "Action",
    "Answer",
    "BoardRef",
    "DatasetRef",
    "DerivationRef",
    "DomainRef",
    "IncidentRef",
    "InsightRef",
    "Level",
    "PersonRef",
    "SourceRef",
    "PolicyScope",
    "ProductRef",
    "TargetProposalRef",
    "TermLinkRef",
    "TermRef",
    "audited_by",
    "dataset_ref",
    "find_dataset",
    "grants_decided_by",
    "hidden_names",
    "kept_ref",
    "knowable",
    "knowable_ids",
    "knowable_or_none",
    "known_ref",
    "knows",
    "live_grants",
    "may",
    "no_dataset",
    "refs",
    "require",
    "scrub",
    "sees_every_dataset",
    "viewer_key",
    "written_by",
]
