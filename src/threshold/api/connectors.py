"""REST API of databases as sources under /api/v1 (docs/sources.md).

A source's connection: `PUT/GET/DELETE /sources/{name}/connection`, `POST /sources/{name}/test`; its syncs:
`PUT /sources/{name}/syncs` (set up, and schedule), `POST /syncs/{dataset}/run`, `DELETE /syncs/{dataset}`;
`GET /source-connections` lists them. A password goes in, never out. Who may do what: `source.manage`, asked by
the service (the source's owner and administrators; a sync also needs membership of its domain).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from threshold.connectors import service
from threshold.identity.service import Person
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import Requires

router = APIRouter(prefix="/api/v1")
Manages = Annotated[Person, Requires("source.manage")]


class ConnectionIn(BaseModel):
    url: str = Field(max_length=2000)
    password: str | None = Field(default=None, max_length=1000)
    owner: str | None = Field(default=None, max_length=63)
    description: str = Field(default="", max_length=10_000)
    replace: bool = False


class SyncIn(BaseModel):
    dataset: str = Field(max_length=127)
    table: str | None = Field(default=None, max_length=255)
    query: str | None = Field(default=None, max_length=100_000)
    mode: str = Field(default="full", max_length=20)
    cursor: str | None = Field(default=None, max_length=255)
    keys: list[str] = Field(default_factory=list, max_length=20)
    schedule: str | None = Field(default=None, max_length=100)


class RunIn(BaseModel):
    full: bool = False


@router.get("/source-connections", summary="Sources with a database connection (URLs for those who manage them)")
def list_connections(platform: PlatformDep, person: Manages) -> list[dict[str, Any]]:
    return [asdict(c) for c in service.listing(platform, user=person)]


@router.put("/sources/{name}/connection", summary="Register a source with its database, or change its connection")
def put_connection(name: str, body: ConnectionIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return asdict(
        service.add(
            platform,
            name,
            body.url,
            owner=body.owner or person.name,
            user=person,
            password=body.password,
            description=body.description,
            replace=body.replace,
        )
    )


@router.get("/sources/{name}/connection", summary="A source's connection (never its password) and its syncs")
def get_connection(name: str, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return asdict(service.show(platform, name, user=person))


@router.delete("/sources/{name}/connection", status_code=204, summary="Forget a source's connection and its syncs")
def delete_connection(name: str, platform: PlatformDep, person: Manages) -> None:
    service.remove(platform, name, user=person)


@router.post("/sources/{name}/test", summary="Connect to the source and list its tables")
def test_connection(name: str, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return asdict(service.test(platform, name, user=person))


@router.put("/sources/{name}/syncs", summary="Set up (and schedule) the sync of a table or query into a dataset")
def put_sync(name: str, body: SyncIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return asdict(
        service.configure(
            platform,
            name,
            dataset=body.dataset,
            user=person,
            table=body.table,
            query=body.query,
            mode=body.mode,
            cursor=body.cursor,
            keys=body.keys,
            schedule=body.schedule,
        )
    )


@router.post("/syncs/{dataset}/run", summary="Run a sync now (a share: one snapshot, or nothing on failure)")
def run_sync(dataset: str, body: RunIn, platform: PlatformDep, person: Manages) -> dict[str, Any]:
    return asdict(service.run(platform, dataset, user=person, full=body.full))


@router.delete("/syncs/{dataset}", status_code=204, summary="Forget a sync (the dataset stays)")
def delete_sync(dataset: str, platform: PlatformDep, person: Manages) -> None:
    service.unschedule(platform, dataset, user=person)
