"""`threshold erase` and `threshold erasure certificates|certificate|access`: the right to erasure, proven,
and the subject access report (docs/compliance.md). For the governance group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home
from threshold.commands.support import acting, check_format, emit, lazy_module, out, platform_at, show
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.erasure import service, subject_access
else:
    service = lazy_module("threshold.erasure.service")
    subject_access = lazy_module("threshold.erasure.subject_access")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
erasure_app = typer.Typer(no_args_is_help=True, help="Erasure certificates and subject access reports.")
app.add_typer(erasure_app, name="erasure")

Subjects = Annotated[
    list[str],
    typer.Option("--subject", help="COLUMN_TAG=VALUE, e.g. personal.email=ada@example.org (repeat for more)."),
]

PLAN = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("columns", lambda i: ", ".join(i.columns)),
    Col("found by", "via"),
    Col("rows to remove", "rows", justify="right"),
    Col("rows", "total_rows", justify="right"),
    Col("earlier snapshots", lambda i: "hold it: expired" if i.in_history else ""),
)
CERTIFICATES = TableSpec(
    Col("id", "id", id=True, justify="right"),
    Col("status", "status"),
    Col("by", "requested_by"),
    Col("started", "started_at"),
    Col("tables", lambda c: str(len(c.tables)), justify="right"),
    Col("rows removed", lambda c: str(sum(t.get("rows_removed", 0) for t in c.tables)), justify="right"),
    Col("reason", "reason"),
)


@app.command("erase")
def erase_cmd(
    subject: Subjects,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (the request's reference); kept on the certificate.")
    ] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm the plan (scripts).")] = False,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Remove a data subject from every dataset that holds them, expire the snapshots that held them,
    verify by decoding what remains, and print the certificate."""
    check_format(fmt)
    p = platform_at(home)
    person = acting(p, as_user)
    plan = service.plan(p, person, subject)
    if dry_run:
        emit(
            plan.items, PLAN, fmt, title=f"would remove {plan.rows} rows from {len(plan.to_erase)} datasets", data=plan
        )
        return
    if not plan.to_erase:
        from threshold.errors import NotFound

        raise NotFound(f"the subject was found in none of the {len(plan.items)} datasets searched; nothing to erase")
    if not yes:
        if fmt == "json" or not sys.stdin.isatty():
            from threshold.errors import InvalidInput

            raise InvalidInput("confirm the plan: run with --dry-run to see it, then with --yes")
        out.print(PLAN.rich(plan.to_erase, title=f"{plan.rows} rows will be removed"))
        typer.confirm("Erase these rows and every snapshot that holds them?", abort=True)
    cert = service.erase(p, person, subject, reason=reason, confirm=plan.token)
    _print(cert, fmt)


@erasure_app.command("certificates")
def certificates_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Every erasure, newest first."""
    check_format(fmt)
    p = platform_at(home)
    found = service.certificates(p, acting(p, as_user))
    emit(found, CERTIFICATES, fmt, data=[c.as_dict() for c in found])


@erasure_app.command("certificate")
def certificate_cmd(
    cert_id: Annotated[int, typer.Argument(help="The certificate's number.")],
    export: Annotated[Path | None, typer.Option("--export", help="Write the certificate as JSON to this file.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """One certificate: what was searched, removed and verified."""
    check_format(fmt)
    p = platform_at(home)
    cert = service.certificate(p, acting(p, as_user), cert_id)
    if export is not None:
        import json

        export.write_text(json.dumps(cert.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    _print(cert, fmt)


@erasure_app.command("access")
def access_cmd(
    subject: Subjects,
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the report to this file (.csv or .json).")
    ] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """The subject access report: every dataset holding the subject, its rows, purpose and legal basis."""
    check_format(fmt)
    p = platform_at(home)
    report = subject_access.report(p, acting(p, as_user), subject)
    if export is not None:
        export.write_text(report.as_csv() if export.suffix == ".csv" else report.as_json(), encoding="utf-8")
    show(report, fmt, View(lines=_holdings_lines))


def _holdings_lines(report: Any) -> Iterator[Plain]:
    for h in report.holdings:
        yield Plain(
            f"{h.dataset}: {h.rows} rows in {', '.join(h.columns)}; purpose: {h.purpose or '-'}; "
            f"legal basis: {h.legal_basis}"
        )
    yield Plain(f"{len(report.holdings)} of {report.datasets_searched} datasets searched hold the subject")


def _print(cert: object, fmt: str) -> None:
    show(cert.as_dict(), fmt, View(lines=_certificate_lines))  # type: ignore[attr-defined]


def _certificate_lines(data: dict[str, Any]) -> Iterator[Plain]:
    yield Plain(f"erasure certificate {data['id']}: {data['status']} ({data['reason']})")
    for t in data["tables"]:
        state = "erased" if t["done"] else "NOT erased yet"
        yield Plain(
            f"  {t['dataset']}: {t['rows_removed']} rows removed, {t['bytes_rewritten']:,} bytes rewritten, "
            f"{len(t['expired'])} snapshots expired, {t['files_removed']} files removed ({state})"
        )
    for line in data["verification"].get("checked", []):
        yield Plain(f"  verified: {line}")
    for line in data["verification"].get("found", []):
        yield Plain(f"  STILL FOUND: {line}")
    if data["error"]:
        yield Plain(f"  {data['error']}")
