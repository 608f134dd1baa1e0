"""A person's home: what they shared and who used it this week, what waits for them, their recent work, and
what their domains share that nobody uses yet. Each part comes from its capability's service; this module
only gathers them, so the page, its `.json` twin, the API and the CLI show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from threshold.catalog import search as catalog_search
from threshold.catalog import service as catalog
from threshold.catalog.results import DatasetSummary
from threshold.governance import requests as access_requests
from threshold.governance.results import RequestRecord
from threshold.identity.service import Person
from threshold.insights import service as insights
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


def waiting(platform: Platform, person: Person) -> Waiting:
    """Three counts, each one query: cheap enough for every page's navigation."""
    return Waiting(
        requests=access_requests.waiting_count(platform, person),
        incidents=incident_records.waiting_count(platform, person),
        proposals=len(owners.proposed_to(platform, person)),
    )


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
