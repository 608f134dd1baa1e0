"""Invisible means invisible: every route and page of the app, as every kind of person, against an open, an
on-request and a restricted dataset.

The routes come from the app itself (`routes(app)`), their declared permissions from their signatures
(`route_rules(app)`). Path parameters are filled from the organisation of conftest.py: the dataset, one of its
columns, its domain, a check, an incident, a request and a grant made on it. Then, for every answer:
- no server error; anonymous callers are asked to sign in; a `governance` or `admin` route refuses others;
- a route declared about the dataset in its path answers 404 when the caller may not know the dataset
  exists, 403 when the decision point refuses its action, and something else otherwise;
- for a person outside hr, the answer about a restricted dataset is exactly the answer about a dataset that
  does not exist (name and ids aside), whatever the route, the method or the error;
- no answer to a person outside hr contains a name, a column, the consumer or the purpose of hr's data;
- no answer to a person without a grant on the on-request dataset shows a value read from its data (profile
  values, failing-row samples, previews): it stays discoverable by name and description only.
The CLI's JSON output is swept the same way for an outsider (`test_the_cli_says_nothing_of_hidden_data`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from lasting_loop import LastingLoop
from threshold.access import dataset_ref, knows, may, refs
from threshold.api.app import create_app
from threshold.identity.service import create_token
from threshold.interface.permissions import dataset_param, route_rules, routes

from .conftest import ON_REQUEST, OPEN, RESTRICTED, Restricted, World

pytestmark = pytest.mark.slow

ROLES = ("anonymous", "carla", "mario", "anna", "ben", "claudia", "hanna", "gina", "admin")
"""anonymous; carla (sales: an outsider of every dataset); mario and anna (member and owner of the open
dataset's domain); ben and claudia (owner and member of the on-request one's); hanna (owner of hr); gina (the
governance group); the admin. ingeborg, hr's consumer, stays out of the walk: its own reads (previews) would
make her a consumer of the open dataset too."""
DATASETS = (OPEN, ON_REQUEST, RESTRICTED)
MISSING = "hr.nosuch"
MISSING_ID = 987_654
COLUMN = {OPEN: "plant", ON_REQUEST: "amount", RESTRICTED: "pay_grade", MISSING: "pay_grade"}
ON_REQUEST_VALUES = ("CC-10", "98000.5")
"""Values read from the on-request dataset's data (a cost centre over budget, the smallest amount)."""
UNGRANTED = ("anna", "mario", "hanna", "gina")
"""People who may know the on-request dataset exists but hold no grant to read it."""
DATASET_PARAMS = {"name", "dataset", "column", "domain", "check_id", "incident_id", "ref", "request_id", "grant_id"}


def outsider_of_hr(role: str) -> bool:
    return role not in ("anonymous", "hanna", "gina", "admin")


class _Csrf(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "csrf-token":
            self.token = a.get("content") or ""


@dataclass
class Walker:
    world: World
    app: Any
    runner: LastingLoop
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, tuple[httpx.AsyncClient, str]] = field(default_factory=dict)
    api_client: httpx.AsyncClient | None = None
    dataset_refs: dict[tuple[int | None, str, str], Any] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    def session(self, role: str) -> tuple[httpx.AsyncClient, str]:
        if role not in self.sessions:
            client = self.client()
            page = self.runner.run(client.get("/login"))
            csrf = _csrf(page.text)
            if role != "anonymous":
                form = {"csrf": csrf, "username": role, "password": f"{role}-pass", "next": "/"}
                assert self.runner.run(client.post("/login", data=form)).status_code == 303
                csrf = _csrf(self.runner.run(client.get("/")).text)
            self.sessions[role] = (client, csrf)
        return self.sessions[role]

    def call(self, method: str, url: str, role: str, *, web: bool, body: dict[str, Any] | None = None) -> Any:
        if web:
            client, csrf = self.session(role)
            kwargs: dict[str, Any] = {}
            if method != "GET":
                kwargs["data"] = {"csrf": csrf} | (body or {})
            return self.runner.run(client.request(method, url, **kwargs))
        if self.api_client is None:
            self.api_client = self.client()
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role != "anonymous" else {}
        kwargs = {"json": body or {}} if method != "GET" else {}
        return self.runner.run(self.api_client.request(method, url, headers=headers, **kwargs))

    def ref(self, dataset: str, role: str) -> Any:
        """The dataset as the decision point sees it for `role` (their grants too), looked up by the test's own
        path; kept per store metadata version, which moves with every change to datasets, domains, people,
        memberships and grants (what the answer reads): the walk asks it for every route about a dataset, and
        the grants made on the world's datasets last 90 days."""
        key = (self.world.platform.store.metadata_version(), dataset, role)
        if key not in self.dataset_refs or key[0] is None:
            with self.world.platform.store.session() as s:
                found = dataset_ref(s, None, dataset_param(dataset))
                self.dataset_refs[key] = refs(s, self.world.people[role], [found.id])[found.id]
        return self.dataset_refs[key]


