"""`threshold notifications` and `threshold webhook set|deliveries|retry`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from threshold.commands.options import As, Format, Home
from threshold.commands.support import acting, check_format, emit, lazy_module, platform_at, say, show
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.notifications import service
else:
    service = lazy_module("threshold.notifications.service")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
webhook_app = typer.Typer(no_args_is_help=True, help="A domain's outgoing webhook (JSON signed with HMAC-SHA256).")
app.add_typer(webhook_app, name="webhook")


@app.command("notifications")
def notifications_cmd(
    unread: Annotated[bool, typer.Option("--unread", help="Only unread messages.")] = False,
    mark_read: Annotated[bool, typer.Option("--mark-read", help="Mark them read after showing.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Your inbox: candidates, promotions, requests, deprecations, schema changes, incidents."""
    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    person = acting(p, as_user)
    rows = service.inbox(p, person, unread=unread)
    if mark_read:
        service.mark_read(p, person, [r.id for r in rows])
    emit(rows, INBOX, fmt)


INBOX = TableSpec(
    Col("at", "at", id=True, fmt=when),
    Col("kind", "kind"),
    Col("message", "title"),
    Col("link", "link", fold=True),
    Col("read", "read"),
)


@webhook_app.command("set")
def webhook_set(domain: str, url: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Send the domain's events to URL (http/https); prints the secret that signs them."""
    check_format(fmt)
    p = platform_at(home)
    show(service.set_webhook(p, acting(p, as_user), domain, url), fmt, WEBHOOK_SET)


WEBHOOK_SET = View(
    lines=lambda w: [
        f"{w.domain} events go to {w.url}; verify X-Threshold-Signature with this secret:",
        Plain(w.secret, highlight=False),
    ]
)
"""`threshold webhook set`: where the events go, then the secret alone on its line."""


@webhook_app.command("deliveries")
def webhook_deliveries(domain: str, home: Home = None, fmt: Format = "table") -> None:
    """Deliveries to the domain's webhook, with their status and attempts."""
    check_format(fmt, ("table", "json"))
    rows = service.deliveries(platform_at(home), domain)
    emit(rows, DELIVERIES, fmt)


DELIVERIES = TableSpec(
    Col("id", "id", id=True),
    Col("event", "event"),
    Col("status", "status"),
    Col("attempts", "attempts", justify="right"),
    Col("error", "error"),
    Col("at", "at", fmt=when),
)


@webhook_app.command("retry")
def webhook_retry(
    domain: Annotated[str | None, typer.Argument()] = None, home: Home = None, fmt: Format = "table"
) -> None:
    """Send again every pending or failed delivery."""
    check_format(fmt)
    n = service.retry_failed(platform_at(home), domain=domain)
    say(n, fmt, f"delivered {n}")
