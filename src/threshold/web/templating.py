"""Rendering a page: the Jinja2 environment, its filters, and the HTML-or-JSON responder.

Every page builds one `data` dict from services; `page()` renders it with a template, or returns it
as JSON when the path ends in `.json` (Datasette's JSON twins).
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from threshold.identity.service import Person
from threshold.interface import home as personal_home
from threshold.web import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Pages load scripts and styles only from this origin and cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def human_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def number(n: float | None) -> str:
    if n is None:
        return "—"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}"
    return f"{int(n):,}"


def percent(fraction: float | None) -> str:
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "—"
    if 0 < fraction < 0.001:
        return "<0.1%"
    return f"{fraction * 100:.1f}%".replace(".0%", "%")


def when(iso: str | None) -> str:
    """'3 min ago', '2 days ago', or the date for older events."""
    if not iso:
        return "never"
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - at).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 30, None), (86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            if unit is None:
                return at.strftime("%d %b %Y")
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 and unit != 'min' else ''} ago"
    return iso


def short_hash(digest: str | None) -> str:
    return (digest or "")[:12]


_FRIENDLY_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "whole number",
    "INTEGER": "whole number",
    "SMALLINT": "whole number",
    "HUGEINT": "whole number",
    "DOUBLE": "number",
    "FLOAT": "number",
    "REAL": "number",
    "BOOLEAN": "yes/no",
    "DATE": "date",
    "TIMESTAMP": "date & time",
    "TIMESTAMPTZ": "date & time",
    "TIMESTAMP WITH TIME ZONE": "date & time",
    "TIME": "time",
    "BLOB": "binary",
    "UUID": "id",
}


def friendly_type(lake_type: str) -> str:
    """What a business user calls a column type (the exact type stays in the tooltip)."""
    upper = lake_type.upper()
    if upper.startswith("DECIMAL"):
        return "number"
    if upper.endswith("[]") or upper.startswith(("LIST", "STRUCT", "MAP")):
        return "nested"
    return _FRIENDLY_TYPES.get(upper, lake_type.lower())


def cell(value: Any) -> str:
    """A result value as text in a table cell (None stays empty; the template marks it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.12g}"  # 185963.1, not 185963.09999999998 (downloads keep every digit)
    return str(value)


_rendering_in: ContextVar[str] = ContextVar("rendering_in", default="en")
"""The language of the page being rendered: macros imported without context (`{% from "x.html" import m %}`)
translate through the environment's globals, which read it."""


def _lang(ctx: Any) -> str:
    return str(ctx.get("lang") or _rendering_in.get())


def _gettext(message: str) -> str:
    return i18n.translations(_rendering_in.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(_rendering_in.get()).ngettext(singular, plural, n)


@pass_context
def number_in(ctx: Any, n: float | None) -> str:
    """`number` in the reader's locale (English as before; others through Babel)."""
    if n is None or _lang(ctx) == "en":
        return number(n)
    return i18n.number(n, _lang(ctx))


@pass_context
def percent_in(ctx: Any, fraction: float | None) -> str:
    """`percent` in the reader's locale (12,5 % in German)."""
    if _lang(ctx) == "en" or fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return percent(fraction)
    if 0 < fraction < 0.001:
        return "<" + i18n.percent(0.001, _lang(ctx))
    return i18n.percent(fraction, _lang(ctx))


@pass_context
def human_bytes_in(ctx: Any, n: float | None) -> str:
    """`human_bytes` with the reader's decimal mark (1,5 MB in German)."""
    text = human_bytes(n)
    if _lang(ctx) == "en" or n is None:
        return text
    value, unit = text.split(" ")
    return f"{i18n.number(float(value), _lang(ctx))} {unit}"


@pass_context
def when_in(ctx: Any, iso: str | None) -> str:
    """`when` in the reader's language: relative times translated, older dates in the locale."""
    language = _lang(ctx)
    if language == "en":
        return when(iso)
    tr = i18n.translations(language)
    if not iso:
        return tr.gettext("never")
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - at).total_seconds()
    if seconds < 60:
        return tr.gettext("just now")
    if seconds >= 86400 * 30:
        return i18n.date(at, language)
    if seconds >= 86400:
        count = int(seconds // 86400)
        return tr.ngettext("%(n)d day ago", "%(n)d days ago", count) % {"n": count}
    if seconds >= 3600:
        count = int(seconds // 3600)
        return tr.ngettext("%(n)d hour ago", "%(n)d hours ago", count) % {"n": count}
    count = int(seconds // 60)
    return tr.ngettext("%(n)d min ago", "%(n)d min ago", count) % {"n": count}


@pass_context
def day_in(ctx: Any, iso: str | None) -> str:
    """A date (of an ISO timestamp) in the reader's locale: 6 Dec 2026, 06.12.2026."""
    if not iso:
        return "—"
    try:
        return i18n.date(datetime.fromisoformat(iso), _lang(ctx))
    except ValueError:
        return iso


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is escaped; templates never mark data as safe
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(_=_gettext, ngettext=_ngettext)
environment.filters.update(
    human_bytes=human_bytes_in,
    number=number_in,
    percent=percent_in,
    when=when_in,
    day=day_in,
    short_hash=short_hash,
    cell=cell,
    friendly_type=friendly_type,
)


def wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json")


def page(
    request: Request,
    template: str,
    data: dict[str, Any],
    *,
    person: Person | None,
    status: int = 200,
    title: str | i18n.Text = "",
    nav: str = "",
) -> Response:
    """The page as HTML, or its data as JSON when the path ends in `.json`. A `Text` title is interface
    text put into the reader's language; a plain string (a dataset's name) is shown as it is."""
    if wants_json(request):
        return JSONResponse(jsonable_encoder(data), status_code=status)
    platform = getattr(request.app.state, "platform", None)
    waiting = personal_home.waiting(platform, person).total if person is not None and platform is not None else 0
    lang = language(request, person)
    tr = i18n.translations(lang)
    rendering = _rendering_in.set(lang)
    try:
        html = environment.get_template(template).render(
            data=data,
            person=person,
            waiting=waiting,
            lang=lang,
            _=tr.gettext,
            ngettext=tr.ngettext,
            csrf=request.session.get("csrf", "") if "session" in request.scope else "",
            title=title.into(lang) if isinstance(title, i18n.Text) else title,
            nav=nav,
            path=request.url.path,
        )
    finally:
        _rendering_in.reset(rendering)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def language(request: Request, person: Person | None) -> str:
    """The signed-in person's language (kept in the session from sign-in), else the browser's."""
    chosen = request.session.get("language") if person is not None and "session" in request.scope else None
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    return i18n.best_match(request.headers.get("accept-language", ""))