def _csrf(html: str) -> str:
    parser = _Csrf()
    parser.feed(html)
    return parser.token


@pytest.fixture(scope="module")
def walker(world: World) -> Iterator[Walker]:
    w = Walker(world, create_app(world.platform), LastingLoop())
    try:
        w.tokens = {role: create_token(world.platform, role)[1] for role in ROLES if role != "anonymous"}
        yield w
        for client, _ in w.sessions.values():
            w.runner.run(client.aclose())
        if w.api_client is not None:
            w.runner.run(w.api_client.aclose())
    finally:
        w.runner.close()


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def fill(w: Walker, path: str, dataset: str, role: str) -> str:
    """The route's path with its parameters taken from the world (ids of things made on `dataset`)."""
    ids = w.world.ids.get(dataset, {})
    url = path
    for name in _params(path):
        if name == "name" and ("/domains/" in path):
            value = dataset.split(".")[0]
        elif name == "name" and "/users/" in path:
            value = role if role != "anonymous" else "carla"
        elif name in ("name", "dataset"):
            value = dataset
        elif name == "column":
            value = COLUMN[dataset]
        elif name == "domain":
            value = dataset.split(".")[0]
        elif name in ("incident_id", "ref"):
            value = str(ids.get("incident", MISSING_ID))
        elif name == "check_id":
            value = str(ids.get("check", MISSING_ID))
        elif name == "request_id":
            value = str(ids.get("request", MISSING_ID))
        elif name == "grant_id":
            value = str(ids.get("grant", MISSING_ID))
        elif name == "action":
            value = "comment"
        else:
            value = "1"
        url = url.replace("{" + name + "}", value)
    return url


def is_web(path: str) -> bool:
    return not path.startswith("/api/") and path not in ("/openapi.json", "/docs", "/redoc")


def normalised(text: str, dataset: str, ids: dict[str, Any]) -> str:
    """An answer with the dataset's name and the ids of what was made on it replaced."""
    out = text.replace(dataset, "<DATASET>")
    for value in sorted({str(v) for v in ids.values()} | {str(MISSING_ID)}, key=len, reverse=True):
        out = re.sub(rf"(?<![\d\w]){re.escape(value)}(?![\d\w])", "<ID>", out)
    return out


# Routes whose dataset travels in the body: the body for a dataset (web forms and API bodies).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/query"): lambda ds: {"sql": f"SELECT * FROM {ds}"},
    ("POST", "/query"): lambda ds: {"sql": f"SELECT * FROM {ds}"},
    ("POST", "/query.json"): lambda ds: {"sql": f"SELECT * FROM {ds}"},
    ("POST", "/query/download"): lambda ds: {"sql": f"SELECT * FROM {ds}"},
    ("POST", "/api/v1/requests"): lambda ds: {"dataset": ds, "purpose": "probe"},
    ("POST", "/requests"): lambda ds: {"dataset": ds, "purpose": "probe"},
    ("POST", "/api/v1/incidents"): lambda ds: {"dataset": ds, "description": "probe"},
    ("POST", "/report"): lambda ds: {"dataset": ds, "description": "probe"},
    ("POST", "/api/v1/products"): lambda ds: {"dataset": ds},
    ("POST", "/products/promote"): lambda ds: {"dataset": ds},
    ("POST", "/candidates/nominate"): lambda ds: {"dataset": ds, "reason": "probe"},
    ("POST", "/candidates/dismiss"): lambda ds: {"dataset": ds, "reason": "probe"},
    ("POST", "/owners/propose"): lambda ds: {"dataset": ds},
    ("POST", "/owners/accept"): lambda ds: {"dataset": ds},
    ("POST", "/owners/decline"): lambda ds: {"dataset": ds, "reason": "probe"},
    ("POST", "/products/deprecate"): lambda ds: {"dataset": ds},
    ("POST", "/products/retire"): lambda ds: {"dataset": ds},
    ("POST", "/products/check"): lambda ds: {"dataset": ds},
    ("POST", "/api/v1/derive"): lambda ds: {"name": "probe", "domain": "sales", "sql": f"SELECT * FROM {ds}"},
}


def about_a_dataset(method: str, path: str) -> bool:
    return bool(set(_params(path)) & DATASET_PARAMS) or (method, path) in BODIES


