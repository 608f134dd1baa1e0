"""Request dependencies: the platform, and the person signed in to the web UI.

Who is calling *and may call* a route is declared with the aliases of `interface/permissions.py` (`SignedIn`,
`Requires(...)`), never read here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from threshold.identity.service import Person, signed_in_person
from threshold.platform import Platform


async def get_platform(request: Request) -> Platform:
    """On the event loop: a sync dependency costs a hop to a worker thread, on every request of every route."""
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated[Platform, Depends(get_platform)]


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def session_person(request: Request) -> Person | None:
    """The person signed in to the web UI, if any."""
    name = request.session.get("user") if "session" in request.scope else None
    if not name:
        return None
    try:
        return signed_in_person(request.app.state.platform, name)
    except Exception:
        request.session.clear()
        return None
