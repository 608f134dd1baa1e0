"""A share preview: what a file will become, before anything is published.

`preview` reads the source exactly as `share` will (same readers, same layout finder, same column
choices) and returns the first rows as they will be stored, the detected types and sensitive-data
tags, what is left out and why, the header rows and sheet, and what would stop the share as chosen
(the dataset exists, the file does not fit it, a visibility the person may not set). It writes
nothing to the lake or the catalog.

An upload waits between preview and publish in a private, expiring folder (`staged`); the person's
choices are kept with it, so each step sends only what changed. `publish` shares the upload with
those choices and removes it; `cancel` removes it.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
from sqlalchemy import select

from threshold.access import VISIBILITIES, DomainRef, may
from threshold.errors import Conflict, Denied, InvalidInput
from threshold.identity.service import Person
from threshold.lake import _quote_ident
from threshold.names import check_name, name_from_file
from threshold.platform import Platform
from threshold.sharing import choices as column_choices
from threshold.sharing import readers, staged
from threshold.sharing.choices import check_visibility
from threshold.sharing.detection import detect_column
from threshold.sharing.service import (
    MODES,
    Progress,
    ShareResult,
    check_file,
    check_may_share,
    incoming_columns,
    plan_schema,
    share,
    share_connection,
)
from threshold.sharing.sources import dataset_name, read_options, read_source
from threshold.staging import own_folder
from threshold.store.models import Dataset, Domain

SAMPLE_ROWS = 1000
"""Rows whose values the sensitive-data detectors look at in a preview."""
LAYOUT_CHOICES = ("sheet", "header_row", "skip_rows", "cell_range", "keep_totals", "encoding", "delimiter")
"""Choices that change which columns a table has."""


@dataclass(frozen=True)
class ShareChoices:
    """Everything a person decides about a share; the defaults are what `share` does unasked."""

    domain: str | None = None
    name: str | None = None
    mode: str = "create"
    sheet: str | None = None
    header_row: str | None = None
    skip_rows: int = 0
    cell_range: str | None = None
    keep_totals: bool = False
    columns: dict[str, dict[str, str | None]] = field(default_factory=dict)
    description: str = ""
    purpose: str = ""
    visibility: str | None = None
    evolve: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    collection: dict[str, Any] = field(default_factory=dict)
    """The collection register's fields given with the share (legal basis, retention ...); "" clears one."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShareChoices:
        known = {f.name for f in fields(cls)}
        return cls().updated(**{k: v for k, v in data.items() if k in known})

    def updated(self, **changes: Any) -> ShareChoices:
        """These choices with `changes` applied; None leaves a choice as it was, "" clears a text one."""
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key == "header_row":
                value = str(value).strip() or None
            elif key in ("name", "sheet", "cell_range", "visibility", "encoding", "delimiter", "domain"):
                value = str(value).strip() or None
            elif key == "skip_rows":
                value = _whole(value, "skip rows")
            elif key == "columns":
                value = {str(k): _choice(v) for k, v in dict(value).items()}
            elif key == "collection":
                value = {str(k): v for k, v in (dict(self.collection) | dict(value)).items() if v not in (None, "")}
            clean[key] = value
        return replace(self, **clean)

    def changed(self, **changes: Any) -> ShareChoices:
        """`updated`, and column choices dropped when the table is read differently (another sheet, header row,
        rows skipped, cells or totals) and no new ones are given: they name the columns of the old reading."""
        new = self.updated(**changes)
        if changes.get("columns") is None and any(getattr(new, k) != getattr(self, k) for k in LAYOUT_CHOICES):
            new = replace(new, columns={})
        return new

    def share_options(self) -> dict[str, Any]:
        """Keyword arguments of `share` (all but the domain)."""
        out = asdict(self)
        del out["domain"]
        return out


@dataclass
class TagProposal:
    tag: str
    confidence: float
    reason: str


@dataclass
class ColumnProposal:
    key: str
    """The name proposed before the person's changes: column choices are keyed by it."""
    name: str
    label: str
    type: str
    """As it will be stored (DuckDB spelling), after the person's choice."""
    detected_type: str
    tags: list[TagProposal]


@dataclass
class SkippedRows:
    rows: list[int]
    reason: str
    detail: str
    text: str
    """One line for a person: "left out row 9, a total: 'Total', the sum of the rows above"."""


@dataclass
class TableProposal:
    dataset: str
    sheet: str | None
    header_rows: list[int]
    skipped: list[SkippedRows]
    columns: list[ColumnProposal]
    rows: list[list[Any]]
    """The first rows as they will be stored."""
    row_count: int | None
    """Rows that will be shared, when known without reading the whole file."""
    exists: bool
    notes: list[str]
    problems: list[str]
    """What stops publishing as chosen (exists already, does not fit the dataset, a value that is no number)."""