def _leaks(r: Any) -> list[str]:
    return Restricted.found_in(r.text) + [f"header {h}" for h in Restricted.found_in(str(dict(r.headers)))]


def test_every_get_route_answers_each_person_as_declared_and_hides_what_it_must(walker: Walker) -> None:
    app, world = walker.app, walker.world
    declared = route_rules(app)
    problems: list[str] = []
    gets = [(m, p) for m, p in routes(app) if m == "GET"]
    assert len(gets) > 60, "the walk covers the app's routes"
    for method, path in gets:
        rule = declared[(method, path)]
        variants = DATASETS if set(_params(path)) & DATASET_PARAMS else (None,)
        for dataset in variants:
            for role in ROLES:
                url = fill(walker, path, dataset or OPEN, role)
                r = walker.call(method, url, role, web=is_web(path))
                where = f"{method} {url} as {role}"
                if r.status_code >= 500:
                    problems.append(f"{where}: {r.status_code} {r.text[:200]}")
                    continue
                if role == "anonymous":
                    if rule.level != "public" and r.status_code not in (401, 303):
                        problems.append(f"{where}: {r.status_code}, not a sign-in answer")
                    continue
                if r.status_code == 401:
                    problems.append(f"{where}: 401 for a signed-in person")
                person = world.people[role]
                if rule.level in ("governance", "admin") and (r.status_code == 403) == bool(may(person, rule.action)):
                    problems.append(f"{where}: {r.status_code} for the {rule.level} level")
                if rule.on is not None and dataset is not None:
                    ref = walker.ref(dataset, role)
                    expected = (
                        404
                        if not knows(person, ref)
                        else 403
                        if not may(person, rule.action, ref, platform=world.platform)
                        else None
                    )
                    if expected is not None and r.status_code != expected:
                        problems.append(f"{where}: {r.status_code}, expected {expected}")
                    if expected is None and (r.status_code in (401, 403) or "no dataset" in r.text[:300]):
                        problems.append(f"{where}: {r.status_code} {r.text[:120]}, expected an answer")
                if outsider_of_hr(role):
                    if dataset == RESTRICTED:
                        missing = walker.call(method, fill(walker, path, MISSING, role), role, web=is_web(path))
                        ids = world.ids[RESTRICTED]
                        same = (r.status_code, normalised(r.text, RESTRICTED, ids)) == (
                            missing.status_code,
                            normalised(missing.text, MISSING, ids),
                        )
                        if not same:
                            problems.append(
                                f"{where}: {r.status_code} {r.text[:160]!r} differs from a missing dataset's "
                                f"{missing.status_code} {missing.text[:160]!r}"
                            )
                    elif _leaks(r):
                        problems.append(f"{where}: {r.status_code} shows {_leaks(r)}")
                if role in UNGRANTED and (read := [v for v in ON_REQUEST_VALUES if v in r.text]):
                    problems.append(f"{where}: {r.status_code} shows {ON_REQUEST} data {read} without a grant")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role", [r for r in ROLES if outsider_of_hr(r)] + ["anonymous"])
def test_every_other_route_answers_about_a_hidden_dataset_as_about_a_missing_one(walker: Walker, role: str) -> None:
    """State-changing routes about a dataset (in the path or the body), probed with hr's restricted dataset
    and with one that does not exist: the same status, the same words, nothing of hr's data."""
    problems: list[str] = []
    ids = walker.world.ids[RESTRICTED]
    for method, path in routes(walker.app):
        if method == "GET" or not about_a_dataset(method, path) or path in ("/login", "/logout"):
            continue
        make_body = BODIES.get((method, path))
        answers = []
        for dataset in (RESTRICTED, MISSING):
            body = make_body(dataset) if make_body else None
            r = walker.call(method, fill(walker, path, dataset, role), role, web=is_web(path), body=body)
            if r.status_code >= 500:
                problems.append(f"{method} {path} as {role} on {dataset}: {r.status_code} {r.text[:200]}")
            answers.append((r.status_code, normalised(r.text, dataset, ids), r))
        (hidden_status, hidden_text, hidden), (missing_status, missing_text, _) = answers
        if (hidden_status, hidden_text) != (missing_status, missing_text):
            problems.append(
                f"{method} {path} as {role}: {hidden_status} {hidden.text[:160]!r} differs from a missing dataset's "
                f"{missing_status} {missing_text[:160]!r}"
            )
    assert problems == [], "\n".join(problems)


