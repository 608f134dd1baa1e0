"""People and domains: who they are, which domains they belong to, API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from threshold.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from threshold.identity import scram
from threshold.identity.models import ScramSecret
from threshold.kept import Kept, kept_on
from threshold.names import check_name
from threshold.platform import Platform
from threshold.store.models import ApiToken, Domain, Membership, User

_hasher = PasswordHasher()
ADMIN = "admin"


@dataclass(frozen=True)
class Person:
    """Who is acting: what every service function receives instead of a raw row."""

    id: int
    name: str
    display_name: str
    is_admin: bool
    domains: tuple[str, ...]
    owner_of: tuple[str, ...]
    is_governance: bool = False

    @property
    def domain(self) -> str | None:
        return self.domains[0] if self.domains else None


def _person(user: User) -> Person:
    ms = sorted(user.memberships, key=lambda m: m.domain.name)
    return Person(
        id=user.id,
        name=user.name,
        display_name=user.display_name or user.name,
        is_admin=user.is_admin,
        domains=tuple(m.domain.name for m in ms),
        owner_of=tuple(m.domain.name for m in ms if m.role == "owner"),
        is_governance=bool(user.is_governance),
    )


def _user_row(s: Session, name: str) -> User:
    user = s.scalars(
        select(User).where(User.name == name).options(selectinload(User.memberships).selectinload(Membership.domain))
    ).one_or_none()
    if user is None:
        raise NotFound(f"no user {name!r}; add one with `threshold user add {name if len(name) < 40 else 'NAME'}`")
    return user


DEMO_ROLE = "demo_role"
DEMO_PASSWORD_HINT = "demo_password_hint"
"""User attributes the demo builder sets on the people of its story (and on no one else): a home whose people
carry them is a demo, and its login page lists them."""


@dataclass(frozen=True)
class DemoPerson:
    name: str
    display_name: str
    role: str
    password_hint: str


def demo_people(platform: Platform, *, limit: int = 60) -> list[DemoPerson]:
    """The people of the demo's story, when this home is the demo (empty on every other home)."""
    role = User.attributes[DEMO_ROLE].as_string()
    with platform.store.session() as s:
        rows = s.execute(
            select(User.name, User.display_name, role, User.attributes[DEMO_PASSWORD_HINT].as_string())
            .where(role.is_not(None), User.password_hash.is_not(None))
            .order_by(User.id)
            .limit(limit)
        ).all()
    return [DemoPerson(n, d or n, r, h or "") for n, d, r, h in rows]


LANGUAGES = ("en", "de")
"""The languages of the interface text; a person's choice is the user attribute `language` (default English)."""


def language_of(platform: Platform, name: str) -> str:
    with platform.store.session() as s:
        attributes = s.scalar(select(User.attributes).where(User.name == name)) or {}
    language = attributes.get("language") if isinstance(attributes, dict) else None
    return language if language in LANGUAGES else LANGUAGES[0]


def set_language(platform: Platform, person: Person, language: str) -> str:
    """A person chooses the language of their interface (their own only)."""
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    with platform.store.session() as s:
        user = _user_row(s, person.name)
        user.attributes = dict(user.attributes or {}) | {"language": language}
    return language


def get_person(platform: Platform, name: str) -> Person:
    with platform.store.session() as s:
        return _person(_user_row(s, name))


MAX_PEOPLE_KEPT = 1024
"""People kept per platform by `signed_in_person` (least recently used dropped first)."""


def signed_in_person(platform: Platform, name: str) -> Person:
    """`get_person` for the caller of each request (web session or API token): kept per (store metadata
    version, name), so a request reads one number instead of a person, their memberships and domains. The
    version moves with every committed change to people, memberships and domains (`Store.metadata_version`),
    so the next request after a change sees it; without the version (a store before that migration) it reads."""
    version = platform.store.metadata_version()  # before the read: a later change moves it past this key
    if version is None:
        return get_person(platform, name)
    return _kept_people(platform).get_or_make((version, name), lambda: get_person(platform, name))


def kept_person(platform: Platform, name: str) -> Person | None:
    """`signed_in_person`'s answer when it is kept for the current metadata version (one read of the version,
    no session), else None."""
    version = platform.store.metadata_version()
    return None if version is None else _kept_people(platform).get((version, name))


def _kept_people(platform: Platform) -> Kept[Person]:
    return kept_on(platform, "_signed_in_people", lambda: Kept(MAX_PEOPLE_KEPT))


def _domain_row(s: Session, name: str) -> Domain:
    domain = s.scalars(select(Domain).where(Domain.name == name)).one_or_none()
    if domain is None:
        raise NotFound(f"no domain {name!r}; add it with `threshold domain add`")
    return domain


