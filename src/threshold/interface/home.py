"""A person's home: what they shared and who used it this week, what waits for them, their recent work, and
what their domains share that nobody uses yet. Each part comes from its capability's service; this module
only gathers them, so the page, its `.json` twin, the API and the CLI show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from threshold.catalog import search as catalog_search
from threshold.catalog import service as catalog
from threshold.catalog.results import DatasetSummary
from threshold.governance import requests as access_requests
from threshold.governance.results import RequestRecord
from threshold.identity.service import Person
from threshold.insights import service as insights
from threshold.kept import Kept, kept_on
from threshold.platform import Platform
from threshold.products import owners
from threshold.products.results import ProposalWaiting
from threshold.quality import incident_records
from threshold.quality.incident_results import IncidentRow
from threshold.usage import personal
from threshold.usage import service as usage

RECENT = 5
"""How many recent queries and insights the home shows (the rest are on "My activity" and "Insights")."""


@dataclass(frozen=True)
class Waiting:
    """How many things wait for a person's answer: the navigation's badge."""

    requests: int
    incidents: int
    proposals: int

    @property
    def total(self) -> int:
        return self.requests + self.incidents + self.proposals


@dataclass
class Home:
    user: str
    display_name: str
    domains: list[str]
    waiting_count: int
    requests: list[RequestRecord]
    """Access requests waiting for the person's decision."""
    incidents: list[IncidentRow]
    """Incidents to acknowledge, fix or verify."""
    proposals: list[ProposalWaiting]
    """Data products the person was asked to own."""
    my_datasets: list[personal.MyDataset]
    recent_queries: list[dict[str, Any]]
    my_insights: list[insights.InsightCard]
    unused_in_my_domains: list[personal.UnusedDataset]
    # The organisation at a glance, as everyone's home shows it.
    datasets: int = 0
    queries: int = 0
    people: int = 0
    most_used: list[dict[str, Any]] = field(default_factory=list)
    recently_shared: list[DatasetSummary] = field(default_factory=list)
    never_used: int = 0


MAX_WAITING_KEPT = 1024
"""Badge counts kept per platform (least recently used dropped first)."""


def waiting(platform: Platform, person: Person) -> Waiting:
    """How many things wait for `person`: every page's navigation shows it. Kept per (the store's two
    versions, person): the versions move with every committed change to what the counts read (requests,
    incidents, proposals, and the datasets, domains and memberships that decide who may know of them;
    `Store.waiting_versions`), so a page reads two numbers, and the very next page after a change counts
    again. Without the versions (a store before their migration) it counts every time."""
    versions = platform.store.waiting_versions()  # before counting: a later change moves past this key
    if versions is None:
        return _count_waiting(platform, person)
    kept: Kept[Waiting] = kept_on(platform, "_waiting_counts", lambda: Kept(MAX_WAITING_KEPT))
    return kept.get_or_make((versions, person), lambda: _count_waiting(platform, person))


def _count_waiting(platform: Platform, person: Person) -> Waiting:
    """The three counts in one query (one session, one round trip)."""
    counts = select(
        access_requests.waiting_count_query(person).scalar_subquery(),
        incident_records.waiting_count_query(person).scalar_subquery(),
        owners.proposed_count_query(person).scalar_subquery(),
    )
    with platform.store.session() as s:
        requests, incidents, proposals = s.execute(counts).one()
    return Waiting(requests=int(requests or 0), incidents=int(incidents or 0), proposals=int(proposals or 0))


def home(platform: Platform, person: Person) -> Home:
    requests = access_requests.inbox(platform, person)
    incidents = incident_records.waiting_for(platform, person)
    proposals = owners.proposed_to(platform, person)
    mine = usage.person_usage(platform, person.name, limit=RECENT, viewer=person)
    org = usage.org_usage(platform, limit=10, viewer=person)
    return Home(
        user=person.name,
        display_name=person.display_name,
        domains=list(person.domains),
        waiting_count=len(requests) + incident_records.waiting_count(platform, person) + len(proposals),
        requests=requests,
        incidents=incidents,
        proposals=proposals,
        my_datasets=personal.my_datasets(platform, person),
        recent_queries=mine.recent,
        my_insights=insights.listing(platform, person, owner=person.name, per_page=RECENT).items,
        unused_in_my_domains=personal.unused_in_my_domains(platform, person),
        datasets=catalog_search.search(platform, None, per_page=1, viewer=person).total,
        queries=org.queries,
        people=org.users,
        most_used=org.most_used,
        recently_shared=catalog.recently_shared(platform, limit=8, viewer=person),
        never_used=len(org.never_used),
    )
