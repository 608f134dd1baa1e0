"""CLI of the products capability: consumption patterns, candidates, owners, products and contracts.

`threshold consumers | patterns | producer | candidates | nominate | owners ... | promote | products |
contract export|import|check | deprecate | retire`. Each command calls one service function and prints
its result as a table or, with `--format json`, as JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home, PerPage, Reason
from threshold.commands.support import acting, check_format, emit, escape, platform_at, say, show
from threshold.errors import InvalidInput
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, count

if TYPE_CHECKING:
    from threshold.products.consumer_results import DatasetConsumers
    from threshold.products.producer_results import DomainView
    from threshold.products.results import (
        CandidateListing,
        ContractPublished,
        ContractUnchanged,
        OrgPatterns,
        OwnerSuggestions,
        ProductRecord,
        ReuseMatrix,
    )

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
owners_app = typer.Typer(no_args_is_help=True, help="Find a data product's owner by working backward from the data.")
contract_app = typer.Typer(no_args_is_help=True, help="Data contracts (Open Data Contract Standard v3).")
candidates_app = typer.Typer(help="Promotion candidates: ranked, with why (run without a subcommand to list them).")
app.add_typer(owners_app, name="owners")
app.add_typer(contract_app, name="contract")
app.add_typer(candidates_app, name="candidates")

Weeks = Annotated[int | None, typer.Option("--weeks", help="Weeks of usage to look at (0: all; default: settings).")]


@app.command("consumers")
def consumers_cmd(
    dataset: str, weeks: Weeks = None, as_user: As = None, home: Home = None, fmt: Format = "table"
) -> None:
    """Who uses a dataset and why: consumer domains, purposes, counts, repeat use, questions, used-with."""
    from threshold.products.consumption import dataset_consumers

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(dataset_consumers(p, dataset, viewer=acting(p, as_user), weeks=weeks), fmt, CONSUMERS)


CONSUMER_DOMAINS = TableSpec(
    Col("domain", "domain", id=True),
    Col("people", "people"),
    Col("queries", "queries", fmt=count),
    Col("outside", "outside"),
)
PURPOSES = TableSpec(
    Col("purpose", "purpose", id=True),
    Col("declared/granted", "source"),
    Col("people", "people"),
    Col("queries", "queries", fmt=count),
)
WEEKLY = TableSpec(
    Col("week", "week", id=True), Col("queries", "queries"), Col("people", "people"), Col("domains", "domains")
)
QUESTIONS = TableSpec(
    Col("people", "people"),
    Col("queries", "queries"),
    Col("recurring", "recurring"),
    Col("question (values removed)", lambda x: (x.text or "—")[:100]),
)
TOGETHER = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("people", "people"),
    Col("same query", "in_query"),
    Col("same session", "in_session"),
)


def _consumers_lines(d: DatasetConsumers) -> Iterator[Any]:
    yield (
        f"[bold]{escape(d.dataset)}[/bold] ({d.stage}, {d.visibility}): {d.queries:,} queries by "
        f"{d.people} people, {d.people_outside} from {d.consumer_domains} other domains; "
        f"{d.repeat_people} came back in {d.repeat_weeks}+ weeks; last used {d.last_used or 'never'}"
    )
    if d.note:
        yield f"[dim]{escape(d.note)}[/dim]"
    yield CONSUMER_DOMAINS.rich(d.domains, title="consumer domains")
    yield PURPOSES.rich(d.purposes, title="purposes")
    yield WEEKLY.rich(d.weekly, title="weekly")
    yield QUESTIONS.rich(d.questions[:10], title="questions")
    yield TOGETHER.rich(d.together[:10], title="used together with")
    down = d.downstream
    names = ", ".join(f"{i['name']} ({i['kind']})" for i in down["items"]) or "none recorded"
    yield escape(f"downstream: {names}") + (f" [dim]({escape(down['note'])})[/dim]" if down["note"] else "")


CONSUMERS = View(lines=_consumers_lines)
"""`threshold consumers`: the dataset's use in a sentence, then who uses it (domains, purposes, weeks,
questions, datasets used with it) and what is built on it."""


@app.command("patterns")
def patterns_cmd(
    domain: Annotated[str | None, typer.Option("--domain", help="Drill down: the datasets of one domain.")] = None,
    weeks: Weeks = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Count the whole usage log again first.")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Organisation patterns: the domain x domain reuse matrix, rising and falling datasets, the long tail."""
    from threshold.products import patterns, rollup

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    if rebuild:
        rollup.rebuild(p)
    viewer = acting(p, as_user)
    if domain:
        rows = patterns.domain_datasets(p, domain, viewer=viewer, weeks=weeks)
        show(rows, fmt, View(table=DOMAIN_DATASETS, title=f"{domain}: usage per dataset"))
        return
    show(patterns.org_patterns(p, viewer=viewer, weeks=weeks), fmt, PATTERNS)