@dataclass
class SharePreview:
    source_name: str
    source_format: str
    size: int | None
    choices: ShareChoices
    sheets: list[str]
    """Every sheet of a workbook (empty for other formats), to choose from."""
    tables: list[TableProposal]
    visibilities: list[str]
    default_visibility: str | None
    """What the domain gives a new dataset unless the person chooses."""
    may_set_visibility: bool
    type_menu: list[tuple[str, str]]
    problems: list[str]
    """Problems of the share as a whole (a visibility the person may not set, a bad name)."""
    preview_id: str | None = None
    expires_at: datetime | None = None

    @property
    def ready(self) -> bool:
        return not self.problems and not any(t.problems for t in self.tables)


def preview(
    platform: Platform,
    source: Any,
    *,
    user: Person,
    choices: ShareChoices | None = None,
    rows: int | None = None,
    preview_id: str | None = None,
    expires_at: datetime | None = None,
) -> SharePreview:
    """What sharing `source` (a path or a frame) with `choices` would store; nothing is written."""
    choices = choices or ShareChoices()
    domain = choices.domain or user.domain
    if not domain:
        raise InvalidInput("choose the domain the data belongs to")
    choices = replace(choices, domain=domain)
    if choices.mode not in MODES:
        raise InvalidInput(f"unknown mode {choices.mode!r}; use one of {', '.join(MODES)}")
    check_name("domain", domain)
    check_may_share(platform, user, domain)
    options = read_options(
        choices.sheet,
        choices.encoding,
        choices.delimiter,
        choices.header_row,
        choices.skip_rows,
        choices.cell_range,
        choices.keep_totals,
        platform.settings.limits,
    )
    chosen = column_choices.parse_columns(choices.columns)
    problems: list[str] = []
    path = Path(source) if isinstance(source, (str, Path)) else None
    if path is not None:
        check_file(platform, path)
        base_name = choices.name or name_from_file(path)
    elif choices.name:
        base_name = choices.name
    else:
        raise InvalidInput("name= is required when sharing an in-memory frame")
    try:
        check_name("dataset", base_name)
    except InvalidInput as e:
        problems.append(str(e))
        base_name = name_from_file(path) if path is not None else "dataset"
    may_set = _may_set_visibility(user, domain)
    try:
        check_visibility(user, domain, choices.mode, choices.visibility)
    except (InvalidInput, Denied) as e:
        problems.append(str(e))

    work = own_folder(platform.settings.staging_dir / uuid.uuid4().hex)  # a share's clean-up leaves it alone
    con = share_connection(platform, work)
    try:
        tables, info = read_source(con, work, path if path is not None else source, options)
        if chosen and len(tables) > 1:
            raise InvalidInput("column names and types are chosen for one sheet at a time: share the sheets one by one")
        limit = rows or platform.settings.preview_rows
        proposals = [
            _table(
                platform,
                con,
                src,
                f"{domain}.{dataset_name(base_name, src, len(tables))}",
                info,
                choices,
                chosen,
                limit,
            )
            for src in tables
        ]
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)

    return SharePreview(
        source_name=str(info["source_name"]),
        source_format=str(info["source_format"]),
        size=path.stat().st_size if path is not None else None,
        choices=choices,
        sheets=_sheets(path) if path is not None and info["source_format"] == "excel" else [],
        tables=proposals,
        visibilities=list(VISIBILITIES),
        default_visibility=_default_visibility(platform, domain),
        may_set_visibility=may_set,
        type_menu=list(column_choices.TYPE_MENU),
        problems=problems,
        preview_id=preview_id,
        expires_at=expires_at,
    )


def preview_upload(
    platform: Platform, user: Person, filename: str | None, stream: BinaryIO, choices: ShareChoices
) -> SharePreview:
    """Keep an upload for `user` and preview it; an upload that cannot be read is not kept."""
    held = staged.stage(platform, user, filename, stream)
    try:
        return _preview_held(platform, user, held, choices)
    except BaseException:
        staged.discard(platform, user, held.token)
        raise


def preview_staged(platform: Platform, user: Person, preview_id: str, **changes: Any) -> SharePreview:
    """Preview a kept upload again, with `changes` to the choices kept with it."""
    held = staged.find(platform, user, preview_id)
    choices = ShareChoices.from_dict(held.choices).changed(**changes)
    return _preview_held(platform, user, held, choices)


def publish(
    platform: Platform, user: Person, preview_id: str, *, progress: Progress | None = None, **changes: Any
) -> list[ShareResult]:
    """Share a kept upload with the choices kept with it and `changes`; the upload is removed once shared.

    A refused share leaves the upload and its choices as they were, to be corrected and published again."""
    with staged.claim(platform, user, preview_id) as held:
        choices = ShareChoices.from_dict(held.choices).changed(**changes)
        domain = choices.domain or user.domain
        if not domain:
            raise InvalidInput("choose the domain the data belongs to")
        return share(platform, held.file, domain=domain, user=user, progress=progress, **choices.share_options())


def cancel(platform: Platform, user: Person, preview_id: str) -> None:
    staged.discard(platform, user, preview_id)


