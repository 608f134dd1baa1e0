"""Who may call each route: declared next to the route, collected from the app, enforced for every request.

A route declares its action of the vocabulary (`threshold.access.actions`) as a dependency of its
signature, through a named alias or `Requires` itself:

    def dataset(name: str, person: Annotated[Person, Requires("dataset.know", on="name")]) -> ...
    def me(person: SignedIn) -> ...

`Requires(action)` checks what can be checked before the target is known: anonymous callers get 401 on
every route that is not `public`, and a `governance` or `admin` route refuses everyone else (403). With
`on=<path parameter>`, the dataset the path names is decided too: a dataset the caller may not know
exists answers exactly like one that does not exist (404), and a refused action answers 403 with its
rule. Domain-scoped actions without `on` are decided by the service on its target (services ask the same
decision point, so the CLI and the Python client get the same answers).

`route_rules(app)` walks the app's routes and collects every declaration; `enforce`, a dependency of every
route added by `create_app`, refuses a route that declares none (fail closed), and the permission test
fails on any.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, APIRouter, iter_route_contexts
from starlette.concurrency import run_in_threadpool

from threshold.access import ACTIONS, Level, kept_ref, known_ref, require
from threshold.catalog.search import did_you_mean
from threshold.errors import Denied, NotFound, Unauthenticated
from threshold.identity.service import Person, kept_person, person_for_token, token_owner

API = "/api/v1"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Rule:
    """One route's declared permission."""

    action: str
    on: str | None = None
    """The path parameter naming the dataset the action is about."""

    @property
    def level(self) -> Level:
        return ACTIONS[self.action].audience


class _Requirement:
    """The dependency behind `Requires`: checks the caller and, with `on`, the dataset in the path."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    async def __call__(self, request: Request) -> Person | None:
        """On the event loop when the request carries no credential (the anonymous caller is decided
        without a store read: no hop to a worker thread), or when the caller is found by quick reads alone
        (`quick`); else on a worker thread, as it reads the store."""
        if _anonymous(request):
            if self.rule.level == "public":
                return None
            _refuse_anonymous(request)
        if request.app.state.platform.store.reads_locally:
            try:
                return self.decide(request, quick=True)
            except _NotKept:
                pass
        return await run_in_threadpool(self.decide, request)

    def decide(self, request: Request, *, quick: bool = False) -> Person | None:
        """The caller, if the rule lets them call. `quick`: only from quick reads and what is kept for the
        metadata version (the person; the path's dataset as the caller may know it), `_NotKept` otherwise, so
        it may run on the event loop (a hop to a worker thread costs more than the reads); the rest of the
        decision is made in memory."""
        level = self.rule.level
        if level == "public":
            try:
                return caller(request, quick=quick)
            except Unauthenticated:
                return None  # a stale token does not close a public route
        person = caller(request, quick=quick)
        if person is None:
            _refuse_anonymous(request)
        _check_csrf(request)
        if level in ("governance", "admin"):
            require(person, self.rule.action)
        if self.rule.on is not None:
            platform = request.app.state.platform
            name = dataset_param(request.path_params.get(self.rule.on, ""))
            if quick:
                found = kept_ref(platform, person, name)
                if found is None:
                    raise _NotKept(name)
                ref = found
            else:
                try:
                    ref = known_ref(platform, person, name)
                except NotFound as e:  # answered as missing, with the datasets they may know that were meant
                    raise NotFound(str(e), suggestions=did_you_mean(platform, name, viewer=person)) from e
            require(person, self.rule.action, ref, platform=platform)
        return person


def _anonymous(request: Request) -> bool:
    """The request names nobody: no bearer token and no signed-in web session (`caller` would be None)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return False
    return not ("session" in request.scope and request.session.get("user"))


def _refuse_anonymous(request: Request) -> NoReturn:
    if _path(request).startswith(API + "/"):
        raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    raise Unauthenticated("sign in to see this page")


def _path(request: Request) -> str:
    """The request's path as `request.url.path` has it, without building the URL (a header scan and two URL
    parses per call): the same text for every prefix asked here (only `?`, `#` and `\\` are escaped there)."""
    return request.scope["path"]  # type: ignore[no-any-return]


def Requires(action: str, *, on: str | None = None) -> Any:  # noqa: N802  (reads like a declaration)
    """The permission of a route: `Annotated[Person, Requires("dataset.manage", on="name")]`."""
    if action not in ACTIONS:
        raise KeyError(f"no action {action!r} in the vocabulary (threshold/access/actions.py)")
    if on is not None and not action.startswith("dataset."):
        raise ValueError(f"Requires({action!r}, on=...): only a dataset action is decided on the path's dataset")
    return Depends(_Requirement(Rule(action, on)))


Public = Annotated[Person | None, Requires("platform.public")]
"""Anyone, signed in or not (the caller, if any)."""
SignedIn = Annotated[Person, Requires("platform.use")]
"""Anyone signed in; the service narrows what they see."""
Governance = Annotated[Person, Requires("governance.oversee")]
"""The governance group and administrators."""
Admin = Annotated[Person, Requires("platform.admin")]
"""Platform administrators."""


def dataset_param(value: str) -> str:
    """A dataset named in a path: `domain.name`, or a page's JSON twin `domain.name.json`."""
    value = value.strip()
    if value.endswith(".json") and value.count(".") >= 2:
        value = value[: -len(".json")]
    return value


class _NotKept(Exception):
    """A quick decision would need a session: the caller or the path's dataset is not kept for the version."""


def caller(request: Request, *, quick: bool = False) -> Person | None:
    """Who is calling: an API token wins over the web session; None when neither. `quick`: from `Store.read_row`
    reads and the person kept for the metadata version only; `_NotKept` when the person must be read."""
    from threshold.interface.deps import session_person

    platform = request.app.state.platform
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if not quick:
            return person_for_token(platform, token)
        name = token_owner(platform, token)
    elif not quick:
        return session_person(request)
    else:
        user = request.session.get("user") if "session" in request.scope else None
        if not user:
            return None
        name = user
    person = kept_person(platform, name)
    if person is None:
        raise _NotKept(name)
    return person


def _check_csrf(request: Request) -> None:
    """An API call with the web session (not a token) that changes state carries the session's CSRF token
    (pages check the token of their forms themselves)."""
    if not _path(request).startswith(API + "/") or request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    sent = request.headers.get("x-csrf-token", "")
    expected = request.session.get("csrf", "") if "session" in request.scope else ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise Denied("missing or wrong CSRF token (rule: web.csrf)")


def declared(route: APIRoute) -> list[Rule]:
    """The permissions a route declares (in its signature or its `dependencies`)."""
    found: list[Rule] = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, _Requirement):
            found.append(dep.call.rule)
        stack.extend(dep.dependencies)
    return found


