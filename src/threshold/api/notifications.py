"""REST API of notifications: the caller's inbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from threshold.interface.deps import PlatformDep
from threshold.interface.params import MAX_ID
from threshold.interface.permissions import SignedIn
from threshold.notifications import service

router = APIRouter(prefix="/api/v1")


class ReadIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=10_000)


@router.get("/notifications", summary="My inbox")
def notifications(platform: PlatformDep, person: SignedIn, unread: bool = False) -> list[dict[str, Any]]:
    return [m.to_json() for m in service.inbox(platform, person, unread=unread)]


@router.post("/notifications/read", summary="Mark messages read (all when no ids)")
def read(body: ReadIn, platform: PlatformDep, person: SignedIn) -> dict[str, int]:
    return {"marked": service.mark_read(platform, person, body.ids)}