def add_user(
    platform: Platform,
    name: str,
    *,
    display_name: str = "",
    email: str | None = None,
    domains: tuple[str, ...] = (),
    admin: bool = False,
    governance: bool = False,
    password: str | None = None,
    attributes: dict[str, str] | None = None,
) -> Person:
    check_name("user", name)
    with platform.store.session() as s:
        if s.scalars(select(User.id).where(User.name == name)).first() is not None:
            raise Conflict(f"user {name!r} exists already")
        user = User(
            name=name,
            display_name=display_name or name,
            email=email,
            is_admin=admin,
            is_governance=governance,
            attributes=attributes or {},
            password_hash=_hasher.hash(password) if password else None,
        )
        s.add(user)
        s.flush()
        if password:
            _remember_scram(s, user.id, password)
        for d in domains:
            s.add(Membership(user=user, domain=_domain_row(s, d), role="member"))
        s.flush()
        return _person(_user_row(s, name))


def add_domain(
    platform: Platform, name: str, *, title: str = "", description: str = "", owners: tuple[str, ...] = ()
) -> str:
    check_name("domain", name)
    with platform.store.session() as s:
        if s.scalars(select(Domain.id).where(Domain.name == name)).first() is not None:
            raise Conflict(f"domain {name!r} exists already")
        domain = Domain(name=name, title=title or name.replace("_", " ").title(), description=description)
        s.add(domain)
        s.flush()
        for owner in owners:
            _set_membership(s, _user_row(s, owner), domain, "owner")
    return name


def join_domain(platform: Platform, user: str, domain: str, role: str = "member") -> None:
    if role not in ("member", "owner"):
        raise InvalidInput("role must be 'member' or 'owner'")
    with platform.store.session() as s:
        _set_membership(s, _user_row(s, user), _domain_row(s, domain), role)


def _set_membership(s: Session, user: User, domain: Domain, role: str) -> None:
    m = s.get(Membership, (user.id, domain.id))
    if m is None:
        s.add(Membership(user_id=user.id, domain_id=domain.id, role=role))
    else:
        m.role = role


def list_domains(platform: Platform) -> list[dict[str, object]]:
    with platform.store.session() as s:
        out = []
        for d in s.scalars(select(Domain).order_by(Domain.name).options(selectinload(Domain.memberships))):
            out.append(
                {
                    "name": d.name,
                    "title": d.title,
                    "description": d.description,
                    "owners": sorted(m.user.name for m in d.memberships if m.role == "owner"),
                    "members": len(d.memberships),
                }
            )
        return out


def list_users(platform: Platform) -> list[Person]:
    with platform.store.session() as s:
        users = s.scalars(
            select(User).order_by(User.name).options(selectinload(User.memberships).selectinload(Membership.domain))
        )
        return [_person(u) for u in users]


def set_password(platform: Platform, name: str, password: str) -> None:
    if len(password) < 4:
        raise InvalidInput("a password needs at least 4 characters")
    with platform.store.session() as s:
        user = _user_row(s, name)
        user.password_hash = _hasher.hash(password)
        _remember_scram(s, user.id, password)


def authenticate(platform: Platform, name: str, password: str, *, address: str = "local") -> Person:
    """Check a password; the error never says whether the user exists.

    Throttled per account and per client `address` (`identity/throttle.py`): after repeated failures an
    attempt is refused with `Busy` before the password is checked, the same way for unknown accounts.
    """
    from threshold.identity import throttle

    now = platform.limits.now()
    throttle.check(platform, name, address, now)
    try:
        person = _verify(platform, name, password)
    except Unauthenticated:
        throttle.failed(platform, name, address, now)
        raise
    throttle.succeeded(platform, name)
    return person


