"""REST API of the products capability under /api/v1: consumption patterns, candidates, owners,
products and their contracts. Each route calls one service function with the caller as viewer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.params import PageNumber
from threshold.interface.permissions import Requires, SignedIn
from threshold.products import candidates, consumption, contracts, lifecycle, owners, patterns, producers

router = APIRouter(prefix="/api/v1", tags=["products"])
KnowsDataset = Annotated[Person, Requires("dataset.know", on="dataset")]
Promotes = Annotated[Person, Requires("product.promote")]
Manages = Annotated[Person, Requires("product.manage")]
WeeksQuery = Annotated[int | None, Query(ge=0, le=520, description="Weeks of usage (0: all; default: settings).")]
MAX_CONTRACT = 2_000_000


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=5000)


class ProposeIn(BaseModel):
    to: str | None = Field(default=None, max_length=63)


class PromoteIn(BaseModel):
    dataset: str = Field(max_length=127)
    owner: str | None = Field(default=None, max_length=63)
    contract: str | None = Field(default=None, max_length=MAX_CONTRACT, description="ODCS v3 YAML")
    with_datasets: list[str] = Field(default_factory=list, alias="with", max_length=50)
    description: str | None = Field(default=None, max_length=20_000)
    freshness_hours: int | None = Field(default=None, ge=1, le=24 * 366)


class DeprecateIn(BaseModel):
    replacement: str | None = Field(default=None, max_length=127)
    reason: str = Field(default="", max_length=5000)


@router.get("/consumers/{dataset}", summary="Who uses a dataset and why (consumption patterns)")
def consumers(
    dataset: str,
    platform: PlatformDep,
    person: Annotated[Person, Requires("dataset.usage.counts", on="dataset")],
    weeks: WeeksQuery = None,
) -> dict[str, Any]:
    return consumption.dataset_consumers(platform, dataset, viewer=person, weeks=weeks).to_json()


@router.get("/patterns", summary="Org patterns: reuse matrix, rising and falling, long tail, usage by domain")
def org_patterns(platform: PlatformDep, person: SignedIn, weeks: WeeksQuery = None, domain: str | None = None) -> Any:
    if domain:
        return [r.to_json() for r in patterns.domain_datasets(platform, domain, viewer=person, weeks=weeks)]
    return patterns.org_patterns(platform, viewer=person, weeks=weeks).to_json()


@router.get("/domains/{domain}/producer", summary="A domain's producer view: who uses its data and why")
def producer(
    domain: str,
    platform: PlatformDep,
    person: SignedIn,
    weeks: WeeksQuery = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 25,
) -> dict[str, Any]:
    return producers.domain_view(platform, domain, viewer=person, weeks=weeks, page=page, per_page=per_page).to_json()


@router.get("/datasets/{dataset}/columns/{column}/impact", summary="What changing one column would affect")
def column_impact(dataset: str, column: str, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return producers.column_impact(platform, dataset, column, viewer=person).to_json()


@router.get("/candidates", summary="Promotion candidates, ranked, with reasons and what promoting needs")
def list_candidates(
    platform: PlatformDep,
    person: SignedIn,
    weeks: WeeksQuery = None,
    all: bool = False,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> dict[str, Any]:
    include = ("open", "dismissed", "promoted") if all else ("open",)
    return candidates.list_candidates(
        platform, viewer=person, include=include, weeks=weeks, page=page, per_page=per_page
    ).to_json()


@router.post("/candidates/{dataset}/nominate", summary="Nominate a dataset for promotion, with a reason")
def nominate(dataset: str, body: ReasonIn, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return candidates.nominate(platform, person, dataset, reason=body.reason).to_json()


@router.post("/candidates/{dataset}/dismiss", summary="Review a candidate: not now, with a reason")
def dismiss(dataset: str, body: ReasonIn, platform: PlatformDep, person: Promotes) -> dict[str, Any]:
    return candidates.dismiss(platform, person, dataset, reason=body.reason).to_json()


@router.get("/owners/{dataset}", summary="Owner suggestions, ranked, with evidence")
def suggest_owners(
    dataset: str, platform: PlatformDep, person: Annotated[Person, Requires("dataset.usage.names", on="dataset")]
) -> dict[str, Any]:
    return owners.suggest(platform, dataset, viewer=person).to_json()


@router.post("/owners/{dataset}/propose", summary="Propose ownership to the next suggestion (or a named person)")
def propose(
    dataset: str, body: ProposeIn, platform: PlatformDep, person: Annotated[Person, Requires("product.propose_owner")]
) -> dict[str, Any]:
    return owners.propose(platform, person, dataset, to=body.to).to_json()


@router.post("/owners/{dataset}/accept", summary="Accept ownership (as the caller)")
def accept(dataset: str, body: ReasonIn, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return owners.accept(platform, person, dataset, reason=body.reason).to_json()


@router.post("/owners/{dataset}/decline", summary="Decline ownership with a reason; the next suggestion is asked")
def decline(dataset: str, body: ReasonIn, platform: PlatformDep, person: KnowsDataset) -> dict[str, Any]:
    return owners.decline(platform, person, dataset, reason=body.reason).to_json()


@router.get("/products", summary="Data products")
def list_products(platform: PlatformDep, person: SignedIn, status: str | None = None) -> list[dict[str, Any]]:
    return [p.to_json() for p in lifecycle.list_products(platform, viewer=person, status=status)]


@router.post("/products", summary="Promote a dataset (and others it combines) to a data product", status_code=201)
def promote(body: PromoteIn, platform: PlatformDep, person: Promotes) -> dict[str, Any]:
    return lifecycle.promote(
        platform,
        person,
        body.dataset,
        owner=body.owner,
        contract=body.contract,
        parts=body.with_datasets,
        description=body.description,
        freshness_hours=body.freshness_hours,
    ).to_json()


@router.get("/products/{dataset}", summary="A product: owner, version, status badges, contract and checks")
def product(dataset: str, platform: PlatformDep, person: Annotated[Person, Requires("product.know")]) -> dict[str, Any]:
    return lifecycle.product_view(platform, dataset, viewer=person).to_json()


@router.post("/products/{dataset}/deprecate", summary="Deprecate a product; recent consumers are told")
def deprecate(dataset: str, body: DeprecateIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return lifecycle.deprecate(platform, person, dataset, replacement=body.replacement, reason=body.reason).to_json()


@router.post("/products/{dataset}/retire", summary="Retire a deprecated product")
def retire(dataset: str, body: ReasonIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return lifecycle.retire(platform, person, dataset, reason=body.reason).to_json()


@router.get(
    "/contracts/{dataset}",
    summary="A dataset's contract as ODCS v3 YAML (a generated draft when it is no product yet)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {}}}},
)
def export_contract(dataset: str, platform: PlatformDep, person: KnowsDataset) -> PlainTextResponse:
    return PlainTextResponse(contracts.export(platform, dataset, viewer=person), media_type="application/yaml")


@router.put(
    "/contracts",
    summary='Publish a contract: ODCS v3 YAML as the body (or JSON {"document": YAML})',
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
async def import_contract(request: Request, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    import json

    from fastapi.concurrency import run_in_threadpool

    raw = await request.body()
    if len(raw) > MAX_CONTRACT:
        raise InvalidInput("the contract is too large")
    text = raw.decode("utf-8", errors="replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            text = str(json.loads(text).get("document") or "")
        except (ValueError, AttributeError) as e:
            raise InvalidInput('send JSON {"document": "<the contract YAML>"} or the YAML itself') from e
    if not text.strip():
        raise InvalidInput("send the contract's YAML as the request body")
    return (await run_in_threadpool(contracts.import_contract, platform, person, text)).to_json()


@router.post("/contracts/{dataset}/check", summary="Run a contract's checks against the real table again")
def check_contract(dataset: str, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return contracts.recheck(platform, person, dataset).to_json()
