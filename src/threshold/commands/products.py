"""CLI of the products capability: consumption patterns, candidates, owners, products and contracts.

`threshold consumers | patterns | producer | candidates | nominate | owners ... | promote | products |
contract export|import|check | deprecate | retire`. Each command calls one service function and prints
its result as a table or, with `--format json`, as JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from threshold.commands.options import As, Format, Home, PerPage, Reason
from threshold.commands.support import Table, acting, check_format, emit, emit_json, escape, out, platform_at, say
from threshold.errors import InvalidInput
from threshold.interface.tables import Col, TableSpec

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
owners_app = typer.Typer(no_args_is_help=True, help="Find a data product's owner by working backward from the data.")
contract_app = typer.Typer(no_args_is_help=True, help="Data contracts (Open Data Contract Standard v3).")
candidates_app = typer.Typer(help="Promotion candidates: ranked, with why (run without a subcommand to list them).")
app.add_typer(owners_app, name="owners")
app.add_typer(contract_app, name="contract")
app.add_typer(candidates_app, name="candidates")

Weeks = Annotated[int | None, typer.Option("--weeks", help="Weeks of usage to look at (0: all; default: settings).")]


def _table_or_json(fmt: str, data: Any) -> bool:
    check_format(fmt, ("table", "json"))
    if fmt == "json":
        emit_json(data)
        return True
    return False


@app.command("consumers")
def consumers_cmd(
    dataset: str, weeks: Weeks = None, as_user: As = None, home: Home = None, fmt: Format = "table"
) -> None:
    """Who uses a dataset and why: consumer domains, purposes, counts, repeat use, questions, used-with."""
    from threshold.products.consumption import dataset_consumers

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    d = dataset_consumers(p, dataset, viewer=acting(p, as_user), weeks=weeks)
    if _table_or_json(fmt, d):
        return
    out.print(
        f"[bold]{d['dataset']}[/bold] ({d['stage']}, {d['visibility']}): {d['queries']:,} queries by {d['people']} "
        f"people, {d['people_outside']} from {d['consumer_domains']} other domains; {d['repeat_people']} came back in "
        f"{d['repeat_weeks']}+ weeks; last used {d['last_used'] or 'never'}"
    )
    if d["note"]:
        out.print(f"[dim]{d['note']}[/dim]")
    t = Table("domain", "people", "queries", "outside", title="consumer domains")
    for x in d["domains"]:
        t.add_row(x["domain"], str(x["people"]), f"{x['queries']:,}", "yes" if x["outside"] else "")
    out.print(t)
    t = Table("purpose", "declared/granted", "people", "queries", title="purposes")
    for x in d["purposes"]:
        t.add_row(x["purpose"], x["source"], str(x["people"]), f"{x['queries']:,}")
    out.print(t)
    t = Table("week", "queries", "people", "domains", title="weekly")
    for x in d["weekly"]:
        t.add_row(x["week"], str(x["queries"]), str(x["people"]), str(x["domains"]))
    out.print(t)
    t = Table("people", "queries", "recurring", "question (values removed)", title="questions")
    for x in d["questions"][:10]:
        t.add_row(str(x["people"]), str(x["queries"]), "yes" if x["recurring"] else "", (x["text"] or "—")[:100])
    out.print(t)
    t = Table("dataset", "people", "same query", "same session", title="used together with")
    for x in d["together"][:10]:
        t.add_row(x["dataset"], str(x["people"]), str(x["in_query"]), str(x["in_session"]))
    out.print(t)
    down = d["downstream"]
    names = ", ".join(f"{i['name']} ({i['kind']})" for i in down["items"]) or "none recorded"
    out.print(f"downstream: {names}" + (f" [dim]({down['note']})[/dim]" if down["note"] else ""))


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
        if _table_or_json(fmt, rows):
            return
        t = Table("dataset", "stage", "queries", "people", title=f"{domain}: usage per dataset")
        for r in rows:
            t.add_row(r["dataset"], r["stage"], f"{r['queries']:,}", str(r["people"]))
        out.print(t)
        return
    d = patterns.org_patterns(p, viewer=viewer, weeks=weeks)
    if _table_or_json(fmt, d):
        return
    tot = d["totals"]
    out.print(
        f"{tot['reads']:,} dataset reads by {tot['people']} people; {tot['datasets_used']} of {tot['datasets']} "
        f"datasets used"
    )
    m = d["reuse_matrix"]
    cells = {(c["consumer"], c["producer"]): c for c in m["cells"]}
    t = Table("consumer \\ producer", *m["producers"], title="reuse matrix (people · reads)")
    for consumer in m["consumers"]:
        row = [consumer]
        for producer in m["producers"]:
            c = cells.get((consumer, producer))
            row.append(f"{c['people']} · {c['reads']:,}" if c else "")
        t.add_row(*row)
    out.print(t)
    t = Table(
        "domain", "datasets", "reads of its data", "outside people", "consumes from others", title="usage by domain"
    )
    for b in d["domains"]:
        t.add_row(
            b["domain"],
            str(b["datasets"]),
            f"{b['reads']:,}",
            str(b["outside_people"]),
            f"{b['consumes_from_others']:,}",
        )
    out.print(t)
    for key in ("rising", "falling"):
        t = Table(
            "dataset",
            "person-weeks before → now",
            "queries before → now",
            title=f"{key} (last {d['trend_weeks']} complete weeks against the {d['trend_weeks']} before)",
        )
        for r in d[key][:10]:
            t.add_row(
                r["dataset"],
                f"{r['prior_person_weeks']} → {r['recent_person_weeks']}",
                f"{r['prior_queries']} → {r['recent_queries']}",
            )
        out.print(t)
    tail = d["long_tail"]
    out.print(
        f"long tail: {tail['never_used_count']} datasets never used, {tail['one_person_count']} used by one person"
    )
    for x in tail["never_used"][:20]:
        out.print(f"  {x['dataset']}  (shared {x['shared_at'][:10] if x['shared_at'] else '?'})")
    if d["consume_not_share"]:
        out.print(f"domains that consume but never share: {', '.join(d['consume_not_share'])}")


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
    d = domain_view(p, domain, viewer=acting(p, as_user), weeks=weeks, page=page, per_page=per_page)
    if _table_or_json(fmt, d):
        return
    tot = d["totals"]
    out.print(
        f"[bold]{d['title']}[/bold] ({d['domain']}): {tot['used']} of {tot['datasets']} datasets used, "
        f"{tot['reads']:,} reads, {tot['outside_people']} people from {len(tot['consumer_domains'])} other "
        f"domains; {tot['products']} products, {tot['candidates']} candidates, {tot['waiting_requests']} "
        "requests waiting"
    )
    for x in d["datasets"]:
        outside = ", ".join(f"{y['domain']} {y['people']}" for y in x["domains"] if y["outside"])
        badge = x["product"]["status"] if x["product"] else x["stage"]
        out.print(
            f"[bold]{x['dataset']}[/bold] ({badge}, {x['visibility']}): {x['people']} people"
            + (f" ({x['outside_people']} outside: {outside})" if outside else "")
            + f"; reads {x['trend']['prior']} → {x['trend']['recent']} ({x['trend']['direction']}); "
            f"{x['downstream_count']} downstream; {x['waiting_requests']} requests waiting"
        )
        if x["purposes"]:
            out.print("   purposes: " + ", ".join(f"{y['purpose']} {y['people']}" for y in x["purposes"][:6]))
        read = [c for c in x["columns"] if c["people"] or c["in_contract"]][:6]
        if read:
            out.print("   a change to " + "; ".join(f"{c['column']} affects {c['affects']}" for c in read))


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
    if _table_or_json(fmt, d["candidates"]):
        return
    out.print(
        f"{d['total']} candidates (page {d['page']} of {d['pages']}); threshold {d['threshold']:g} points of 100, "
        f"at least {d['min_people']} people"
    )
    if not d["candidates"]:
        out.print("no candidates yet: no dataset's use reaches the threshold")
    for c in d["candidates"]:
        out.print(
            f"\n[bold]{c['rank']}. {c['dataset']}[/bold]  score {c['score']:g}  ({c['status']})"
            + ("  nominated" if c["nominated"] else "")
        )
        for r in c["reasons"]:
            if r["points"] or r["value"]:
                out.print(f"   {r['points']:>5g} / {r['weight']:g}  {r['text']} (target {r['target']})")
        n = c.get("needs")
        if n:
            owner = (n["owner"] or {}).get("suggested") or "?"
            out.print(
                f"   needs: owner (suggested: {owner}), contract ({n['contract']['source']}), freshness SLO "
                f"{n['freshness_hours'] or '?'} h"
            )
    if d["watching"]:
        out.print(
            "\nwatching (half way there): " + ", ".join(f"{w['dataset']} ({w['score']:g})" for w in d["watching"])
        )


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
    say(r, fmt, f"{r['dataset']} dismissed: {r['reason']}")


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
    r = nominate(p, acting(p, as_user), dataset, reason=reason)
    if _table_or_json(fmt, r):
        return
    out.print(
        f"nominated {r['dataset']} ({r['nominations']} nomination{'s' if r['nominations'] != 1 else ''}); "
        "its domain's owners will review it"
    )


@owners_app.command("suggest")
def owners_suggest(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Suggested owners, ranked, with the evidence for each."""
    from threshold.products.owners import suggest

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    d = suggest(p, dataset, viewer=acting(p, as_user))
    if _table_or_json(fmt, d["suggestions"]):
        return
    for x in d["suggestions"]:
        state = f"  [{x['status']}{': ' + x['reason'] if x['reason'] else ''}]" if x["status"] else ""
        out.print(
            f"[bold]{x['rank']}. {x['user']}[/bold] ({x['display_name']}, {', '.join(x['domains']) or '-'})  "
            f"{x['score']:g} points{state}"
        )
        for e in x["evidence"]:
            out.print(f"   {e['points']:>5g}  {e['text']}")
    for note in d["notes"]:
        out.print(f"[dim]{note}[/dim]")
    if d["proposed_to"]:
        out.print(f"proposed to {d['proposed_to']}, waiting for their answer")


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
    say(r, fmt, f"proposed ownership of {r['dataset']} to {r['proposed_to']}")


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
        f"{r['user']} accepted ownership of {r['dataset']}; an owner of its domain promotes it: "
        f"threshold promote {r['dataset']}",
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
    nxt = r.get("next")
    say(
        nxt,
        fmt,
        f"{r['user']} declined ownership of {r['dataset']}; "
        + (f"proposed to {nxt['proposed_to']} next" if nxt else "no one else is suggested"),
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
    if _table_or_json(fmt, r):
        return
    _print_product(r)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text") from e


def _print_product(r: dict[str, Any]) -> None:
    badges = " · ".join(b["label"] for b in r["badges"])
    out.print(f"[bold]{r['dataset']}[/bold] owned by {r['owner']}: {escape(badges)}")
    if len(r["datasets"]) > 1:
        out.print("combines " + ", ".join(x["dataset"] for x in r["datasets"]))
    if r["replacement"]:
        out.print(f"replaced by {r['replacement']}")
    c = r["contract"]
    if c:
        failed = [x for x in c["results"] if x["status"] in ("failed", "error")]
        out.print(f"contract {c['version']}: {c['status']} ({len(c['results'])} checks, {len(failed)} failing)")
        for x in failed[:10]:
            out.print(f"   ✗ {x['message']}")
    if r.get("notified"):
        n = r["notified"]
        out.print(f"told {n['people']} people who used it since {n['since'][:10]}; webhooks: {', '.join(n['domains'])}")


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
        r = product_view(p, dataset, viewer=viewer)
        if _table_or_json(fmt, r):
            return
        _print_product(r)
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
    r = import_contract(p, acting(p, as_user), _read(file))
    if _table_or_json(fmt, r):
        return
    kind = "draft for promotion" if r.get("draft") else "product contract"
    out.print(f"contract {r['version']} published ({kind}): checks {r['status']}")
    for c in r.get("changes", []):
        out.print(f"   {'breaking' if c['breaking'] else 'compatible'}: {c['change']}")
    for x in r["results"]:
        if x["status"] in ("failed", "error"):
            out.print(f"   ✗ {x['message']}")


@contract_app.command("check")
def contract_check(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Run a contract's checks against the real table again."""
    from threshold.products.contracts import recheck

    check_format(fmt, ("table", "json"))
    p = platform_at(home)
    r = recheck(p, acting(p, as_user), dataset)
    if _table_or_json(fmt, r):
        return
    t = Table(
        "kind", "where", "rule", "status", "measured", title=f"{r['dataset']} contract {r['version']}: {r['status']}"
    )
    for x in r["results"]:
        where = f"{x['object']}.{x['property']}" if x["property"] else x["object"]
        t.add_row(x["kind"], where, str(x["rule"]), x["status"], "" if x["actual"] is None else str(x["actual"]))
    out.print(t)


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
    r = deprecate(p, acting(p, as_user), dataset, replacement=replacement, reason=reason)
    if _table_or_json(fmt, r):
        return
    _print_product(r)


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
    r = retire(p, acting(p, as_user), dataset, reason=reason)
    if _table_or_json(fmt, r):
        return
    _print_product(r)