def _preview_held(platform: Platform, user: Person, held: staged.Staged, choices: ShareChoices) -> SharePreview:
    result = preview(platform, held.file, user=user, choices=choices, preview_id=held.token, expires_at=held.expires_at)
    staged.remember(platform, user, held.token, asdict(result.choices))
    return result


def _table(
    platform: Platform,
    con: duckdb.DuckDBPyConnection,
    src: readers.SourceTable,
    ident: str,
    info: dict[str, Any],
    choices: ShareChoices,
    chosen: dict[str, column_choices.ColumnChoice],
    limit: int,
) -> TableProposal:
    view = f"_src_{uuid.uuid4().hex[:8]}"
    src.relation.create_view(view)
    plain = incoming_columns(con, view, src, str(info["source_name"]), {})
    incoming = incoming_columns(con, view, src, str(info["source_name"]), chosen) if chosen else plain
    problems: list[str] = []
    stored = ", ".join(
        f"CAST({x} AS {t}) AS {_quote_ident(n)}"
        for x, t, n in zip(incoming.exprs, incoming.types, incoming.names, strict=True)
    )
    try:
        first = con.sql(f"SELECT {stored} FROM {view} LIMIT {int(limit)}").fetchall()
    except duckdb.Error as error:  # a chosen type that a value does not fit: say so, show the rows as detected
        problems.append(_reason(error))
        shown = ", ".join(f"CAST({x} AS {t})" for x, t in zip(plain.exprs, plain.types, strict=True))
        first = con.sql(f"SELECT {shown} FROM {view} LIMIT {int(limit)}").fetchall()
    sample = con.sql(f"SELECT {', '.join(plain.exprs)} FROM {view} LIMIT {SAMPLE_ROWS}").fetchall()
    columns = []
    for i, key in enumerate(plain.names):
        values = [row[i] for row in sample if row[i] is not None]
        found = detect_column(plain.labels[i], values, plain.types[i])
        columns.append(
            ColumnProposal(
                key=key,
                name=incoming.names[i],
                label=incoming.labels[i],
                type=incoming.types[i],
                detected_type=plain.types[i],
                tags=[TagProposal(d.tag, d.confidence, d.reason) for d in found],
            )
        )
    exists, fit = _fit(platform, ident, incoming, choices)
    problems.extend(fit)
    return TableProposal(
        dataset=ident,
        sheet=src.sheet,
        header_rows=list(src.header_rows),
        skipped=[
            SkippedRows(
                list(s.rows), s.reason, s.detail, s.describe("line" if info["source_format"] == "csv" else "row")
            )
            for s in src.skipped
        ],
        columns=columns,
        rows=[list(r) for r in first],
        row_count=src.row_count,
        exists=exists,
        notes=[*src.notes, *incoming.notes],
        problems=problems,
    )


def _fit(platform: Platform, ident: str, incoming: Any, choices: ShareChoices) -> tuple[bool, list[str]]:
    """Whether the dataset exists, and what would stop the share in its mode."""
    with platform.store.session() as s:
        exists = s.scalars(select(Dataset.id).where(Dataset.full_name == ident)).first() is not None
    if choices.mode == "create":
        return exists, [f"{ident} exists already: append or replace it, or choose another name"] if exists else []
    if not exists:
        return exists, [f"{ident} does not exist yet: create it first"]
    table = platform.lake.load(ident)
    try:  # the schema plan on a transaction that is never committed
        plan_schema(table.transaction(), table, incoming, choices.mode, choices.evolve, created=False)
    except Conflict as e:
        return exists, [str(e)]
    return exists, []


def _sheets(path: Path) -> list[str]:
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

    try:
        with path.open("rb") as f:
            workbook = CalamineWorkbook.from_filelike(f)
            return [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    except CalamineError:
        return []


def _may_set_visibility(user: Person, domain: str) -> bool:
    return bool(may(user, "dataset.manage", DomainRef(domain)))


def _default_visibility(platform: Platform, domain: str) -> str | None:
    with platform.store.session() as s:
        return s.scalars(select(Domain.default_visibility).where(Domain.name == domain)).first()


def _reason(error: Exception) -> str:
    text = str(error).strip().split("\n")[0]
    for prefix in ("Conversion Error: ", "Invalid Input Error: ", "Binder Error: "):
        text = text.replace(prefix, "")
    return text[:300]


def _choice(value: Any) -> dict[str, str | None]:
    if isinstance(value, column_choices.ColumnChoice):
        return {"name": value.name, "type": value.type}
    if isinstance(value, dict):
        return {"name": value.get("name") or None, "type": value.get("type") or None}
    raise InvalidInput("a column choice is a name and/or a type, e.g. {'name': 'energy_eur', 'type': 'number'}")


def _whole(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number, 0 or more") from None
    if number < 0:
        raise InvalidInput(f"{what} must be a whole number, 0 or more")
    return number
