"""The index of `threshold`'s command groups: the modules that hold them (GROUPS) and, for each top-level
command, its module and the first paragraph of its help, in the order `threshold --help` lists them.

`threshold --help` reads COMMANDS instead of importing the modules (Typer builds every command's options
from its signature, ~1 ms each); a command's module is imported only when that command runs (`load`).
COMMANDS is generated from the modules: `python -m threshold.commands.index` rewrites it, and
tests/test_cli_lazy.py fails when it is stale (a command added, renamed, moved or its help changed)."""

from __future__ import annotations

from typing import Any

# Every command group, in the order `threshold --help` lists them: each module of `threshold.commands`
# holds an `app` (its commands and sub-groups); nothing registers itself on import.
GROUPS = (
    "people",
    "data",
    "governance",
    "quality",
    "lineage",
    "products",
    "insights",
    "glossary",
    "compliance",
    "erasure",
    "literacy",
    "maturity",
    "notifications",
    "jobs",
    "operations",
    "serving",
)

# (command, module of GROUPS, first paragraph of its help): the commands first, then the sub-groups, each
# in the order of GROUPS (as Typer lists a group's registered commands before its registered groups).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "people", "Create (or upgrade) a Threshold home: metadata store, Iceberg catalog, warehouse, admin user."),
    ("share", "data", "Share a file (CSV/TSV, Excel, Parquet, JSON/NDJSON) into the lake as DOMAIN.NAME."),
    ("datasets", "data", "List or search datasets (best matches first)."),
    ("show", "data", "Show a dataset: schema with tags and profile, source, history of snapshots."),
    ("query", "data", "Run a read-only SQL query through the gateway (within your allowance of time, rows and bytes)."),
    (
        "usage",
        "data",
        "Usage recorded by the gateway: per dataset, per person or org-wide (as the person asking may see it).",
    ),
    ("tag", "governance", "Tag a dataset or a column (DATASET or DATASET.COLUMN), e.g. personal.email."),
    ("untag", "governance", "Remove a tag from a dataset or a column."),
    (
        "visibility",
        "governance",
        "Set a dataset's visibility (open, on-request, restricted), or a domain's default when TARGET is a domain.",
    ),
    ("purposes", "governance", "Set the purposes a dataset may be read for (none given: any purpose)."),
    ("request", "governance", "Ask for access to a dataset for a purpose. Prints the request id."),
    ("approve", "governance", "Approve an access request: a grant for its purpose, until it expires."),
    ("deny", "governance", "Deny an access request, with a reason."),
    ("revoke", "governance", "Revoke a grant."),
    ("grants", "governance", "Grants you hold, or every grant on a dataset you own."),
    ("inbox", "governance", "Access requests waiting for you (datasets of the domains you own)."),
    ("explain", "governance", "What USER can see of DATASET (for a purpose) and which rule decided each part."),
    ("audit", "governance", "Search the audit log (owners: their data; the governance group: everything)."),
    (
        "login",
        "governance",
        "Sign in to a server: creates a personal API token and keeps it for the CLI and Python client.",
    ),
    ("checks", "quality", "A dataset's checks, their last result and the quality score (samples masked for you)."),
    (
        "report",
        "quality",
        "Report a problem with a dataset or a column; prints the incident's id. It goes to the domain that\nmakes the data (upstream, through lineage).",
    ),
    ("incidents", "quality", "Incidents, newest first, with the domain each is routed to."),
    ("incident", "quality", "Show an incident, or move it along: ack, fix, verify, reopen, comment, reroute."),
    (
        "quality",
        "quality",
        "Quality score of a dataset, or of a domain with its time to acknowledge and to fix incidents.",
    ),
    ("derive", "lineage", "Store the result of SQL as a new dataset DOMAIN.NAME, with its lineage (refresh it later)."),
    (
        "refresh",
        "lineage",
        "Run a derived dataset's SQL again (one new snapshot), or with --due everything that is due.",
    ),
    (
        "derivations",
        "lineage",
        "Derived datasets with their owner, schedule and last run (those the person asking may know of).",
    ),
    (
        "lineage",
        "lineage",
        "The supply chain of a dataset or column: upstream to the sources, downstream to what is built on it.",
    ),
    ("impact", "lineage", "If DATASET.COLUMN is dropped, renamed or retyped: what breaks and who must be told."),
    (
        "consumers",
        "products",
        "Who uses a dataset and why: consumer domains, purposes, counts, repeat use, questions, used-with.",
    ),
    (
        "patterns",
        "products",
        "Organisation patterns: the domain x domain reuse matrix, rising and falling datasets, the long tail.",
    ),
    (
        "producer",
        "products",
        "A domain's producer view: every dataset with its consumers by domain and purpose, trend, dependents,\nwaiting requests, candidates, and what a column change would affect.",
    ),
    ("nominate", "products", "Nominate a dataset for promotion; its domain's owners review it."),
    (
        "promote",
        "products",
        "Promote a dataset to a data product: owner, contract checked against the table, SLO, version.",
    ),
    ("products", "products", "Data products with their owner, version, status and contract; or one product in full."),
    (
        "deprecate",
        "products",
        "Deprecate a product: everyone who used it in the last 90 days is told, with the replacement.",
    ),
    ("retire", "products", "Retire a deprecated product: no longer served outside its domain; its consumers are told."),
    (
        "explore",
        "insights",
        "Ask a question of DATASET without SQL; prints the SQL it made (to learn from) and the result.",
    ),
    (
        "erase",
        "erasure",
        "Remove a data subject from every dataset that holds them, expire the snapshots that held them,\nverify by decoding what remains, and print the certificate.",
    ),
    ("my-report", "literacy", "Your data use in a period, for you first (and a PDF for a review conversation)."),
    (
        "notifications",
        "notifications",
        "Your inbox: candidates, promotions, requests, deprecations, schema changes, incidents.",
    ),
    (
        "backup",
        "operations",
        "Back up the home while it runs: metadata store, catalog, warehouse files, a manifest of checksums.",
    ),
    (
        "restore",
        "operations",
        "Restore a backup as a new home anywhere, then verify every dataset (snapshot, checksums, rows).",
    ),
    (
        "move-warehouse",
        "operations",
        "Copy a warehouse on an object store to another bucket or prefix (stop the servers first), then claim it.",
    ),
    (
        "doctor",
        "operations",
        "The home's health: orphans, abandoned snapshots, lost files, locks, disk space. Exit 1 if not healthy.",
    ),
    (
        "repair",
        "operations",
        "Show what a lost data file costs DATASET; with --how, repair it (history, audit and owners told).",
    ),
    (
        "serve",
        "serving",
        "Serve the web UI and the REST API (and, with --pg-port or pg.port, the PostgreSQL front door).",
    ),
    (
        "demo",
        "serving",
        "Build a believable demo organisation (domains, people, datasets, 8 weeks of usage), then serve it.",
    ),
    ("user", "people", "People."),
    ("domain", "people", "Domains."),
    ("token", "people", "Personal API tokens."),
    ("policy", "governance", "Guardrails and domain policies (YAML policy files)."),
    ("check", "quality", "Data quality checks on a dataset."),
    ("quarantine", "quality", "Files blocking checks rejected, kept for the owners."),
    ("source", "lineage", "Source systems data is shared from, and their owners."),
    ("openlineage", "lineage", "OpenLineage events: load a file, see and retry emitted ones."),
    ("owners", "products", "Find a data product's owner by working backward from the data."),
    ("contract", "products", "Data contracts (Open Data Contract Standard v3)."),
    ("candidates", "products", "Promotion candidates: ranked, with why (run without a subcommand to list them)."),
    ("insight", "insights", "Insights: saved, shareable, rerunnable questions."),
    ("board", "insights", "Boards: insights in order with one shared parameter."),
    ("glossary", "glossary", "The glossary: terms, their review, links to data; CSV in and out."),
    ("register", "compliance", "The collection register: purpose, legal basis, retention."),
    ("retention", "compliance", "Retention executed: rows past their period removed."),
    ("erasure", "erasure", "Erasure certificates and subject access reports."),
    ("learn", "literacy", "Learning by doing: your path, the tracks, cohorts."),
    ("maturity", "maturity", "The maturity model: scores, snapshots, target picture."),
    ("webhook", "notifications", "A domain's outgoing webhook (JSON signed with HMAC-SHA256)."),
    ("jobs", "jobs", "Scheduled jobs (refreshes, checks): list, history, run now."),
    ("maintenance", "operations", "Table maintenance: compaction and snapshot expiry."),
)


