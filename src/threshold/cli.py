"""The `threshold` command. Thin: parse options, call a service, print the result.

Errors print one line on stderr and exit with the error's code (never a traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from threshold.errors import NotFound, ThresholdError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Threshold: share, explore and govern data.")
user_app = typer.Typer(no_args_is_help=True, help="People.")
domain_app = typer.Typer(no_args_is_help=True, help="Domains.")
token_app = typer.Typer(no_args_is_help=True, help="Personal API tokens.")
app.add_typer(user_app, name="user")
app.add_typer(domain_app, name="domain")
app.add_typer(token_app, name="token")

out = Console(soft_wrap=True)
err = Console(stderr=True)

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="THRESHOLD_HOME", help="Threshold home folder (default ./.threshold)."),
]
As = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the admin).")]
Format = Annotated[str, typer.Option("--format", help="table or json.")]


class lazy_module:  # noqa: N801  (reads like the module it stands for)
    """A module imported on first use: command modules name their services at the top without making
    `threshold --help` pay for importing pyiceberg, pyarrow and SQLAlchemy."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


def _platform(home: Path | None) -> Any:
    from threshold.platform import Platform

    return Platform.open(home)


def _person(platform: Any, name: str | None) -> Any:
    from threshold.identity.service import ADMIN, get_person

    return get_person(platform, name or ADMIN)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        from threshold.errors import InvalidInput

        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(allowed)}")


@app.command()
def init(home: Home = None) -> None:
    """Create (or upgrade) a Threshold home: metadata store, Iceberg catalog, warehouse, admin user."""
    from threshold.identity.service import ensure_admin
    from threshold.operations.schedules import plan_from_settings
    from threshold.platform import Platform

    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    plan_from_settings(platform)  # maintenance jobs on the schedules the settings give
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
) -> None:
    """Add a person."""
    from threshold.identity.service import add_user

    p = add_user(
        _platform(home),
        name,
        display_name=display_name,
        email=email,
        domains=tuple(domain or ()),
        admin=admin,
        password=password,
    )
    out.print(f"added user {p.name}" + (f" in {', '.join(p.domains)}" if p.domains else ""))


@user_app.command("list")
def user_list(home: Home = None, fmt: Format = "table") -> None:
    """List people."""
    from threshold.identity.service import list_users

    _check_format(fmt, ("table", "json"))
    people = list_users(_platform(home))
    if fmt == "json":
        _emit_json([p.__dict__ for p in people])
        return
    t = Table("name", "display name", "domains", "admin")
    for p in people:
        t.add_row(p.name, p.display_name, ", ".join(p.domains), "yes" if p.is_admin else "")
    out.print(t)


