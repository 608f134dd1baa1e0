"""CLI of databases as sources: `threshold source add --url | test | sync | show | remove` (attached to the
`source` group of commands/lineage.py, where source systems are registered and listed)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from threshold.commands.support import As, Format, Home, acting, check_format, platform_at, say
from threshold.commands.support import show as present
from threshold.interface.rendering import View
from threshold.interface.tables import Col, TableSpec, count, when

if TYPE_CHECKING:
    from threshold.connectors.service import ConnectionInfo

SYNCS = TableSpec(
    Col("dataset", "dataset", id=True),
    Col("reads", lambda r: r.table or "query"),
    Col("mode", "mode"),
    Col("cursor", lambda r: f"{r.cursor} ≥ {r.cursor_value}" if r.cursor and r.cursor_value else r.cursor),
    Col("schedule", "schedule"),
    Col("last run", "last_run_at", fmt=when),
    Col("status", lambda r: r.last_error or r.last_status),
    Col("rows", "last_rows", fmt=count, justify="right"),
)


def _connection_line(c: ConnectionInfo) -> list[str]:
    return [f"{c.name} ({c.dialect}), owned by {c.owner}: {c.url}" + (" (password stored)" if c.has_password else "")]


CONNECTION = View(lines=_connection_line, table=SYNCS, rows=lambda c: c.syncs)
"""`threshold source show`: the connection (never its password), then its syncs."""


def password_from_stdin(given: bool) -> str | None:
    """The password read from standard input (one line), so that it is never on a command line or in history."""
    if not given:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        from threshold.errors import InvalidInput

        raise InvalidInput("--password-stdin: no password on standard input")
    return line


def attach(source_app: typer.Typer) -> None:
    """Add the connection commands to the `source` group."""

    @source_app.command("test")
    def source_test(name: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
        """Connect to a source database and list its tables (checks URL, password and driver)."""
        from threshold.connectors.service import test

        check_format(fmt)
        platform = platform_at(home)
        r = test(platform, name, user=acting(platform, as_user))
        shown = ", ".join(r.tables[:20]) + (" ..." if len(r.tables) > 20 else "")
        say(r, fmt, f"{name} ({r.dialect}) answered in {r.seconds:g} s: {len(r.tables)} tables: {shown}")

    @source_app.command("sync")
    def source_sync(
        name: str,
        dataset: Annotated[str, typer.Option("--dataset", help="The dataset it shares into: DOMAIN.NAME.")],
        table: Annotated[
            str | None, typer.Option("--table", help="Table at the source: TABLE or SCHEMA.TABLE.")
        ] = None,
        query: Annotated[
            str | None, typer.Option("--query", help="A SELECT run at the source instead of a table.")
        ] = None,
        incremental: Annotated[
            bool, typer.Option("--incremental", help="Read rows at or past --cursor and merge them by --key.")
        ] = False,
        cursor: Annotated[str | None, typer.Option("--cursor", help="Cursor column (e.g. updated_at, id).")] = None,
        key: Annotated[list[str] | None, typer.Option("--key", help="Key column (repeat for several).")] = None,
        schedule: Annotated[
            str | None, typer.Option("--schedule", help="hourly, daily, 'daily at 02:00', 'every 15 minutes', cron.")
        ] = None,
        full: Annotated[bool, typer.Option("--full", help="Read everything this time, whatever the cursor.")] = False,
        no_run: Annotated[bool, typer.Option("--no-run", help="Only set the sync up (and schedule it).")] = False,
        as_user: As = None,
        home: Home = None,
        fmt: Format = "table",
    ) -> None:
        """Share a source table or query as DOMAIN.NAME now (and on --schedule); without --table/--query,
        run the sync set up before."""
        from threshold.connectors.service import configure, run

        check_format(fmt)
        platform = platform_at(home)
        person = acting(platform, as_user)
        if table or query:
            configure(
                platform,
                name,
                dataset=dataset,
                user=person,
                table=table,
                query=query,
                mode="incremental" if incremental else "full",
                cursor=cursor,
                keys=key or [],
                schedule=schedule,
            )
        if no_run:
            say({"dataset": dataset, "scheduled": schedule}, fmt, f"sync of {name} into {dataset} set up")
            return
        r = run(platform, dataset, user=person, full=full)
        cursor_text = f", cursor {r.cursor_value}" if r.cursor_value else ""
        if r.snapshot_id is None:
            say(r, fmt, f"{dataset}: nothing new at {name}{cursor_text}")
        else:
            say(
                r,
                fmt,
                f"synced {r.rows_read:,} rows from {name} into {dataset} ({r.mode}): {r.rows_total:,} rows, "
                f"snapshot {r.snapshot_id}{cursor_text}",
            )

    @source_app.command("show")
    def source_show(name: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
        """A source's connection (never its password) and its syncs."""
        from threshold.connectors.service import show

        check_format(fmt)
        platform = platform_at(home)
        present(show(platform, name, user=acting(platform, as_user)), fmt, CONNECTION)

    @source_app.command("remove")
    def source_remove(
        name: str,
        dataset: Annotated[
            str | None, typer.Option("--dataset", help="Remove only the sync into this dataset (it stays).")
        ] = None,
        as_user: As = None,
        home: Home = None,
        fmt: Format = "table",
    ) -> None:
        """Forget a source's connection and syncs (or one sync); the datasets they shared stay."""
        from threshold.connectors.service import remove, unschedule

        check_format(fmt)
        platform = platform_at(home)
        person = acting(platform, as_user)
        if dataset:
            unschedule(platform, dataset, user=person)
            say({"removed": dataset}, fmt, f"removed the sync into {dataset}")
        else:
            remove(platform, name, user=person)
            say({"removed": name}, fmt, f"removed the connection of {name} and its syncs")