_LOADED: dict[str, dict[str, Any]] = {}


def load(module: str) -> dict[str, Any]:
    """The click commands of one module of GROUPS, converted as the root converts them (plain help).

    Converted once per process: Typer builds each command's options from its signature (resolving every
    annotation, a few ms per module), and a process that runs several commands (the resident helper's
    children, forked after it loaded `data`; in-process callers such as tests) would convert the same module
    for each. Click commands hold no state of an invocation (that lives in its `Context`), so they are
    shared; each caller gets its own mapping of them."""
    if module not in _LOADED:
        _LOADED[module] = _convert(module)
    return dict(_LOADED[module])


def _convert(module: str) -> dict[str, Any]:
    import importlib

    import typer
    import typer.main

    holder = typer.Typer(rich_markup_mode=None)
    app: typer.Typer = importlib.import_module(f"threshold.commands.{module}").app
    holder.registered_commands.extend(app.registered_commands)
    holder.registered_groups.extend(app.registered_groups)
    return dict(typer.main.get_group(holder).commands)


def generate() -> tuple[tuple[str, str, str], ...]:
    """COMMANDS as the modules say it now (imports every command module)."""
    loaded = {module: load(module) for module in GROUPS}
    rows = []
    for groups in (False, True):
        for module in GROUPS:
            for name, command in loaded[module].items():
                if hasattr(command, "commands") != groups:
                    continue
                if command.short_help or command.hidden or command.deprecated:
                    raise ValueError(f"{name}: the index lists no short_help, hidden or deprecated command")
                rows.append((name, module, (command.help or "").split("\n\n")[0]))
    return tuple(rows)


def _rewrite() -> None:
    """Write generate()'s table into this file, in place of the old one."""
    import re
    from pathlib import Path

    path = Path(__file__)
    head, rest = path.read_text(encoding="utf-8").split("COMMANDS: tuple[tuple[str, str, str], ...] = (\n", 1)
    tail = rest[re.search(r"^\)\n", rest, re.MULTILINE).end() :]  # type: ignore[union-attr]
    body = "".join(f"    {row!r},\n" for row in generate())
    path.write_text(f"{head}COMMANDS: tuple[tuple[str, str, str], ...] = (\n{body})\n{tail}", encoding="utf-8")


if __name__ == "__main__":
    _rewrite()