@domain_app.command("add")
def domain_add(
    name: str,
    owner: Annotated[list[str] | None, typer.Option("--owner", help="Owner (repeatable).")] = None,
    title: Annotated[str, typer.Option("--title")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    home: Home = None,
) -> None:
    """Add a domain (a business area that produces data)."""
    from threshold.identity.service import add_domain

    add_domain(_platform(home), name, title=title, description=description, owners=tuple(owner or ()))
    out.print(f"added domain {name}")


@domain_app.command("list")
def domain_list(home: Home = None, fmt: Format = "table") -> None:
    """List domains."""
    from threshold.identity.service import list_domains

    _check_format(fmt, ("table", "json"))
    domains = list_domains(_platform(home))
    if fmt == "json":
        _emit_json(domains)
        return
    t = Table("name", "title", "owners", "members")
    for d in domains:
        t.add_row(str(d["name"]), str(d["title"]), ", ".join(d["owners"]), str(d["members"]))  # type: ignore[arg-type]
    out.print(t)


@domain_app.command("join")
def domain_join(
    domain: str,
    user: str,
    role: Annotated[str, typer.Option("--role", help="member or owner.")] = "member",
    home: Home = None,
) -> None:
    """Add a person to a domain."""
    from threshold.identity.service import join_domain

    join_domain(_platform(home), user, domain, role)
    out.print(f"{user} is now {role} of {domain}")


@app.command()
def share(
    file: Path,
    domain: Annotated[str, typer.Option("--domain", help="Domain the data belongs to.")],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: from the file name).")] = None,
    as_user: As = None,
    mode: Annotated[str, typer.Option("--mode", help="create, append or replace.")] = "create",
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet", help="Spreadsheet sheet by name, or '*' for every sheet (default: the first with data)."
        ),
    ] = None,
    header_row: Annotated[
        str | None,
        typer.Option("--header-row", help="Header row as the sheet/file numbers it; N-M for several; 0 for none."),
    ] = None,
    skip_rows: Annotated[int, typer.Option("--skip-rows", min=0, help="Leave out this many rows at the top.")] = 0,
    cell_range: Annotated[
        str | None, typer.Option("--range", help="Spreadsheets: only these cells, e.g. A5:H200.")
    ] = None,
    keep_totals: Annotated[
        bool, typer.Option("--keep-totals", help="Keep totals rows and notes below the table as data.")
    ] = False,
    rename: Annotated[
        list[str] | None, typer.Option("--rename", help="OLD=NEW: store a column under another name (repeatable).")
    ] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="NAME=TYPE: text, whole number, number, date, date & time, time, yes/no."),
    ] = None,
    visibility: Annotated[
        str | None, typer.Option("--visibility", help="open, on-request or restricted (a new dataset; owners only).")
    ] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Show what would be stored, and share nothing.")] = False,
    description: Annotated[str, typer.Option("--description")] = "",
    purpose: Annotated[str, typer.Option("--purpose", help="Why the data was collected.")] = "",
    evolve: Annotated[bool, typer.Option("--evolve", help="Append may add new columns / widen types.")] = False,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Force a text encoding.")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="Force a CSV delimiter.")] = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Share a file (CSV/TSV, Excel, Parquet, JSON/NDJSON) into the lake as DOMAIN.NAME."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from threshold.sharing.choices import parse_pairs
    from threshold.sharing.service import share as run_share

    _check_format(fmt, ("table", "json"))
    platform = _platform(home)
    person = _person(platform, as_user)
    columns = parse_pairs(rename or [], column_type or [])
    options: dict[str, Any] = {
        "name": name,
        "mode": mode,
        "sheet": sheet,
        "header_row": header_row,
        "skip_rows": skip_rows,
        "cell_range": cell_range,
        "keep_totals": keep_totals,
        "columns": columns,
        "description": description,
        "purpose": purpose,
        "visibility": visibility,
        "evolve": evolve,
        "encoding": encoding,
        "delimiter": delimiter,
    }
    if preview:
        _share_preview(platform, person, file, domain, options, fmt)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(f"sharing {file.name}", total=1.0)

        def progress(phase: str, fraction: float | None) -> None:
            bar.update(task, description=f"{phase} {file.name}", completed=fraction if fraction is not None else None)

        results = run_share(platform, file, domain=domain, user=person, progress=progress, **options)
    if fmt == "json":
        _emit_json([r.__dict__ for r in results])
        return
    for r in results:
        tags = ", ".join(f"{c}: {t}" for c, t in r.tags)
        out.print(
            f"shared {r.dataset} ({r.mode}): {r.rows_added:,} rows added, {r.rows_total:,} in total, "
            f"{len(r.columns)} columns, snapshot {r.snapshot_id}, {r.seconds:.1f} s"
        )
        if tags:
            out.print(f"  tagged {tags}")
        for note in r.notes:
            out.print(f"  {note}", markup=False)


def _share_preview(platform: Any, person: Any, file: Path, domain: str, options: dict[str, Any], fmt: str) -> None:
    """`threshold share --preview`: what would be stored, and nothing shared."""
    from dataclasses import asdict

    from rich.markup import escape

    from threshold.sharing.preview import ShareChoices, preview

    choices = ShareChoices(domain=domain).updated(**options)
    result = preview(platform, file, user=person, choices=choices)
    if fmt == "json":
        _emit_json(asdict(result) | {"ready": result.ready})
        return
    out.print(f"[bold]preview of {file.name}[/bold]: nothing was shared")
    if result.sheets:
        out.print("sheets: " + ", ".join(f"'{s}'" for s in result.sheets), markup=False)
    for problem in result.problems:
        out.print(f"[red]problem:[/red] {escape(problem)}")
    for t in result.tables:
        count = f", {t.row_count:,} rows" if t.row_count is not None else ""
        out.print(f"\n[bold]{t.dataset}[/bold]{count}" + (f" from sheet '{escape(t.sheet)}'" if t.sheet else ""))
        for note in t.notes:
            out.print(f"  {note}", markup=False)
        for problem in t.problems:
            out.print(f"  [red]problem:[/red] {escape(problem)}")
        columns = Table("column", "label in the file", "type", "tags", title="columns as they will be stored")
        for c in t.columns:
            retyped = f" (found {c.detected_type})" if c.type != c.detected_type else ""
            columns.add_row(c.name, escape(c.label), c.type + retyped, ", ".join(x.tag for x in c.tags))
        out.print(columns)
        rows = Table(*[c.name for c in t.columns], title=f"first {len(t.rows)} rows")
        for row in t.rows:
            rows.add_row(*("" if v is None else escape(str(v)) for v in row))
        out.print(rows)
    out.print(
        "to share it, run the same command without --preview; correct it with --sheet, --header-row, --skip-rows, "
        "--range, --keep-totals, --rename OLD=NEW, --type NAME=TYPE, --visibility",
        markup=False,
    )


