"""Quality pages: a dataset's quality tab, "report a problem", incidents (all, per domain, one), quarantine.

Every page has its `.json` twin. Forms post with the session's CSRF token and redirect back (303).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from threshold.errors import InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.interface.params import Id
from threshold.interface.permissions import Requires, SignedIn
from threshold.interface.rendering import jsonable
from threshold.jobs.schedule import human_duration
from threshold.platform import Platform
from threshold.quality import dataset_checks, incidents, quarantine
from threshold.quality.incident_records import get_incident, list_incidents
from threshold.quality.kinds import KINDS, CheckSpec
from threshold.quality.models import INCIDENT_STATUSES
from threshold.quality.score import domain_quality
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import environment, page

router = APIRouter()
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=500)]

KnowsDataset = Annotated[Person, Requires("dataset.know", on="name")]
WritesDataset = Annotated[Person, Requires("dataset.write", on="name")]
environment.filters.setdefault("duration", human_duration)


def _platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


def _strip_json(name: str) -> tuple[str, bool]:
    return (name[: -len(".json")], True) if name.endswith(".json") else (name, False)


# --- a dataset's quality tab ---------------------------------------------------------------------


@router.get("/datasets/{name}/quality")
@router.get("/datasets/{name}/quality.json")
def dataset_quality(
    request: Request, person: KnowsDataset, name: str, purpose: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    platform = _platform(request)
    checks = dataset_checks.dataset_checks(platform, person, name, purpose=purpose or None)
    data = checks.to_json()
    held = quarantine.listing(platform, person, checks.dataset) if checks.can_manage else []
    data["quarantine"] = [q.to_json() for q in held]
    data["open_incidents"] = jsonable(list_incidents(platform, person, dataset=data["dataset"], status="unresolved"))
    data["kinds"] = [{"name": k.name, "label": k.label} for k in KINDS.values()]
    data["columns"] = _columns(platform, data["dataset"])
    return page(
        request,
        "quality.html",
        data,
        person=person,
        title=i18n.Text("Quality of %(dataset)s", {"dataset": data["dataset"]}),
    )


def _columns(platform: Platform, full_name: str) -> list[str]:
    from sqlalchemy import select

    from threshold.store.models import Column, Dataset

    with platform.store.session() as s:
        return list(
            s.scalars(
                select(Column.name)
                .join(Dataset, Dataset.id == Column.dataset_id)
                .where(Dataset.full_name == full_name)
                .order_by(Column.position)
            )
        )


@router.post("/datasets/{name}/quality/checks")
def add_check(
    request: Request,
    person: WritesDataset,
    name: str,
    kind: Annotated[str, Form(max_length=40)],
    column: Short = "",
    values: Text = "",
    min_: Annotated[str, Form(alias="min", max_length=100)] = "",
    max_: Annotated[str, Form(alias="max", max_length=100)] = "",
    pattern: Short = "",
    max_age: Annotated[str, Form(max_length=40)] = "",
    sql: Annotated[str, Form(max_length=200_000)] = "",
    expect: Text = "",
    blocking: Annotated[str, Form(max_length=10)] = "",
    schedule: Annotated[str, Form(max_length=50)] = "daily",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    raw = {
        "column": column,
        "values": values,
        "min": min_,
        "max": max_,
        "pattern": pattern,
        "max_age": max_age,
        "sql": sql,
        "columns": expect,
    }
    options: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v and v.strip()}
    if "column" in options and "columns" not in options:
        options["columns"] = options["column"]
    spec = CheckSpec(kind, options, blocking=blocking in ("on", "true", "1"), schedule=schedule)
    row = dataset_checks.add(_platform(request), person, name, spec)
    return RedirectResponse(f"/datasets/{name}/quality#check-{row.id}", status_code=303)


@router.post("/datasets/{name}/quality/run")
async def run_checks(request: Request, person: WritesDataset, name: str, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    await run_in_threadpool(dataset_checks.run, _platform(request), person, name)
    return RedirectResponse(f"/datasets/{name}/quality#checks", status_code=303)


@router.post("/checks/{check_id}/remove")
def remove_check(
    request: Request, person: Annotated[Person, Requires("dataset.write")], check_id: Id, csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    r = dataset_checks.remove(_platform(request), person, check_id)
    return RedirectResponse(f"/datasets/{r.dataset}/quality#checks", status_code=303)


@router.post("/quarantine/{quarantine_id}/release")
async def release(
    request: Request, person: Annotated[Person, Requires("domain.own")], quarantine_id: Id, csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    r = await run_in_threadpool(quarantine.release, _platform(request), person, quarantine_id)
    return RedirectResponse(f"/datasets/{r.dataset}/quality#quarantine", status_code=303)


# --- report a problem ----------------------------------------------------------------------------


@router.get("/datasets/{name}/report")
def report_form(
    request: Request,
    person: KnowsDataset,
    name: str,
    column: Annotated[str, Query(max_length=255)] = "",
    sql: Annotated[str, Query(max_length=200_000)] = "",
    insight: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    platform = _platform(request)
    full_name, _ = _strip_json(name)  # known to the person: the route's Requires decided it
    data = {
        "dataset": full_name.lower(),
        "columns": _columns(platform, full_name.lower()),
        "column": column,
        "query": sql,
        "insight": insight,
    }
    return page(
        request,
        "quality_report.html",
        data,
        person=person,
        title=i18n.Text("Report a problem with %(full_name)s", {"full_name": full_name}),
    )


@router.post("/report")
def report(
    request: Request,
    person: SignedIn,
    dataset: Annotated[str, Form(max_length=200)],
    description: Text,
    column: Annotated[str, Form(max_length=255)] = "",
    query: Annotated[str, Form(max_length=200_000)] = "",
    insight: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    incident_id = incidents.report(
        _platform(request),
        person,
        dataset,
        description=description,
        query=query or None,
        insight=insight or None,
        column=column or None,
    )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


# --- incidents -----------------------------------------------------------------------------------


@router.get("/incidents")
@router.get("/incidents.json")
def incidents_page(
    request: Request,
    person: SignedIn,
    domain: Annotated[str, Query(max_length=63)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    platform = _platform(request)
    rows = jsonable(list_incidents(platform, person, domain=domain or None, status=status or None))
    data = {
        "domain": domain or None,
        "status": status or None,
        "statuses": list(INCIDENT_STATUSES),
        "incidents": rows,
        "quality": domain_quality(platform, domain, viewer=person).to_json() if domain else None,
    }
    return page(request, "incidents.html", data, person=person, title=i18n.Text("Incidents"), nav="incidents")


@router.get("/domains/{domain}/incidents")
@router.get("/domains/{domain}/incidents.json")
def domain_incidents(
    request: Request, person: SignedIn, domain: str, status: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    platform = _platform(request)
    quality = domain_quality(platform, domain, viewer=person).to_json()
    rows = jsonable(list_incidents(platform, person, domain=domain, status=status or None))
    data = {
        "domain": domain,
        "status": status or None,
        "statuses": list(INCIDENT_STATUSES),
        "incidents": rows,
        "quality": quality,
    }
    return page(
        request,
        "incidents.html",
        data,
        person=person,
        title=i18n.Text("Incidents of %(domain)s", {"domain": domain}),
        nav="incidents",
    )


@router.get("/incidents/{ref}")
def incident_page(request: Request, person: Annotated[Person, Requires("incident.see")], ref: str) -> Response:
    """`/incidents/12` or its JSON twin `/incidents/12.json`."""
    number, _ = _strip_json(ref)
    if not number.isdigit():
        raise NotFound(f"no incident {ref[:20]!r}")
    data = get_incident(_platform(request), person, int(number)).to_json()
    return page(
        request,
        "incidents_detail.html",
        data,
        person=person,
        title=i18n.Text("Incident #%(number)s", {"number": number}),
        nav="incidents",
    )


@router.post("/incidents/{incident_id}/{action}")
def incident_action(
    request: Request,
    person: Annotated[Person, Requires("incident.see")],
    incident_id: Id,
    action: str,
    note: Text = "",
    target: Annotated[str, Form(max_length=400)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    platform = _platform(request)
    if action == "comment":
        incidents.comment(platform, person, incident_id, note)
    elif action == "reroute":
        incidents.reroute(platform, person, incident_id, target, note)
    elif action in incidents.ACTIONS:
        incidents.act(platform, person, incident_id, action, note)
    else:
        raise InvalidInput(f"unknown action {action[:20]!r}")
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
