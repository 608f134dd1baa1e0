"""`threshold glossary list|show|propose|submit|review|withdraw|link|unlink|export|import`: the shared
vocabulary, reviewed before a term is in force (docs/glossary.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home
from threshold.commands.support import acting, check_format, emit, lazy_module, out, platform_at, show
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.glossary import service, transfer
else:
    service = lazy_module("threshold.glossary.service")
    transfer = lazy_module("threshold.glossary.transfer")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
glossary_app = typer.Typer(
    no_args_is_help=True, help="The glossary: terms, their review, links to data; CSV in and out."
)
app.add_typer(glossary_app, name="glossary")

Term = Annotated[str, typer.Argument(help="The term, e.g. 'scrap rate' (any case).")]

TERMS = TableSpec(
    Col("term", "title", id=True),
    Col("domain", "domain"),
    Col("status", "status"),
    Col("open revision", lambda t: (t.pending or "").replace("_", " ")),
    Col("definition", "definition"),
)
HISTORY = TableSpec(
    Col("#", "number", id=True, justify="right"),
    Col("status", "status"),
    Col("author", "author"),
    Col("reviewer", "reviewer"),
    Col("reviewed", "reviewed_at", fmt=when),
    Col("note", lambda r: r.review_note or r.note),
)


@glossary_app.command("list")
def list_cmd(
    search: Annotated[str | None, typer.Option("--search", help="Words in a term, definition or synonym.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only this domain's terms.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="approved, in_review (your review queue) or draft.")
    ] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Terms linked to this dataset.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Terms you may see."""
    check_format(fmt)
    p = platform_at(home)
    found = service.listing(p, acting(p, as_user), search=search, domain=domain, status=status, dataset=dataset)
    emit(found.terms, TERMS, fmt, data=found)