@app.command()
def datasets(
    search: Annotated[str | None, typer.Option("--search", help="Search text.")] = None,
    page: Annotated[int, typer.Option("--page")] = 1,
    per_page: Annotated[int, typer.Option("--per-page")] = 1000,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """List or search datasets (best matches first)."""
    from threshold.catalog.search import search as find

    _check_format(fmt, ("table", "json"))
    platform = _platform(home)
    result = find(platform, search, page=page, per_page=per_page, viewer=_person(platform, as_user))
    if fmt == "json":
        _emit_json(result.results)
        return
    t = Table("dataset", "rows", "columns", "tags", "match", title=f"{result.total} datasets")
    for d in result.results:
        t.add_row(d["name"], f"{d['rows']:,}", str(d["columns"]), ", ".join(d["tags"]), d.get("match") or "")
    out.print(t)


@app.command()
def show(dataset: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Show a dataset: schema with tags and profile, source, history of snapshots."""
    from threshold.catalog.service import describe

    _check_format(fmt, ("table", "json"))
    platform = _platform(home)
    d = describe(platform, dataset, viewer=_person(platform, as_user))
    if fmt == "json":
        _emit_json(d)
        return
    out.print(f"[bold]{d['name']}[/bold]  {d['rows']:,} rows · stage {d['stage']} · snapshot {d['snapshot_id']}")
    if d["description"]:
        out.print(d["description"])
    if d["source"]:
        s = d["source"]
        out.print(f"source: {s['name']} ({s['format']}, {s['size'] or 0:,} bytes, sha256 {str(s['sha256'])[:16]}…)")
    t = Table("column", "label", "type", "tags", "nulls", "distinct≈", "min", "max")
    for c in d["schema"]:
        t.add_row(
            c["name"],
            c["label"],
            c["type"],
            ", ".join(x["tag"] for x in c["tags"]),
            f"{c['null_fraction']:.1%}" if c["null_fraction"] is not None else "",
            f"{c['distinct_estimate']:,}" if c["distinct_estimate"] is not None else "",
            str(c["min"] or "")[:24],
            str(c["max"] or "")[:24],
        )
    out.print(t)
    h = Table("snapshot", "at", "by", "mode", "rows added", "rows total", "source", title="history")
    for e in d["history"]:
        h.add_row(
            str(e["snapshot_id"]),
            e["at"],
            e["by"] or "",
            e["mode"],
            f"{e['rows_added']:,}",
            f"{e['rows_total']:,}",
            e["source"],
        )
    out.print(h)


@app.command()
def query(
    sql: str,
    as_user: As = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why you query (recorded).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    max_rows: Annotated[
        int | None, typer.Option("--max-rows", min=1, help="Fewer rows than your allowance (limits.query_rows).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.001, help="Stop sooner than the time limit (seconds).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Query a Threshold server (after `threshold login`) instead of a home.")
    ] = None,
    home: Home = None,
) -> None:
    """Run a read-only SQL query through the gateway (within your allowance of time, rows and bytes)."""
    from threshold.client import RemoteClient, notes
    from threshold.web.render import rows_as_json

    _check_format(fmt, ("table", "csv", "json"))
    if url:
        remote = RemoteClient(url, None)
        try:
            table = remote.sql(sql, purpose, max_rows=max_rows, timeout=timeout)
        finally:
            remote.close()
        said, duration = notes(table), None
    else:
        from threshold.gateway.service import query as run

        platform = _platform(home)
        result = run(
            platform,
            sql,
            user=_person(platform, as_user),
            purpose=purpose,
            interface="cli",
            max_rows=max_rows,
            timeout=timeout,
        )
        table, said, duration = result.table, result.notes, result.duration_ms
    if fmt == "json":
        sys.stdout.write(rows_as_json(table) + "\n")
    elif fmt == "csv":  # neutralised like every spreadsheet-bound export (web/exports.py)
        from threshold.interface.exports import ExportSummary, csv_chunks

        for chunk in csv_chunks(table.schema, table.to_batches(), ExportSummary()):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    else:
        t = Table(*table.column_names)
        for row in table.slice(0, 200).to_pylist():
            t.add_row(*("" if v is None else str(v) for v in row.values()))
        out.print(t)
        more = " (showing 200)" if table.num_rows > 200 else ""
        took = f" in {duration:.0f} ms" if duration is not None else ""
        out.print(f"{table.num_rows:,} rows{more}{took}")
    for note in said:
        sys.stderr.write(note + "\n")


@app.command()
def usage(
    dataset: Annotated[str | None, typer.Argument(help="A dataset; without it, the whole organisation.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="What one person used.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Usage recorded by the gateway: per dataset, per person or org-wide (as the person asking may see it)."""
    from threshold.usage import service

    _check_format(fmt, ("table", "json"))
    platform = _platform(home)
    viewer = _person(platform, as_user)
    if user:
        data = service.person_usage(platform, user, viewer=viewer)
    elif dataset:
        data = service.dataset_usage(platform, dataset, viewer=viewer)
    else:
        data = service.org_usage(platform, viewer=viewer)
    if fmt == "json":
        _emit_json(data)
        return
    if user:
        t = Table("dataset", "queries", "last used", title=f"{user}'s use")
        for d in data["datasets"]:
            t.add_row(d["dataset"], str(d["queries"]), d["last_used"] or "")
        out.print(t)
    elif dataset:
        out.print(
            f"[bold]{dataset}[/bold]: {data['queries']} queries by {data['users']} people, last {data['last_used']}"
        )
        t = Table("domain", "people", "queries")
        for d in data["domains"]:
            t.add_row(d["domain"], str(d["users"]), str(d["queries"]))
        out.print(t)
        p = Table("purpose", "queries")
        for d in data["purposes"]:
            p.add_row(d["purpose"], str(d["queries"]))
        out.print(p)
        if data["names_visible"] or data["top_users"]:
            u = Table("person", "queries")
            for d in data["top_users"]:
                u.add_row(d["user"], str(d["queries"]))
            out.print(u)
        w = Table("week", "queries", "people")
        for d in data["weekly"]:
            w.add_row(d["week"], str(d["queries"]), str(d["users"]))
        out.print(w)
    else:
        out.print(f"{data['queries']} queries by {data['users']} people")
        t = Table("dataset", "queries", "people", "last used", title="most used")
        for d in data["most_used"]:
            t.add_row(d["dataset"], str(d["queries"]), str(d["users"]), d["last_used"] or "")
        out.print(t)
        out.print(f"never used: {len(data['never_used'])} datasets")
        for d in data["never_used"][:20]:
            out.print(f"  {d['dataset']}")


@token_app.command("create")
def token_create(
    as_user: As = None,
    name: Annotated[str, typer.Option("--name")] = "",
    days: Annotated[int, typer.Option("--days", help="Valid for this many days.")] = 90,
    home: Home = None,
) -> None:
    """Create a personal API token (shown once)."""
    from threshold.identity.service import ADMIN, create_token

    token_id, token = create_token(_platform(home), as_user or ADMIN, name=name, days=days)
    out.print(f"token {token_id} (shown once, keep it safe):")
    sys.stdout.write(token + "\n")


@token_app.command("revoke")
def token_revoke(token_id: int, home: Home = None) -> None:
    """Revoke an API token."""
    from threshold.identity.service import revoke_token

    revoke_token(_platform(home), token_id)
    out.print(f"revoked token {token_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", envvar="THRESHOLD_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="THRESHOLD_PORT", min=0, max=65535)] = 8000,
    home: Home = None,
) -> None:
    """Serve the web UI and the REST API."""
    platform = _platform(home)
    _serve(platform, bind(host, port))


def bind(host: str, port: int) -> Any:
    """The listening socket, taken before anything says it serves: a busy port is one clear line, not a
    "serving on ..." followed by a failure."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        from threshold.errors import InvalidInput

        raise InvalidInput(f"cannot serve on {host}: {e.strerror or e}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart while old ones linger
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        from threshold.errors import Conflict, InvalidInput

        if e.errno == errno.EADDRINUSE:
            raise Conflict(
                f"port {port} on {host} is already in use by another program: "
                f"choose another with --port {port + 1} (make run PORT={port + 1})"
            ) from None
        if e.errno == errno.EACCES:
            raise InvalidInput(f"port {port} on {host} needs privileges: choose one above 1023 with --port") from None
        raise InvalidInput(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def _serve(platform: Any, sock: Any) -> None:
    import uvicorn

    from threshold.api.app import create_app
    from threshold.cleanup import sweep_in_background
    from threshold.operations.schedules import plan_from_settings

    plan_from_settings(platform)  # maintenance jobs on the schedules the settings give
    platform.clean_staging()  # folders of killed shares and servers: before serving (a listing, quick)
    sweep_in_background(platform, err.print)  # what killed writes left in the lake tables
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    out.print(f"Threshold is serving {platform.settings.home_dir} on http://{shown}:{port}/ (API docs at /docs)")
    server = uvicorn.Server(uvicorn.Config(create_app(platform), log_level="warning"))
    server.run(sockets=[sock])


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo organisation only.")] = False,
    host: Annotated[str, typer.Option("--host", envvar="THRESHOLD_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="THRESHOLD_PORT", min=0, max=65535)] = 8000,
    scale: Annotated[float, typer.Option("--scale", help="Multiply people, datasets and usage.")] = 1.0,
    home: Home = None,
) -> None:
    """Build a believable demo organisation (domains, people, datasets, 8 weeks of usage), then serve it."""
    from threshold.demo.generator import build_demo
    from threshold.platform import Platform

    sock = None if no_serve else bind(host, port)  # a busy port is said before the demo is built
    platform = Platform.open(home, must_exist=False)

    def log(msg: str) -> None:
        sys.stderr.write(msg + "\n")

    summary = build_demo(platform, scale=scale, log=log)
    out.print(summary)
    if sock is not None:
        _serve(platform, sock)


def _fail(message: str, code: int) -> None:
    """One line on stderr, whatever the terminal width, then exit."""
    sys.stderr.write(" ".join(message.split()) + "\n")
    sys.exit(code)


def _older_store(e: Exception) -> bool:
    """A table or column this version expects is missing: the store was not migrated yet."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(e)
    return isinstance(e, (OperationalError, ProgrammingError)) and (
        "no such table" in text or "no such column" in text or "UndefinedTable" in text or "UndefinedColumn" in text
    )


def _cli_hint(e: ThresholdError) -> str:
    """What to do next, in the CLI's words (the message itself names no interface)."""
    hint = ""
    if e.suggestions:
        hint += f"; did you mean {' or '.join(e.suggestions)}?"
    if e.request_access:
        hint += f"; request access: threshold request {e.request_access} --purpose ..."
    elif "`threshold datasets`" in str(e):
        pass  # `access.no_dataset` already names it
    elif isinstance(e, NotFound) or str(e).startswith(("unknown dataset", "unknown table")):
        hint += "; `threshold datasets` lists what you can query"
    return hint


def main() -> None:
    """Entry point: one line on stderr and a non-zero exit for every error, never a traceback."""
    import click

    try:
        app(standalone_mode=False)
    except ThresholdError as e:
        _fail(f"error: {e}{_cli_hint(e)}", e.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except (click.ClickException, typer.exceptions.TyperException) as e:  # newer Typer vendors its own click
        _fail(f"error: {e.format_message()}", e.exit_code or 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except SystemExit:
        raise
    except OSError as e:
        _fail(f"error: {e.strerror or e} {getattr(e, 'filename', '') or ''}", 1)
    except Exception as e:  # a bug of ours (or a store not upgraded yet): still one line, never a traceback
        if _older_store(e):
            _fail(
                "error: this home's metadata store is older than this version of Threshold "
                f"({str(e).splitlines()[0][:120]}); run `threshold init` to upgrade it",
                1,
            )
        first = str(e).splitlines()[0] if str(e) else ""
        _fail(f"internal error ({type(e).__name__}): {first}", 70)


# Command groups kept in their own modules register onto `app` when imported (after it is complete).
from threshold.commands import governance as _governance  # noqa: E402,F401
from threshold.commands import insights as _insights  # noqa: E402,F401
from threshold.commands import jobs as _jobs  # noqa: E402,F401
from threshold.commands import lineage as _lineage  # noqa: E402,F401
from threshold.commands import notifications as _notifications  # noqa: E402,F401
from threshold.commands import operations as _operations  # noqa: E402,F401
from threshold.commands import products as _products  # noqa: E402,F401
from threshold.commands import quality as _quality  # noqa: E402,F401

if __name__ == "__main__":
    # Run as `python -m threshold.cli`, this file is `__main__`, but the command modules above registered
    # onto the app of the module `threshold.cli`: run that one, or their commands would be missing.
    from threshold.cli import main as _registered_main

    _registered_main()
