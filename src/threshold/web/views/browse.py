"""Finding data: home, search results, and a dataset's page."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from threshold.catalog import search as catalog_search
from threshold.errors import NotFound, ThresholdError
from threshold.gateway.service import query as gateway_query
from threshold.glossary import service as glossary
from threshold.identity.service import Person
from threshold.insights import service as insights
from threshold.interface import home as personal_home
from threshold.interface.permissions import Requires, SignedIn
from threshold.platform import Platform
from threshold.usage import service as usage
from threshold.web import i18n
from threshold.web.charts import weekly_bars
from threshold.web.render import rows
from threshold.web.templating import page
from threshold.web.views.compliance import dataset_section as compliance_section
from threshold.web.views.governance import dataset_access
from threshold.web.views.results import result_columns

router = APIRouter()
PREVIEW_ROWS = 20
PER_PAGE = 20


@router.get("/")
@router.get("/index.json")
def home(request: Request, person: SignedIn) -> Response:
    """The person's home (`interface.home`): their datasets, what waits for them, their recent work."""
    data = asdict(personal_home.home(request.app.state.platform, person))
    return page(request, "home.html", data, person=person, title=i18n.Text("Home"), nav="home")


@router.get("/datasets")
@router.get("/datasets.json")
def search(
    request: Request,
    person: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    found = catalog_search.search(request.app.state.platform, q, page=page_number, per_page=PER_PAGE, viewer=person)
    data = asdict(found) | {"q": q, "pages": max(1, math.ceil(found.total / PER_PAGE))}
    if q.strip():  # insights are found in search too (those the person may view)
        data["insights"] = asdict(insights.listing(request.app.state.platform, person, search=q, per_page=5))
    return page(
        request,
        "datasets.html",
        data,
        person=person,
        title=i18n.Text("Search: %(q)s", {"q": q}) if q else i18n.Text("Datasets"),
    )


@router.get("/datasets/{name}")
def dataset(
    request: Request,
    person: Annotated[Person, Requires("dataset.know", on="name")],
    name: str,
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """`/datasets/domain.name`, or its JSON twin `/datasets/domain.name.json`; `?purpose=` for the preview."""
    if name.endswith(".json") and "." in name[: -len(".json")]:
        name = name[: -len(".json")]
    platform: Platform = request.app.state.platform
    record = catalog_search.describe_or_suggest(platform, name, viewer=person)
    # What this person may see and why (masked columns, request access); the preview reads for the
    # purpose asked for, else the one their grant covers, so a granted reader sees what was granted.
    access = dataset_access(platform, person, record.name, purpose or None)
    preview = _preview(platform, person, record.name, purpose or access["purpose"] or "preview")
    used = usage.dataset_usage(platform, record.name, viewer=person)  # after the preview, a read too
    built = insights.built_on(platform, person, record.name, limit=1).total  # "4 insights built on this"
    data = record.to_json()  # with the page's extras
    data |= {"preview": preview, "usage": used.to_json(), "chart": weekly_bars(used.weekly), "access": access}
    data["insights_built"] = built
    data["terms"] = [asdict(t) for t in glossary.terms_of_dataset(platform, person, record.name)]  # its words
    data["register"] = compliance_section(platform, person, record.name)  # the collection register
    return page(request, "dataset.html", data, person=person, title=record.name)


def _preview(platform: Platform, person: Any, full_name: str, purpose: str = "preview") -> dict[str, Any]:
    """The first rows, read through the gateway like every other read (so masks and rules apply)."""
    try:
        result = gateway_query(
            platform,
            f"SELECT * FROM {full_name} LIMIT {PREVIEW_ROWS}",
            user=person,
            purpose=purpose,
            interface="web",
            max_rows=PREVIEW_ROWS,
            kind="browse",  # looking at a dataset page is not use of it (usage.service.KINDS)
        )
    except NotFound:
        raise
    except ThresholdError as e:
        return {"columns": [], "rows": [], "error": str(e), "notes": []}
    return {
        "columns": result_columns(result.table),
        "rows": rows(result.table),
        "error": None,
        "notes": result.notes,
    }