DOMAIN_DATASETS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("stage", "stage"),
    Col("queries", "queries", fmt=count),
    Col("people", "people"),
)
DOMAIN_USAGE = TableSpec(
    Col("domain", "domain", id=True),
    Col("datasets", "datasets"),
    Col("reads of its data", "reads", fmt=count),
    Col("outside people", "outside_people"),
    Col("consumes from others", "consumes_from_others", fmt=count),
)
TREND = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("person-weeks before → now", lambda r: f"{r.prior_person_weeks} → {r.recent_person_weeks}"),
    Col("queries before → now", lambda r: f"{r.prior_queries} → {r.recent_queries}"),
)


def _reuse_matrix(m: ReuseMatrix) -> TableSpec:
    """The consumer x producer matrix: a column per producing domain, each cell `people · reads`."""
    cells = {(c.consumer, c.producer): c for c in m.cells}

    def cell(producer: str) -> Callable[[str], str]:
        def people_reads(consumer: str) -> str:
            c = cells.get((consumer, producer))
            return f"{c.people} · {c.reads:,}" if c else ""

        return people_reads

    return TableSpec(
        Col("consumer \\ producer", lambda consumer: consumer, id=True),
        *(Col(producer, cell(producer)) for producer in m.producers),
    )


def _patterns_lines(d: OrgPatterns) -> Iterator[Any]:
    tot = d.totals
    yield (f"{tot.reads:,} dataset reads by {tot.people} people; {tot.datasets_used} of {tot.datasets} datasets used")
    m = d.reuse_matrix
    yield _reuse_matrix(m).rich(m.consumers, title="reuse matrix (people · reads)")
    yield DOMAIN_USAGE.rich(d.domains, title="usage by domain")
    for key, changes in (("rising", d.rising), ("falling", d.falling)):
        weeks = d.trend_weeks
        yield TREND.rich(changes[:10], title=f"{key} (last {weeks} complete weeks against the {weeks} before)")
    tail = d.long_tail
    yield f"long tail: {tail.never_used_count} datasets never used, {tail.one_person_count} used by one person"
    for x in tail.never_used[:20]:
        yield Plain(f"  {x.dataset}  (shared {x.shared_at[:10] if x.shared_at else '?'})")
    if d.consume_not_share:
        yield Plain(f"domains that consume but never share: {', '.join(d.consume_not_share)}")


PATTERNS = View(lines=_patterns_lines)
"""`threshold patterns`: reads in a sentence, the reuse matrix, usage by domain, rising and falling datasets,
the long tail."""


