"""REST API of a person's home: the same parts as the home page (`interface.home`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from threshold.interface import home as personal_home
from threshold.interface.deps import PlatformDep
from threshold.interface.permissions import SignedIn

router = APIRouter(prefix="/api/v1")


@router.get("/home", summary="My home: my datasets this week, what waits for me, my recent work, unused shares")
def home(platform: PlatformDep, person: SignedIn) -> dict[str, Any]:
    return asdict(personal_home.home(platform, person))


@router.get("/home/waiting", summary="How many requests, incidents and ownership proposals wait for me")
def waiting(platform: PlatformDep, person: SignedIn) -> dict[str, int]:
    counts = personal_home.waiting(platform, person)
    return asdict(counts) | {"total": counts.total}