def route_rules(app: FastAPI | APIRouter) -> dict[tuple[str, str], Rule]:
    """(method, path template) -> the route's declared permission, for every route of `app` (or of a router)
    declaring one."""
    out: dict[tuple[str, str], Rule] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path is not None:
            rules = declared(route)
            if len(rules) == 1:
                out.update(((m, context.path), rules[0]) for m in context.methods or () if m != "HEAD")
    return out


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, static files excepted."""
    out: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        if context.methods and context.path is not None:
            out.update((m, context.path) for m in context.methods if m != "HEAD")
    return sorted(out)


def undeclared(app: FastAPI) -> list[str]:
    """Routes of `app` that declare no permission, or more than one (a route must say who may call it)."""
    problems = []
    for context in iter_route_contexts(app.routes):
        if not context.methods or context.path is None:
            continue  # a mount (static files)
        route = context.original_route
        count = len(declared(route)) if isinstance(route, APIRoute) else 0
        if count != 1:
            for m in sorted(context.methods - {"HEAD"}):
                problems.append(f"{m} {context.path}" + (f" ({count} declarations)" if count else ""))
    return sorted(problems)


def level_of(app: FastAPI, method: str, path: str) -> Level | None:
    rule = rules_of(app).get(("GET" if method == "HEAD" else method, path))
    return rule.level if rule else None


def rules_of(app: FastAPI) -> dict[tuple[str, str], Rule]:
    """The app's collected table (built once; `create_app` builds it after adding every route)."""
    table = getattr(app.state, "route_rules", None)
    if table is None:
        table = app.state.route_rules = route_rules(app)
    return table  # type: ignore[no-any-return]


async def enforce(request: Request) -> None:
    """Fail closed: a route that declares no permission is refused, whoever calls. On the event loop (a
    table lookup): a sync dependency would cost every request a hop to a worker thread and back."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None or (request.method if request.method != "HEAD" else "GET", path) not in rules_of(request.app):
        raise Denied(f"no permission is declared for {request.method} {path} (rule: route.undeclared)")