@app.command("producer")
def producer_cmd(
    domain: str,
    weeks: Weeks = None,
    page: Annotated[int, typer.Option("--page", help="Datasets, most used first, a page at a time.")] = 1,
    per_page: PerPage = 25,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """A domain's producer view: every dataset with its consumers by domain and purpose, trend, dependents,
    waiting requests, candidates, and what a column change would affect."""
    from threshold.products.producers import domain_view

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(domain_view(p, domain, viewer=acting(p, as_user), weeks=weeks, page=page, per_page=per_page), fmt, PRODUCER)


def _producer_lines(d: DomainView) -> Iterator[str]:
    tot = d.totals
    yield (
        f"[bold]{escape(d.title)}[/bold] ({d.domain}): {tot.used} of {tot.datasets} datasets used, "
        f"{tot.reads:,} reads, {tot.outside_people} people from {len(tot.consumer_domains)} other "
        f"domains; {tot.products} products, {tot.candidates} candidates, {tot.waiting_requests} "
        "requests waiting"
    )
    for x in d.datasets:
        outside = ", ".join(f"{y.domain} {y.people}" for y in x.domains if y.outside)
        badge = x.product.status if x.product else x.stage
        yield (
            f"[bold]{x.dataset}[/bold] ({badge}, {x.visibility}): {x.people} people"
            + (f" ({x.outside_people} outside: {outside})" if outside else "")
            + f"; reads {x.trend.prior} → {x.trend.recent} ({x.trend.direction}); "
            f"{x.downstream_count} downstream; {x.waiting_requests} requests waiting"
        )
        if x.purposes:
            yield escape("   purposes: " + ", ".join(f"{y.purpose} {y.people}" for y in x.purposes[:6]))
        read = [c for c in x.columns if c.people or c.in_contract][:6]
        if read:
            yield escape("   a change to " + "; ".join(f"{c.column} affects {c.affects}" for c in read))


PRODUCER = View(lines=_producer_lines)
"""`threshold producer`: the domain in a sentence, then each dataset's consumers, trend and what a change to
its columns would affect."""


@candidates_app.callback(invoke_without_command=True)
def candidates_cmd(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Also dismissed and promoted candidates.")] = False,
    weeks: Weeks = None,
    page: Annotated[int, typer.Option("--page", help="Ranked candidates, a page at a time.")] = 1,
    per_page: PerPage = 10,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Promotion candidates, ranked, with the signals that put them there and what promoting them needs."""
    if ctx.invoked_subcommand is not None:
        return
    from threshold.products.candidates import list_candidates

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    include = ("open", "dismissed", "promoted") if all_ else ("open",)
    d = list_candidates(p, viewer=acting(p, as_user), include=include, weeks=weeks, page=page, per_page=per_page)
    show(d, fmt, CANDIDATES)


def _candidates_lines(d: CandidateListing) -> Iterator[str]:
    yield (
        f"{d.total} candidates (page {d.page} of {d.pages}); threshold {d.threshold:g} points of 100, "
        f"at least {d.min_people} people"
    )
    if not d.candidates:
        yield "no candidates yet: no dataset's use reaches the threshold"
    for c in d.candidates:
        yield (
            f"\n[bold]{c.rank}. {c.dataset}[/bold]  score {c.score:g}  ({c.status})"
            + ("  nominated" if c.nominated else "")
        )
        for r in c.reasons:
            if r["points"] or r["value"]:
                yield f"   {r['points']:>5g} / {r['weight']:g}  {r['text']} (target {r['target']})"
        n = c.needs
        if n:
            owner = (n.owner.suggested if n.owner else None) or "?"
            yield (
                f"   needs: owner (suggested: {owner}), contract ({n.contract.source}), freshness SLO "
                f"{n.freshness_hours or '?'} h"
            )
    if d.watching:
        yield "\nwatching (half way there): " + ", ".join(f"{w.dataset} ({w.score:g})" for w in d.watching)


CANDIDATES = View(lines=_candidates_lines, json=lambda d: d.candidates)
"""`threshold candidates`: the ranking with each candidate's reasons and needs; `--format json` the
candidates of the page."""


@candidates_app.command("dismiss")
def candidates_dismiss(
    dataset: str,
    reason: Annotated[str, typer.Option("--reason", help="Why not now (the people who use it can read it).")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Review a candidate and decide not to promote it now (owners of its domain)."""
    check_format(fmt)
    from threshold.products.candidates import dismiss

    p = platform_at(home)
    r = dismiss(p, acting(p, as_user), dataset, reason=reason)
    say(r, fmt, f"{r.dataset} dismissed: {r.reason}")


@app.command("nominate")
def nominate_cmd(
    dataset: str,
    reason: Annotated[str, typer.Option("--reason", help="What you would use it for, and why as a product.")],
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Nominate a dataset for promotion; its domain's owners review it."""
    from threshold.products.candidates import nominate

    p = platform_at(home)
    show(nominate(p, acting(p, as_user), dataset, reason=reason), fmt, NOMINATED)


NOMINATED = View(
    lines=lambda r: [
        f"nominated {r.dataset} ({r.nominations} nomination{'s' if r.nominations != 1 else ''}); "
        "its domain's owners will review it"
    ]
)


@owners_app.command("suggest")
def owners_suggest(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Suggested owners, ranked, with the evidence for each."""
    from threshold.products.owners import suggest

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(suggest(p, dataset, viewer=acting(p, as_user)), fmt, SUGGESTED)


def _suggested_lines(d: OwnerSuggestions) -> Iterator[str]:
    for x in d.suggestions:
        state = f"  [{x.status}{': ' + x.reason if x.reason else ''}]" if x.status else ""
        yield (
            f"[bold]{x.rank}. {x.user}[/bold] ({x.display_name}, {', '.join(x.domains) or '-'})  "
            f"{x.score:g} points{state}"
        )
        for e in x.evidence:
            yield f"   {e.points:>5g}  {e.text}"
    for note in d.notes:
        yield f"[dim]{note}[/dim]"
    if d.proposed_to:
        yield f"proposed to {d.proposed_to}, waiting for their answer"


SUGGESTED = View(lines=_suggested_lines, json=lambda d: d.suggestions)
"""`threshold owners suggest`: the ranked people with their evidence; `--format json` the suggestions."""


@owners_app.command("propose")
def owners_propose(
    dataset: str,
    to: Annotated[
        str | None, typer.Option("--to", help="Propose to this person (default: the next suggestion).")
    ] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Ask the next suggested owner (or --to USER) to own the dataset as a product."""
    check_format(fmt)
    from threshold.products.owners import propose

    p = platform_at(home)
    r = propose(p, acting(p, as_user), dataset, to=to)
    say(r, fmt, f"proposed ownership of {r.dataset} to {r.proposed_to}")


@owners_app.command("accept")
def owners_accept(
    dataset: str,
    as_user: As = None,
    reason: Reason = "",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Accept ownership of a dataset as a data product (--as the person who accepts)."""
    check_format(fmt)
    from threshold.products.owners import accept

    p = platform_at(home)
    r = accept(p, acting(p, as_user), dataset, reason=reason)
    say(
        r,
        fmt,
        f"{r.user} accepted ownership of {r.dataset}; an owner of its domain promotes it: "
        f"threshold promote {r.dataset}",
    )


@owners_app.command("decline")
def owners_decline(
    dataset: str,
    as_user: As = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; the domain's owners read it).")] = "",
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Decline ownership with a reason; it is proposed to the next suggestion."""
    check_format(fmt)
    from threshold.products.owners import decline

    p = platform_at(home)
    r = decline(p, acting(p, as_user), dataset, reason=reason)
    say(
        r.next,
        fmt,
        f"{r.user} declined ownership of {r.dataset}; "
        + (f"proposed to {r.next.proposed_to} next" if r.next else "no one else is suggested"),
    )


@app.command("promote")
def promote_cmd(
    dataset: str,
    owner: Annotated[str | None, typer.Option("--owner", help="The accountable owner (default: who accepted).")] = None,
    contract: Annotated[Path | None, typer.Option("--contract", help="An ODCS v3 contract (YAML).")] = None,
    with_: Annotated[list[str] | None, typer.Option("--with", help="Another dataset the product combines.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="For consumers.")] = None,
    freshness: Annotated[int | None, typer.Option("--freshness-hours", help="Freshness SLO.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Promote a dataset to a data product: owner, contract checked against the table, SLO, version."""
    from threshold.products.lifecycle import promote

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    text = _read(contract) if contract else None
    r = promote(
        p,
        acting(p, as_user),
        dataset,
        owner=owner,
        contract=text,
        parts=with_ or (),
        description=description,
        freshness_hours=freshness,
    )
    show(r, fmt, PRODUCT)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text") from e


def _product_lines(r: ProductRecord) -> Iterator[str]:
    badges = " · ".join(b.label for b in r.badges)
    yield f"[bold]{r.dataset}[/bold] owned by {r.owner}: {escape(badges)}"
    if len(r.datasets) > 1:
        yield "combines " + ", ".join(x.dataset for x in r.datasets)
    if r.replacement:
        yield f"replaced by {r.replacement}"
    c = r.contract
    if c:
        failed = [x for x in c["results"] if x["status"] in ("failed", "error")]
        yield f"contract {c['version']}: {c['status']} ({len(c['results'])} checks, {len(failed)} failing)"
        for x in failed[:10]:
            yield f"   ✗ {x['message']}"
    if r.notified:
        n = r.notified
        yield f"told {n.people} people who used it since {(n.since or '')[:10]}; webhooks: {', '.join(n.domains)}"


PRODUCT = View(lines=_product_lines)
"""A product (`threshold products DATASET`, `promote`, `deprecate`, `retire`): owner and badges, its
datasets, replacement, contract with the failing checks, and who was told."""


@app.command("products")
def products_cmd(
    dataset: Annotated[str | None, typer.Argument(help="One product (default: list them).")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Data products with their owner, version, status and contract; or one product in full."""
    from threshold.products.lifecycle import list_products, product_view

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    viewer = acting(p, as_user)
    if dataset:
        show(product_view(p, dataset, viewer=viewer), fmt, PRODUCT)
        return
    emit(list_products(p, viewer=viewer), PRODUCTS, fmt)


PRODUCTS = TableSpec(
    Col("product", "dataset", id=True),
    Col("owner", "owner"),
    Col("version", "version"),
    Col("status", "status"),
    Col("contract", "contract"),
    Col("datasets", "datasets"),
)


@contract_app.command("export")
def contract_export(dataset: str, as_user: As = None, home: Home = None) -> None:
    """Print the ODCS YAML of a product's contract (a generated draft for a dataset not promoted yet)."""
    from threshold.products.contracts import export

    p = platform_at(home)
    sys.stdout.write(export(p, dataset, viewer=acting(p, as_user)))


@contract_app.command("import")
def contract_import(file: Path, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Publish a contract: checked against the table; a breaking change needs a new major version."""
    from threshold.products.contracts import import_contract

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(import_contract(p, acting(p, as_user), _read(file)), fmt, IMPORTED)


def _imported_lines(r: ContractPublished | ContractUnchanged) -> Iterator[str]:
    from threshold.products.results import ContractPublished

    kind = "draft for promotion" if isinstance(r, ContractPublished) and r.draft else "product contract"
    yield f"contract {r.version} published ({kind}): checks {r.status}"
    for c in r.changes:
        yield f"   {'breaking' if c.breaking else 'compatible'}: {c.change}"
    for x in r.results:
        if x.status in ("failed", "error"):
            yield f"   ✗ {x.message}"


IMPORTED = View(lines=_imported_lines)


@contract_app.command("check")
def contract_check(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Run a contract's checks against the real table again."""
    from threshold.products.contracts import recheck

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(recheck(p, acting(p, as_user), dataset), fmt, CHECKED)


CONTRACT_CHECKS = TableSpec(
    Col("kind", "kind"),
    Col("where", lambda x: f"{x.object}.{x.property}" if x.property else x.object, id=True),
    Col("rule", lambda x: str(x.rule)),
    Col("status", "status"),
    Col("measured", lambda x: "" if x.actual is None else str(x.actual)),
)
CHECKED = View(
    table=CONTRACT_CHECKS,
    rows=lambda r: r.results,
    title=lambda r: f"{r.dataset} contract {r.version}: {r.status}",
)
"""`threshold contract check`: each rule of the contract with what the table measured."""


@app.command("deprecate")
def deprecate_cmd(
    dataset: str,
    replacement: Annotated[str | None, typer.Option("--replacement", help="What consumers should use instead.")] = None,
    reason: Reason = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Deprecate a product: everyone who used it in the last 90 days is told, with the replacement."""
    from threshold.products.lifecycle import deprecate

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(deprecate(p, acting(p, as_user), dataset, replacement=replacement, reason=reason), fmt, PRODUCT)


@app.command("retire")
def retire_cmd(
    dataset: str,
    reason: Reason = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Retire a deprecated product: no longer served outside its domain; its consumers are told."""
    from threshold.products.lifecycle import retire

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    show(retire(p, acting(p, as_user), dataset, reason=reason), fmt, PRODUCT)
