"""`threshold tag|untag|visibility|purposes|policy|request|approve|deny|revoke|grants|inbox|explain|audit|login`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home, Limit, Purpose, Reason
from threshold.commands.support import acting, check_format, emit, lazy_module, out, platform_at, say, show
from threshold.errors import InvalidInput
from threshold.governance.results import DatasetVisibility, DomainVisibility, Explanation
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, field, when, yes_no

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.governance import audit, controls, policies
    from threshold.governance import requests as access
else:
    access = lazy_module("threshold.governance.requests")
    audit = lazy_module("threshold.governance.audit")
    controls = lazy_module("threshold.governance.controls")
    policies = lazy_module("threshold.governance.policies")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
policy_app = typer.Typer(no_args_is_help=True, help="Guardrails and domain policies (YAML policy files).")
app.add_typer(policy_app, name="policy")


@app.command("tag")
def tag_cmd(target: str, tag: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Tag a dataset or a column (DATASET or DATASET.COLUMN), e.g. personal.email."""
    check_format(fmt)
    p = platform_at(home)
    r = controls.tag(p, acting(p, as_user), target, tag)
    say(r, fmt, f"tagged {r.dataset}{'.' + r.column if r.column else ''} {r.tag}")


@app.command("untag")
def untag_cmd(target: str, tag: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Remove a tag from a dataset or a column."""
    check_format(fmt)
    p = platform_at(home)
    r = controls.untag(p, acting(p, as_user), target, tag)
    say(r, fmt, f"removed {r.removed} from {r.dataset}{'.' + r.column if r.column else ''}")


@app.command("visibility")
def visibility_cmd(target: str, visibility: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Set a dataset's visibility (open, on-request, restricted), or a domain's default when TARGET is a domain."""
    check_format(fmt)
    p = platform_at(home)
    r = controls.set_visibility(p, acting(p, as_user), target, visibility)
    show(r, fmt, VISIBILITY)


def _visibility_lines(r: DatasetVisibility | DomainVisibility) -> Iterator[Plain]:
    if isinstance(r, DomainVisibility):
        yield Plain(f"new datasets of domain {r.domain} are {r.default_visibility} by default")
    else:
        yield Plain(f"{r.dataset} is now {r.visibility}")


VISIBILITY = View(lines=_visibility_lines)


@app.command("purposes")
def purposes_cmd(
    dataset: str,
    purpose: Annotated[list[str] | None, typer.Option("--purpose", help="Allowed purpose (repeatable).")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Set the purposes a dataset may be read for (none given: any purpose)."""
    check_format(fmt)
    p = platform_at(home)
    r = controls.set_purposes(p, acting(p, as_user), dataset, purpose or [])
    say(r, fmt, f"{r.dataset} may be read for: {', '.join(r.allowed_purposes) or 'any purpose'}")


@policy_app.command("apply")
def policy_apply(
    file: Path,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the new version).")] = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Apply a policy file (global guardrails or one domain's policies); every change is versioned."""
    check_format(fmt, ("table", "json"))
    if not file.is_file():
        raise InvalidInput(f"no policy file {file.name!r}")
    p = platform_at(home)
    r = policies.apply(p, acting(p, as_user), file.read_text(encoding="utf-8"), reason=reason)
    show(r, fmt, APPLIED)


APPLIED = View(lines=lambda r: _applied_lines(r), json=lambda r: r.__dict__)


def _applied_lines(r: Any) -> Iterator[str]:
    scope = "global guardrails" if r.scope == "global" else f"policies of {r.domain}"
    yield (
        f"applied {scope}: {len(r.created)} created, {len(r.updated)} updated, {len(r.retired)} retired, "
        f"{len(r.unchanged)} unchanged"
    )
    for label, ids in (("created", r.created), ("updated", r.updated), ("retired", r.retired)):
        for rid in ids:
            yield f"  {label} {rid}"


@policy_app.command("list")
def policy_list(
    history: Annotated[bool, typer.Option("--history", help="Every version, not only active rules.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """List guardrails and domain policies (the built-in guardrail first), as the person asking may see them."""
    check_format(fmt, ("table", "json"))
    platform = platform_at(home)
    rows = policies.list_policies(platform, history=history, viewer=acting(platform, as_user))
    emit(rows, POLICIES, fmt)


POLICIES = TableSpec(
    Col("rule", "rule", id=True),
    Col("scope", lambda r: field(r, "domain") or field(r, "scope")),
    Col("kind", "kind"),
    Col("version", "version", justify="right"),
    Col("active", "active"),
    Col("by", "author"),
    Col("reason", "reason"),
)


@app.command("request")
def request_cmd(
    dataset: str,
    purpose: Annotated[str, typer.Option("--purpose", help="Why you need the data.")],
    as_user: As = None,
    days: Annotated[int, typer.Option("--days", help="For how long.")] = 90,
    column: Annotated[list[str] | None, typer.Option("--column", help="Only these columns (repeatable).")] = None,
    justification: Annotated[str, typer.Option("--justification")] = "",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Ask for access to a dataset for a purpose. Prints the request id."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    r = access.request_access(
        p, acting(p, as_user), dataset, purpose=purpose, days=days, columns=column, justification=justification
    )
    show(r, fmt, REQUESTED)
    if fmt == "table":  # a note for the person, on stderr: stdout holds only the id, for scripts
        status = f"approved by rule {r.auto_rule}" if r.status == "approved" else "waiting for the owners"
        sys.stderr.write(f"request {r.id} for {r.dataset} ({r.purpose}): {status}\n")


REQUESTED = View(lines=lambda r: [Plain(str(r.id), highlight=False)])
"""`threshold request`: the request's id alone (its status goes to stderr)."""


@app.command("approve")
def approve_cmd(
    request_id: int,
    as_user: As = None,
    reason: Reason = "",
    personal: Annotated[bool, typer.Option("--personal", help="The purpose allows personal data.")] = False,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Approve an access request: a grant for its purpose, until it expires."""
    check_format(fmt)
    p = platform_at(home)
    r = access.approve(p, acting(p, as_user), request_id, reason=reason, allow_personal=personal)
    say(
        r,
        fmt,
        f"approved request {r.id}: grant {r.grant} for {r.requester} on {r.dataset} ({r.purpose})",
    )


@app.command("deny")
def deny_cmd(
    request_id: int,
    reason: Annotated[str, typer.Option("--reason", help="What the requester can do about it.")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Deny an access request, with a reason."""
    check_format(fmt)
    p = platform_at(home)
    r = access.deny(p, acting(p, as_user), request_id, reason=reason)
    say(r, fmt, f"denied request {r.id} of {r.requester} on {r.dataset}")


@app.command("revoke")
def revoke_cmd(
    grant_id: int,
    as_user: As = None,
    reason: Reason = "",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Revoke a grant."""
    check_format(fmt)
    p = platform_at(home)
    r = access.revoke(p, acting(p, as_user), grant_id, reason=reason)
    say(r, fmt, f"revoked grant {r.grant} on {r.dataset}")


@app.command("grants")
def grants_cmd(
    dataset: Annotated[str | None, typer.Argument(help="A dataset you own: every grant on it.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Grants you hold, or every grant on a dataset you own."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows = access.grants(p, acting(p, as_user), dataset=dataset)
    emit(rows, GRANTS, fmt)


GRANTS = TableSpec(
    Col("grant", "id", id=True),
    Col("dataset", "dataset", id=True),
    Col("user", "user"),
    Col("purposes", "purposes"),
    Col("personal", "allows_personal"),
    Col("expires", "expires_at"),
    Col("active", "active", fmt=yes_no),
)


@app.command("inbox")
def inbox_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Access requests waiting for you (datasets of the domains you own)."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows = access.inbox(p, acting(p, as_user))
    emit(rows, INBOX, fmt)


INBOX = TableSpec(
    Col("request", "id", id=True),
    Col("dataset", "dataset", id=True),
    Col("requester", "requester"),
    Col("purpose", "purpose"),
    Col("days", "days", justify="right"),
    Col("since", "created_at"),
)


@app.command("explain")
def explain_cmd(
    dataset: str,
    as_user: As = None,
    purpose: Purpose = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """What USER can see of DATASET (for a purpose) and which rule decided each part."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    person = acting(p, as_user)
    e = controls.explain(p, person, dataset, purpose=purpose)
    show(e, fmt, EXPLANATION)


EXPLANATION = View(lines=lambda e: _explanation_lines(e))


def _explanation_lines(e: Explanation) -> Iterator[Any]:
    verdict = "may read" if e.allowed else "may NOT read"
    yield Plain(f"{e.reader} {verdict} {e.dataset} ({e.rule}: {e.reason})")
    if e.purpose:
        yield Plain(f"purpose: {e.purpose}")
    yield EXPLAINED.rich(e.columns)
    for f in e.row_filters:
        yield Plain(f"rows filtered by {f.rule}: {f.where}")
    if e.how_to_see_more:
        yield Plain(e.how_to_see_more)


@app.command("audit")
def audit_cmd(
    dataset: Annotated[str | None, typer.Option("--dataset")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. query.denied, request.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Who acted.")] = None,
    limit: Limit = 100,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Search the audit log (owners: their data; the governance group: everything)."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    rows = audit.search(p, acting(p, as_user), dataset=dataset, action=action, actor=user, limit=limit)
    emit(rows, AUDIT, fmt)


AUDIT = TableSpec(
    Col("at", "at", id=True, fmt=when),
    Col("who", "actor", id=True),
    Col("action", "action", id=True),
    Col("dataset", "dataset", fold=True),
    Col("purpose", "purpose"),
    Col("rules", "rules"),
)


EXPLAINED = TableSpec(
    Col("column", "column", id=True),
    Col("shown", lambda c: "as is" if c.visible else f"masked ({c.mask})"),
    Col("rules", "rules"),
    Col("why", "why"),
)


@app.command("login")
def login_cmd(
    url: Annotated[str, typer.Option("--url", help="The Threshold server, e.g. http://127.0.0.1:8000")],
    user: Annotated[str, typer.Option("--user")],
    password: Annotated[str | None, typer.Option("--password", help="Asked for when not given.")] = None,
    days: Annotated[int, typer.Option("--days")] = 30,
) -> None:
    """Sign in to a server: creates a personal API token and keeps it for the CLI and Python client."""
    from threshold.credentials import login

    secret = password if password is not None else typer.prompt("password", hide_input=True)
    path = login(url, user, secret, days=days)
    out.print(f"signed in to {url} as {user}; token kept in {path}")


def _unused(*_: Any) -> None:  # keeps imports used by type checkers in one place
    return None