@glossary_app.command("show")
def show_cmd(term: Term, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """A term: the text in force, an open revision and what it changes, links, history."""
    check_format(fmt)
    p = platform_at(home)
    _print(service.show(p, acting(p, as_user), term), fmt)


@glossary_app.command("propose")
def propose_cmd(
    term: Term,
    definition: Annotated[str, typer.Option("--definition", help="What the organisation means by it.")],
    domain: Annotated[str | None, typer.Option("--domain", help="Its domain (a new term; default: yours).")] = None,
    synonym: Annotated[
        list[str] | None, typer.Option("--synonym", help="Another word for it (repeat); left out: an edit keeps them.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why you propose it (the reviewer reads it).")] = "",
    draft: Annotated[bool, typer.Option("--draft", help="Keep it a draft; `glossary submit` sends it.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Propose a new term or an edit of one: it is in force once a reviewer approves it."""
    check_format(fmt)
    p = platform_at(home)
    shown = service.propose(
        p, acting(p, as_user), term, definition=definition, domain=domain, synonyms=synonym, note=note, submit=not draft
    )
    _print(shown, fmt, said=f"{shown.title}: {'draft kept' if draft else 'sent to review'}")


@glossary_app.command("submit")
def submit_cmd(term: Term, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Send your draft to review."""
    check_format(fmt)
    p = platform_at(home)
    shown = service.submit(p, acting(p, as_user), term)
    _print(shown, fmt, said=f"{shown.title}: sent to review")


@glossary_app.command("review")
def review_cmd(
    term: Term,
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Approve it, or reject it with --note.")],
    note: Annotated[str, typer.Option("--note", help="Why (required to reject).")] = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Approve the revision in review (it is in force) or reject it (the text in force stays)."""
    check_format(fmt)
    p = platform_at(home)
    shown = service.review(p, acting(p, as_user), term, approve=approve, note=note)
    _print(shown, fmt, said=f"{shown.title}: {'approved' if approve else 'rejected'}")


@glossary_app.command("withdraw")
def withdraw_cmd(term: Term, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Take back your open revision (a term never approved is then gone)."""
    check_format(fmt)
    p = platform_at(home)
    shown = service.withdraw(p, acting(p, as_user), term)
    show(shown, fmt, View(lines=lambda v: _withdrawn_lines(term, v), json=_withdrawn_json))


def _withdrawn_lines(term: str, view: Any) -> Iterator[Any]:
    if view is None:
        yield Plain(f"{term}: withdrawn; the term is gone (it was never approved)")
    else:
        yield from _term_lines(view, f"{view.title}: your revision is withdrawn")


def _withdrawn_json(view: Any) -> dict[str, Any]:
    """What DELETE /api/v1/glossary/{term}/proposal answers: the term as it reads now (None: gone)."""
    from threshold.interface.rendering import jsonable

    return {"withdrawn": True, "term": jsonable(view)}


@glossary_app.command("link")
def link_cmd(
    term: Term,
    target: Annotated[str, typer.Argument(help="dataset:DOMAIN.NAME, column:DOMAIN.NAME.COLUMN or insight:ID.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the link instead.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Link the term to a dataset, a column or an insight (or --remove the link)."""
    check_format(fmt)
    p = platform_at(home)
    person = acting(p, as_user)
    shown = service.unlink(p, person, term, target) if remove else service.link(p, person, term, target)
    _print(shown, fmt, said=f"{shown.title}: {'unlinked from' if remove else 'linked to'} {target}")


@glossary_app.command("export")
def export_cmd(
    to: Annotated[Path | None, typer.Option("--to", help="Write the CSV to this file (default: stdout).")] = None,
    as_user: As = None,
    home: Home = None,
) -> None:
    """Every term you may see, as CSV (term, domain, definition, synonyms, status)."""
    p = platform_at(home)
    text = transfer.export_csv(p, acting(p, as_user))
    if to is None:
        sys.stdout.write(text)
    else:
        to.write_text(text, encoding="utf-8")
        out.print(f"{text.count(chr(10)) - 1} terms written to {to}", markup=False)


@glossary_app.command("import")
def import_cmd(
    source: Annotated[Path, typer.Argument(help="A CSV with columns term, definition (and domain, synonyms).")],
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep every row a draft instead of sending it to review.")
    ] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Propose every row of a CSV, all rows or none (a bad row is named by its line)."""
    check_format(fmt)
    from threshold.errors import InvalidInput

    if not source.is_file():
        raise InvalidInput(f"no file {source}")
    if source.stat().st_size > transfer.MAX_BYTES:
        raise InvalidInput(f"a glossary import has at most {transfer.MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{source} is not UTF-8 text (byte {e.start})") from None
    p = platform_at(home)
    report = transfer.import_csv(p, acting(p, as_user), text, submit=not draft)
    show(report, fmt, View(lines=lambda r: _imported_lines(r, draft)))


def _imported_lines(report: Any, draft: bool) -> Iterator[Plain]:
    yield Plain(
        f"{len(report.proposed)} proposed ({'drafts' if draft else 'in review'}), {len(report.unchanged)} unchanged"
    )


def _print(view: Any, fmt: str, *, said: str | None = None) -> None:
    show(view, fmt, View(lines=lambda v: _term_lines(v, said)))


def _term_lines(view: Any, said: str | None) -> Iterator[Any]:
    if said:
        yield Plain(said)
    yield Plain(f"{view.title} ({view.domain}, {view.status.replace('_', ' ')})")
    yield Plain(f"  {view.definition}")
    if view.synonyms:
        yield Plain(f"  synonyms: {', '.join(view.synonyms)}")
    for link in view.links:
        yield Plain(f"  {link.kind}: {link.target}")
    if view.pending is not None:
        who = view.pending.author or "someone"
        yield Plain(f"  open revision #{view.pending.number} by {who}: {view.pending.status.replace('_', ' ')}")
        for change in view.changes:
            words = " ".join(w if op == "=" else f"[-{w}-]" if op == "-" else f"{{+{w}+}}" for op, w in change.words)
            yield Plain(f"    {change.field}: {words}")
        if view.may_review:
            yield Plain("  you may review it: threshold glossary review TERM --approve | --reject --note ...")
    if view.history:
        yield HISTORY.rich(view.history)