def _verify(platform: Platform, name: str, password: str) -> Person:
    with platform.store.session() as s:
        user = s.scalars(select(User).where(User.name == name)).one_or_none()
        ok = False
        if user is not None and user.password_hash:
            try:
                ok = _hasher.verify(user.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        else:
            _hasher.hash(password)  # same cost whether or not the user exists
        if not ok or user is None:
            raise Unauthenticated("wrong user name or password")
        if (
            s.scalar(select(ScramSecret.id).where(ScramSecret.user_id == user.id, ScramSecret.token_id.is_(None)))
            is None
        ):
            _remember_scram(s, user.id, password)  # a password set before the front door existed
        return _person(_user_row(s, name))


def create_token(platform: Platform, user: str, *, name: str = "", days: int | None = 90) -> tuple[int, str]:
    """A new API token for `user`: (id, token). The token is shown once; only its hash is kept."""
    token = "thr_" + secrets.token_urlsafe(32)
    with platform.store.session() as s:
        row = ApiToken(
            user_id=_user_row(s, user).id,
            name=name,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=datetime.now(UTC) + timedelta(days=days) if days else None,
        )
        s.add(row)
        s.flush()
        _remember_scram(s, row.user_id, token, token_id=row.id)
        return row.id, token


def revoke_token(platform: Platform, token_id: int, *, by: Person | None = None) -> None:
    """Revoke a token; `by` (when given) must own it or be an admin. Someone else's token reads as missing."""
    with platform.store.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None or (by is not None and not by.is_admin and row.user_id != by.id):
            raise NotFound(f"no token {token_id}")
        row.revoked_at = datetime.now(UTC)


def list_tokens(platform: Platform, person: Person) -> list[dict[str, object]]:
    """`person`'s API tokens (never the token itself: only its hash is kept)."""
    with platform.store.session() as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.user_id == person.id).order_by(ApiToken.id))
        return [
            {
                "id": t.id,
                "name": t.name,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in rows
        ]


def _iso(d: datetime | None) -> str | None:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds") if d else None


_TOKEN = (
    "SELECT api_tokens.revoked_at, api_tokens.expires_at, users.name FROM api_tokens"
    " JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.token_hash = :digest"
)


def person_for_token(platform: Platform, token: str) -> Person:
    """The person an API token acts as: `signed_in_person` of its `token_owner`."""
    return signed_in_person(platform, token_owner(platform, token))


def token_owner(platform: Platform, token: str) -> str:
    """The name of the person an API token acts as. The token itself is read on every call (a revocation or an
    expiry takes effect on the next one), in one read outside a session (`Store.read_row`: the fixed cost of
    every API request)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = platform.store.read_row(_TOKEN, {"digest": digest})
    now = datetime.now(UTC)
    if row is None or row[0] is not None:
        raise Unauthenticated("invalid or revoked API token")
    expires = _moment(row[1])
    if expires is not None and expires.replace(tzinfo=expires.tzinfo or UTC) < now:
        raise Unauthenticated("API token expired; create a new one with `threshold token create`")
    return str(row[2])


def _moment(value: datetime | str | None) -> datetime | None:
    """A moment as `Store.read_row` returns it: SQLite's text of it (as the ORM wrote it), else a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def ensure_admin(platform: Platform) -> Person:
    """The admin `threshold init` creates; the CLI acts as this person unless told otherwise."""
    with platform.store.session() as s:
        if s.scalars(select(User.id).where(User.name == ADMIN)).first() is None:
            s.add(User(name=ADMIN, display_name="Administrator", is_admin=True, attributes={}))
    return get_person(platform, ADMIN)


def _remember_scram(s: Session, user_id: int, plaintext: str, *, token_id: int | None = None) -> None:
    """Derive the SCRAM secret of a password (`token_id` None) or a token while its plaintext is at hand,
    with the person's one salt (made now if they have none); a password's replaces the one before."""
    rows = list(s.scalars(select(ScramSecret).where(ScramSecret.user_id == user_id)))
    salt, iterations = (
        (rows[0].salt, rows[0].iterations)
        if rows
        else (
            base64.b64encode(secrets.token_bytes(16)).decode(),
            scram.ITERATIONS,
        )
    )
    secret = scram.encode(scram.derive(plaintext, base64.b64decode(salt), iterations))
    mine = next((r for r in rows if r.token_id == token_id), None) if token_id is None else None
    if mine is not None:
        mine.secret = secret
    else:
        s.add(ScramSecret(user_id=user_id, token_id=token_id, salt=salt, iterations=iterations, secret=secret))
    s.flush()


def scram_salt(platform: Platform, name: str) -> tuple[bytes, int]:
    """The salt and rounds the front door sends for `name`: the person's own, or for an unknown name (or a
    person without a SCRAM secret) a stable one derived from the server's secret, so the answer never says
    whether an account exists."""
    with platform.store.session() as s:
        row = s.execute(
            select(ScramSecret.salt, ScramSecret.iterations)
            .join(User, User.id == ScramSecret.user_id)
            .where(User.name == name)
            .limit(1)
        ).first()
    if row is not None:
        return base64.b64decode(row[0]), int(row[1])
    key = platform.settings.session_secret().encode()
    return hmac.new(key, b"scram-salt:" + name.encode("utf-8", "replace"), hashlib.sha256).digest()[
        :16
    ], scram.ITERATIONS


def authenticate_scram(
    platform: Platform, name: str, verify: Callable[[scram.Secret], bool], *, address: str = "local"
) -> tuple[Person, scram.Secret]:
    """Sign in with a SCRAM-SHA-256 proof (`verify` checks it against one secret): the person's password or
    any of their live tokens. Throttled exactly as `authenticate`; the error never says whether the user exists."""
    from threshold.identity import throttle

    now = platform.limits.now()
    throttle.check(platform, name, address, now)
    found: tuple[Person, scram.Secret] | None = None
    with platform.store.session() as s:
        user = s.scalars(select(User).where(User.name == name)).one_or_none()
        if user is not None:
            rows = s.execute(
                select(ScramSecret.secret, ApiToken.revoked_at, ApiToken.expires_at)
                .outerjoin(ApiToken, ApiToken.id == ScramSecret.token_id)
                .where(ScramSecret.user_id == user.id)
            ).all()
            at = datetime.now(UTC)
            for text, revoked, expires in rows:
                if revoked is not None or (expires is not None and _aware(expires) < at):
                    continue
                secret = scram.decode(text)
                if verify(secret):
                    found = (_person(_user_row(s, name)), secret)
                    break
    if found is None:
        throttle.failed(platform, name, address, now)
        raise Unauthenticated("wrong user name or password")
    throttle.succeeded(platform, name)
    return found


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
