"""`threshold init`, `threshold user|domain|token`: the home, people, domains and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from threshold.commands.options import As, Description, Format, Home, Title
from threshold.commands.support import check_format, emit, out, platform_at, say, show
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
user_app = typer.Typer(no_args_is_help=True, help="People.")
domain_app = typer.Typer(no_args_is_help=True, help="Domains.")
token_app = typer.Typer(no_args_is_help=True, help="Personal API tokens.")
app.add_typer(user_app, name="user")
app.add_typer(domain_app, name="domain")
app.add_typer(token_app, name="token")


@app.command()
def init(home: Home = None) -> None:
    """Create (or upgrade) a Threshold home: metadata store, Iceberg catalog, warehouse, admin user."""
    from threshold.identity.service import ensure_admin
    from threshold.maturity.snapshots import plan as plan_maturity
    from threshold.operations.schedules import plan_from_settings
    from threshold.platform import Platform

    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    plan_from_settings(platform)  # maintenance jobs on the schedules the settings give
    from threshold.compliance.retention import plan_from_settings as plan_retention

    plan_retention(platform)  # the retention job, daily unless the settings say otherwise
    plan_maturity(platform)  # the monthly maturity snapshot
    out.print(f"Threshold home ready at {platform.settings.home_dir}")


@user_app.command("add")
def user_add(
    name: str,
    domain: Annotated[list[str] | None, typer.Option("--domain", help="Domain to join (repeatable).")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Platform administrator.")] = False,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    password: Annotated[str | None, typer.Option("--password", help="For web sign-in.")] = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Add a person."""
    check_format(fmt)
    from threshold.identity.service import add_user

    p = add_user(
        platform_at(home),
        name,
        display_name=display_name,
        email=email,
        domains=tuple(domain or ()),
        admin=admin,
        password=password,
    )
    say(p, fmt, f"added user {p.name}" + (f" in {', '.join(p.domains)}" if p.domains else ""))


@user_app.command("list")
def user_list(home: Home = None, fmt: Format = "table") -> None:
    """List people."""
    from threshold.identity.service import list_users

    check_format(fmt, ("table", "json"))
    emit(list_users(platform_at(home)), PEOPLE, fmt)


PEOPLE = TableSpec(
    Col("name", "name", id=True),
    Col("display name", "display_name"),
    Col("domains", "domains"),
    Col("admin", "is_admin"),
)


@domain_app.command("add")
def domain_add(
    name: str,
    owner: Annotated[list[str] | None, typer.Option("--owner", help="Owner (repeatable).")] = None,
    title: Title = "",
    description: Description = "",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Add a domain (a business area that produces data)."""
    check_format(fmt)
    from threshold.identity.service import add_domain

    add_domain(platform_at(home), name, title=title, description=description, owners=tuple(owner or ()))
    say({"domain": name, "title": title, "owners": list(owner or ())}, fmt, f"added domain {name}")


@domain_app.command("list")
def domain_list(home: Home = None, fmt: Format = "table") -> None:
    """List domains."""
    from threshold.identity.service import list_domains

    check_format(fmt, ("table", "json"))
    emit(list_domains(platform_at(home)), DOMAINS, fmt)


DOMAINS = TableSpec(
    Col("name", "name", id=True),
    Col("title", "title"),
    Col("owners", "owners"),
    Col("members", "members", justify="right"),
)


@domain_app.command("join")
def domain_join(
    domain: str,
    user: str,
    role: Annotated[str, typer.Option("--role", help="member or owner.")] = "member",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Add a person to a domain."""
    check_format(fmt)
    from threshold.identity.service import join_domain

    join_domain(platform_at(home), user, domain, role)
    say({"domain": domain, "user": user, "role": role}, fmt, f"{user} is now {role} of {domain}")


@token_app.command("create")
def token_create(
    as_user: As = None,
    name: Annotated[str, typer.Option("--name")] = "",
    days: Annotated[int, typer.Option("--days", help="Valid for this many days.")] = 90,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Create a personal API token (shown once)."""
    check_format(fmt)
    from threshold.identity.service import ADMIN, create_token

    token_id, token = create_token(platform_at(home), as_user or ADMIN, name=name, days=days)
    show({"id": token_id, "token": token, "days": days}, fmt, TOKEN_CREATED)


TOKEN_CREATED = View(
    lines=lambda t: [f"token {t['id']} (shown once, keep it safe):", Plain(t["token"], highlight=False)]
)
"""`threshold token create`: the token alone on its line, shown once."""


@token_app.command("revoke")
def token_revoke(token_id: int, home: Home = None, fmt: Format = "table") -> None:
    """Revoke an API token."""
    check_format(fmt)
    from threshold.identity.service import revoke_token

    revoke_token(platform_at(home), token_id)
    say({"revoked": token_id}, fmt, f"revoked token {token_id}")
