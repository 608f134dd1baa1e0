"""Sign-in throttling: growing delays and a lockout per account and per client address, the same answer
for an unknown account and a wrong password, every failure audited. The wall clock is the test's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from threshold.api.app import create_app
from threshold.errors import Busy, Unauthenticated
from threshold.identity.service import authenticate
from threshold.limits import Limits
from threshold.store.models import AuditEntry


class Wall:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def move(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def platform(limited: Any, wall: Wall) -> Any:
    p = limited()
    p.limits = Limits(p.settings.limits, now=wall, watchdog_thread=False)
    return p


def _fail(platform: Any, name: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated, match="wrong user name or password"):
            authenticate(platform, name, "wrong", address=address)


def test_delays_grow_after_the_free_failures_and_a_right_password_clears_them(platform: Any, wall: Wall) -> None:
    _fail(platform, "anna", 5)
    with pytest.raises(Busy) as refused:  # even the right password waits: no oracle while throttled
        authenticate(platform, "anna", "anna-pass", address="10.0.0.1")
    assert refused.value.retry_after == 1 and "THRESHOLD_LIMITS__SIGNIN_DELAY_SECONDS" in str(refused.value)
    wall.move(1)
    _fail(platform, "anna", 1)
    with pytest.raises(Busy) as refused:
        authenticate(platform, "anna", "wrong", address="10.0.0.1")
    assert refused.value.retry_after == 2  # doubled
    wall.move(2)
    assert authenticate(platform, "anna", "anna-pass", address="10.0.0.1").name == "anna"
    _fail(platform, "anna", 1)  # the count started again
    assert authenticate(platform, "anna", "anna-pass", address="10.0.0.1").name == "anna"


def test_a_lockout_after_many_failures(platform: Any, wall: Wall) -> None:
    failures = 0
    while failures < 20:  # each attempt as soon as its delay allows
        try:
            authenticate(platform, "ben", "wrong", address="10.0.0.1")
        except Busy as slowed:
            wall.move(slowed.retry_after)
        except Unauthenticated:
            failures += 1
    with pytest.raises(Busy, match="locked for a while") as locked:
        authenticate(platform, "ben", "ben-pass", address="10.0.0.1")
    assert 800 < locked.value.retry_after <= 900
    assert "THRESHOLD_LIMITS__SIGNIN_LOCKOUT_SECONDS" in str(locked.value)


def test_an_unknown_account_is_answered_exactly_like_a_wrong_password(platform: Any, wall: Wall) -> None:
    answers = {}
    for name in ("anna", "nobody-at-all"):
        with pytest.raises(Unauthenticated) as wrong:
            authenticate(platform, name, "wrong", address="10.0.0.2")
        _fail(platform, name, 4, address="10.0.0.2")
        with pytest.raises(Busy) as slowed:
            authenticate(platform, name, "wrong", address="10.0.0.2")
        answers[name] = (str(wrong.value), str(slowed.value), slowed.value.retry_after)
        wall.move(3600)
    assert answers["anna"] == answers["nobody-at-all"]


def test_one_address_trying_many_accounts_is_slowed_down(platform: Any) -> None:
    for i in range(25):  # 5 accounts x 5 failures: each account is just at its free failures
        _fail(platform, f"user{i // 5}", 1, address="10.9.9.9")
    with pytest.raises(Busy):
        authenticate(platform, "carla", "carla-pass", address="10.9.9.9")
    assert authenticate(platform, "carla", "carla-pass", address="10.1.1.1").name == "carla"  # others are not


def test_every_failure_and_refusal_is_audited(platform: Any) -> None:
    _fail(platform, "anna", 5)
    with pytest.raises(Busy):
        authenticate(platform, "anna", "x", address="10.0.0.1")
    with platform.store.session() as s:
        counts = dict(
            s.execute(
                select(AuditEntry.action, func.count())
                .where(AuditEntry.action.like("signin.%"))
                .group_by(AuditEntry.action)
            ).all()
        )
        detail = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "signin.failed").limit(1)).one()
    assert counts == {"signin.failed": 5, "signin.throttled": 1}
    assert detail == {"account": "anna", "address": "10.0.0.1"}


def test_the_api_and_the_login_page_answer_429_with_retry_after(platform: Any) -> None:
    async def go() -> tuple[list[httpx.Response], httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(platform), client=("10.7.7.7", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            api = [
                await client.post("/api/v1/auth/token", json={"user": user, "password": "wrong"})
                for user in ["ben"] * 5 + ["ben", "nobody"]
            ]
            page = await client.get("/login")
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            web = await client.post("/login", data={"username": "ben", "password": "ben-pass", "csrf": csrf})
            return api, web

    api, web = asyncio.run(go())
    assert [r.status_code for r in api] == [401] * 5 + [429, 401]
    assert api[0].json()["detail"] == api[6].json()["detail"]  # unknown user: the same words
    assert api[5].headers["retry-after"] == "1" and "try again in 1 s" in api[5].json()["detail"]
    assert web.status_code == 429 and web.headers["retry-after"] == "1" and "too many failed sign-ins" in web.text
