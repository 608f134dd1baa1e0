"""Sign-in throttling: failed sign-ins slow the next attempts down, per account and per client address.

Within `limits.signin_window_seconds`, the first `signin_free_failures` failures cost nothing; after
them each attempt must wait `signin_delay_seconds`, doubling with every failure up to
`signin_max_delay_seconds`; at `signin_lockout_failures` the account (or address) is locked for
`signin_lockout_seconds`. A client address gets `signin_address_factor` times the failures first (many
people share an office proxy). An attempt that must wait is refused with `Busy` (HTTP 429, Retry-After)
before the password is even checked, with the same words whether or not the account exists.
Every failure and every refused attempt is audited (`signin.failed`, `signin.throttled`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from threshold.errors import Busy
from threshold.identity.models import SignInFailure
from threshold.limits.settings import LimitSettings
from threshold.platform import Platform


def wait_seconds(
    failures: int, last: datetime | None, now: datetime, s: LimitSettings, factor: int = 1
) -> tuple[float, str]:
    """(seconds the next attempt must wait, the setting that makes it wait) after `failures` failures in the
    window, the last at `last`; `factor` scales the failure counts (client addresses)."""
    if last is None or failures < s.signin_free_failures * factor:
        return 0.0, ""
    if failures >= s.signin_lockout_failures * factor:
        until, field = last + timedelta(seconds=s.signin_lockout_seconds), "signin_lockout_seconds"
    else:
        steps = (failures - s.signin_free_failures * factor) // factor
        delay = min(s.signin_delay_seconds * 2**steps, s.signin_max_delay_seconds)
        until, field = last + timedelta(seconds=delay), "signin_delay_seconds"
    return max(0.0, (until - now).total_seconds()), field


def check(platform: Platform, account: str, address: str, now: datetime) -> None:
    """Refuse the attempt (before any password is checked) while the account or the address must wait."""
    s = platform.settings.limits
    since = now - timedelta(seconds=s.signin_window_seconds)
    key = _account(account)
    with platform.store.session() as db:
        by_account = db.execute(
            select(func.count(), func.max(SignInFailure.at)).where(
                SignInFailure.account == key, SignInFailure.at >= since
            )
        ).one()
        by_address = db.execute(
            select(func.count(), func.max(SignInFailure.at)).where(
                SignInFailure.address == address[:64], SignInFailure.at >= since
            )
        ).one()
    wait, field = max(
        wait_seconds(by_account[0], _aware(by_account[1]), now, s),
        wait_seconds(by_address[0], _aware(by_address[1]), now, s, s.signin_address_factor),
    )
    if wait > 0:
        _audit(platform, "signin.throttled", key, address, now)
        seconds = int(-(-wait // 1))
        locked = "locked for a while" if field == "signin_lockout_seconds" else "slowed down"
        raise Busy(
            f"too many failed sign-ins for this account or from this address: sign-in is {locked}; "
            f"try again in {seconds} s ({s.setting(field)})",
            wait,
        )


def failed(platform: Platform, account: str, address: str, now: datetime) -> None:
    """Count a failure (and forget failures older than the window)."""
    s = platform.settings.limits
    key = _account(account)
    with platform.store.session() as db:
        db.execute(delete(SignInFailure).where(SignInFailure.at < now - timedelta(seconds=s.signin_window_seconds)))
        db.execute(insert(SignInFailure).values(at=now, account=key, address=address[:64]))
    _audit(platform, "signin.failed", key, address, now)


def succeeded(platform: Platform, account: str) -> None:
    """A right password clears the account's failures (its address keeps its count)."""
    with platform.store.session() as db:
        db.execute(delete(SignInFailure).where(SignInFailure.account == _account(account)))


def _account(name: str) -> str:
    return name.strip().lower()[:200]


def _aware(d: datetime | None) -> datetime | None:
    from datetime import UTC

    return d if d is None or d.tzinfo else d.replace(tzinfo=UTC)


def _audit(platform: Platform, action: str, account: str, address: str, now: datetime) -> None:
    from threshold.store.models import AuditEntry

    with platform.store.session() as db:
        db.execute(
            insert(AuditEntry).values(
                at=now,
                actor_id=None,
                action=action,
                rules=["limits.signin"],
                detail={"account": account, "address": address[:64]},
            )
        )
