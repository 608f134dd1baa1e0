"""REST API of data quality under /api/v1: checks, their runs and score, incidents, quarantine.

Each route parses its input and calls one `threshold.quality` service; who may call it is declared in
its signature (`interface/permissions.py`). Scheduled checks are jobs: the app's scheduler (`api/app.py`,
`threshold.jobs`) runs them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.params import Id
from threshold.interface.permissions import Requires, SignedIn
from threshold.interface.rendering import jsonable
from threshold.quality import dataset_checks, incidents, quarantine
from threshold.quality.incident_records import get_incident, list_incidents
from threshold.quality.kinds import CheckSpec
from threshold.quality.score import dataset_quality, domain_quality

API = "/api/v1"


router = APIRouter(prefix=API)
Name = Annotated[str, Field(min_length=1, max_length=200)]
KnowsDataset = Annotated[Person, Requires("dataset.know", on="name")]
WritesDataset = Annotated[Person, Requires("dataset.write", on="name")]
SeesIncident = Annotated[Person, Requires("incident.see")]


class CheckIn(BaseModel):
    kind: Name
    options: dict[str, Any] = Field(default_factory=dict)
    """Per kind: column/columns, values, min, max, pattern, max_age ("24h"), sql, columns (schema),
    allow_extra, max_failing, max_failing_percent."""
    blocking: bool = False
    schedule: str | None = Field(default="daily", max_length=50)
    name: str = Field(default="", max_length=200)


class ReportIn(BaseModel):
    dataset: Name
    """`domain.dataset` or `domain.dataset.column`."""
    column: str | None = Field(default=None, max_length=255)
    description: str = Field(min_length=1, max_length=10_000)
    query: str | None = Field(default=None, max_length=200_000)
    insight: str | None = Field(default=None, max_length=200)


class ActionIn(BaseModel):
    note: str = Field(default="", max_length=10_000)
    """The comment's text (`comment`), or a note kept with the change."""
    target: str | None = Field(default=None, max_length=400)
    """`reroute`: the dataset (or dataset.column) it goes to."""


@router.get("/datasets/{name}/checks", summary="A dataset's checks, recent runs and quality score")
def list_dataset_checks(
    name: str, platform: PlatformDep, person: KnowsDataset, history: Annotated[int, Query(ge=1, le=500)] = 20
) -> dict[str, Any]:
    return dataset_checks.dataset_checks(platform, person, name, history=history).to_json()


@router.post("/datasets/{name}/checks", summary="Add a check", status_code=201)
def add_check(name: str, body: CheckIn, platform: PlatformDep, person: WritesDataset) -> dict[str, Any]:
    spec = CheckSpec(body.kind, body.options, blocking=body.blocking, schedule=body.schedule, name=body.name)
    return dataset_checks.add(platform, person, name, spec).to_json()


@router.post("/datasets/{name}/checks/run", summary="Run a dataset's checks now")
async def run_checks(name: str, platform: PlatformDep, person: WritesDataset) -> list[dict[str, Any]]:
    return [r.to_json() for r in await run_in_threadpool(dataset_checks.run, platform, person, name)]


@router.get("/checks/{check_id}", summary="One check with its runs")
def check(
    check_id: Id, platform: PlatformDep, person: SignedIn, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    return dataset_checks.check_history(platform, person, check_id, limit=limit).to_json()


@router.delete("/checks/{check_id}", summary="Stop a check (its history stays)")
def remove_check(
    check_id: Id, platform: PlatformDep, person: Annotated[Person, Requires("dataset.write")]
) -> dict[str, Any]:
    return dataset_checks.remove(platform, person, check_id).to_json()


@router.get("/datasets/{name}/quality", summary="A dataset's quality score")
def dataset_score(name: str, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return dataset_quality(platform, name, viewer=person).to_json()


@router.get("/domains/{name}/quality", summary="A domain's quality: score, incidents, time to acknowledge and fix")
def domain_score(name: str, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return domain_quality(platform, name, viewer=person).to_json()


@router.get("/incidents", summary="Incidents, newest first")
def incidents_list(
    platform: PlatformDep,
    person: SignedIn,
    domain: Annotated[str | None, Query(max_length=63)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    dataset: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return jsonable(list_incidents(platform, person, domain=domain, status=status, dataset=dataset, limit=limit))


@router.post(
    "/incidents", summary="Report a problem (routed upstream to the domain that makes the data)", status_code=201
)
def report(body: ReportIn, platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    incident_id = incidents.report(
        platform,
        person,
        body.dataset,
        description=body.description,
        query=body.query,
        insight=body.insight,
        column=body.column,
    )
    return get_incident(platform, person, incident_id).to_json()


@router.get("/incidents/{incident_id}", summary="One incident with its comments and affected datasets")
def incident(incident_id: Id, platform: PlatformDep, person: SeesIncident) -> dict[str, Any]:
    return get_incident(platform, person, incident_id).to_json()


@router.post("/incidents/{incident_id}/{action}", summary="ack, fix, verify, reopen, comment or reroute")
def incident_action(
    incident_id: Id,
    action: Literal["ack", "fix", "verify", "reopen", "comment", "reroute"],
    body: ActionIn,
    platform: PlatformDep,
    person: SeesIncident,
) -> dict[str, Any]:
    if action == "comment":
        incidents.comment(platform, person, incident_id, body.note)
    elif action == "reroute":
        incidents.reroute(platform, person, incident_id, body.target or "", body.note)
    else:
        incidents.act(platform, person, incident_id, action, body.note)
    return get_incident(platform, person, incident_id).to_json()


@router.get("/quarantine", summary="Files blocking checks rejected")
def quarantine_list(
    platform: PlatformDep,
    person: Annotated[Person, Requires("domain.member")],
    dataset: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    return [q.to_json() for q in quarantine.listing(platform, person, dataset)]


@router.post("/quarantine/{quarantine_id}/release", summary="Share a rejected file anyway (owners)")
async def quarantine_release(
    quarantine_id: Id, platform: PlatformDep, person: Annotated[Person, Requires("domain.own")]
) -> dict[str, Any]:
    released = await run_in_threadpool(quarantine.release, platform, person, quarantine_id)
    return released.to_json()