def test_the_hidden_dataset_is_really_there_for_its_domain(walker: Walker) -> None:
    """The walk proves something: hr's own people see what outsiders may not."""
    r = walker.call("GET", f"/api/v1/datasets/{RESTRICTED}/usage", "hanna", web=False)
    assert r.status_code == 200 and Restricted.purpose in r.text and Restricted.consumer in r.text
    r = walker.call("GET", f"/api/v1/lineage/{OPEN}", "hanna", web=False)
    assert "hr.staff_by_plant" in r.text
    r = walker.call("GET", "/api/v1/policies", "hanna", web=False)
    assert "hr.grades-hidden" in r.text
    assert "hr.grades-hidden" not in walker.call("GET", "/api/v1/policies", "carla", web=False).text
    # finance.budget's data: its failing-row sample and profile for finance, not for those without a grant
    for role, shown in (("ben", True), ("claudia", True), ("mario", False), ("gina", False)):
        checks = walker.call("GET", f"/api/v1/datasets/{ON_REQUEST}/checks", role, web=False)
        record = walker.call("GET", f"/api/v1/datasets/{ON_REQUEST}", role, web=False)
        assert checks.status_code == record.status_code == 200
        assert ("CC-10" in checks.text, "98000.5" in record.text) == (shown, shown), role
    # hr's question of both datasets: its text only for those who may know both
    questions = walker.call("GET", f"/api/v1/consumers/{OPEN}", "gina", web=False).json()["questions"]
    assert any(RESTRICTED in (q["text"] or "") for q in questions)
    questions = walker.call("GET", f"/api/v1/consumers/{OPEN}", "anna", web=False).json()["questions"]
    assert questions and not any(RESTRICTED in (q["text"] or "") for q in questions)
    # ben was told what is built on plant_kpis: hr's derived dataset is in the message, not in his inbox
    from sqlalchemy import select

    from threshold.notifications.models import Notification

    with walker.world.platform.store.session() as s:
        told = [
            n.body for n in s.scalars(select(Notification).where(Notification.user_id == walker.world.people["ben"].id))
        ]
    assert any("hr.staff_by_plant" in b for b in told)
    inbox = walker.call("GET", "/api/v1/notifications", "ben", web=False)
    assert "schema" in inbox.text and "hr.staff_by_plant" not in inbox.text


# --- the CLI ---------------------------------------------------------------------------------------------


def _cli_commands() -> list[tuple[list[str], Any]]:
    """Every command of the `threshold` app that prints JSON and may act as someone: (path, click command)."""
    import typer.main

    from threshold.cli import app

    root = typer.main.get_command(app)
    out = []

    def walk(cmd: Any, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
            return
        options = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if "--format" in options and "--as" in options:
            out.append((path, cmd))

    walk(root, [])
    return out


ARGUMENTS = {
    "dataset": lambda ds: ds,
    "target": lambda ds: ds,
    "sql": lambda ds: f"SELECT * FROM {ds}",
}
"""How a command's argument names a dataset (commands whose argument is something else are swept without)."""


def test_the_cli_says_nothing_of_hidden_data(world: World) -> None:
    """Every JSON-printing command, as carla (outside hr), with each dataset as its argument when it takes
    one: nothing of hr's data in the output, and the hidden dataset answered as a missing one."""
    from typer.testing import CliRunner

    from threshold.cli import app
    from threshold.errors import ThresholdError

    runner = CliRunner()
    home = str(world.platform.settings.home_dir)
    commands = _cli_commands()
    assert len(commands) >= 15
    problems = []
    for path, cmd in commands:
        takes = [p for p in cmd.params if getattr(p, "param_type_name", "") == "argument"]
        if len(takes) > 1 or (takes and takes[0].name not in ARGUMENTS):
            continue
        arg = ARGUMENTS[takes[0].name] if takes else None
        outputs = {}
        for dataset in (*DATASETS, MISSING) if arg else (None,):
            args = [*path, *([arg(dataset)] if arg and dataset else []), "--as", "carla", "--format", "json"]
            result = runner.invoke(app, [*args, "--home", home])
            error = result.exception if isinstance(result.exception, ThresholdError) else None
            if result.exception is not None and error is None and not isinstance(result.exception, SystemExit):
                problems.append(f"threshold {' '.join(args)}: {result.exception!r}")
            text = result.output + (f"{type(error).__name__}: {error}" if error else "")
            outputs[dataset] = text
            if dataset not in (RESTRICTED, MISSING) and Restricted.found_in(text):
                problems.append(f"threshold {' '.join(args)}: shows {Restricted.found_in(text)}")
        if arg:
            hidden, missing = outputs[RESTRICTED].replace(RESTRICTED, "<D>"), outputs[MISSING].replace(MISSING, "<D>")
            if hidden != missing:
                problems.append(f"threshold {' '.join(path)}: {hidden[:200]!r} differs from {missing[:200]!r}")
    assert problems == [], "\n".join(problems)
