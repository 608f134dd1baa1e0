"""Share a file or a frame into the lake: one Iceberg commit per share, metadata in one transaction.

Order of a share (why it cannot leave a half dataset):
1. read the source lazily and stream it into Parquet in a private staging folder;
2. commit the files to Iceberg as ONE snapshot (schema evolution in the same commit);
3. publish: record the snapshot, profile, tags and share in ONE metadata transaction.
Readers only ever read the *published* snapshot, so a crash between 2 and 3 is invisible, and the
next writer rolls the unpublished snapshot back (`Lake.reset_to`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from sqlalchemy import delete, select, update

from threshold import disk, events
from threshold.errors import Conflict, Denied, InvalidInput, NotFound, ThresholdError, TooLarge, TransientError
from threshold.events import DatasetPublished, DatasetPublishing, SchemaChanged, ShareStarting
from threshold.identity.service import Person
from threshold.lake import _quote_ident, _quote_str, duckdb_type, field_ids_option, scratch
from threshold.locks import dataset_lock
from threshold.names import check_name, name_from_file
from threshold.platform import Platform
from threshold.sharing import choices, early, readers, small, sources, statistics
from threshold.sharing.choices import apply_visibility, check_visibility
from threshold.sharing.detection import detect_column
from threshold.sharing.digest import SourceDigest
from threshold.sharing.digest import for_source as source_digest
from threshold.sharing.incoming import Incoming, incoming_columns
from threshold.sharing.profile import TableProfile, profile
from threshold.staging import clean_staging, own_folder
from threshold.store.models import Column, Dataset, Domain, Share, Tag, utcnow

Progress = Callable[[str, float | None], None]
Choices = Mapping[str, choices.ColumnChoice]
MODES = ("create", "append", "replace", "merge")
"""`merge` (with `merge_keys`): the incoming rows replace the rows with the same key, the others are added;
written as one snapshot that replaces the table's files (copy on write: the gateway reads no row deletes)."""
SCHEMA_NOTES = ("schema evolved", "schema replaced")
"""Notes `_plan_schema` writes when an append or replace changes the columns (announced as `schema_changed`)."""


@dataclass
class ShareResult:
    dataset: str
    mode: str
    snapshot_id: int
    rows_added: int
    rows_total: int
    columns: list[str]
    tags: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def share(
    platform: Platform,
    source: Any,
    *,
    domain: str,
    user: Person,
    name: str | None = None,
    mode: str = "create",
    sheet: str | None = None,
    description: str = "",
    purpose: str = "",
    evolve: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    progress: Progress | None = None,
    source_system: str | None = None,
    header_row: int | str | None = None,
    skip_rows: int = 0,
    cell_range: str | None = None,
    keep_totals: bool = False,
    columns: Mapping[str, Any] | None = None,
    visibility: str | None = None,
    collection: Mapping[str, Any] | None = None,
    merge_keys: Sequence[str] = (),
    source_table: str | None = None,
) -> list[ShareResult]:
    """Share `source` (a file path, or an Arrow/pandas/polars frame) as `domain.name`.

    Spreadsheets and CSV: `header_row` ("3", "3-4", 0 for none; default: detected), `skip_rows`, `cell_range`
    ("A5:H200", spreadsheets) and `keep_totals` say where the table is. `columns` renames and retypes
    columns by the name a preview proposed (`{"column_2": {"name": "energy_eur", "type": "number"}}`);
    `visibility` (open, on-request, restricted) is set, by the governance rule, on a dataset this creates.
    `collection` is the collection register's entry (legal basis, retention ...: `compliance.register.FIELDS`),
    recorded by compliance in the publishing transaction (which refuses the share when a required field is missing).
    `merge_keys` name the key columns of a `merge`; `source_table` names the database table (or query) a
    frame was read from (`system.table`: lineage records it upstream of the dataset).
    """
    started = time.perf_counter()
    report = progress or (lambda phase, fraction: None)
    try:
        if mode not in MODES:
            raise InvalidInput(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if (mode == "merge") != bool(merge_keys):
            raise InvalidInput("a merge needs its key columns, and only a merge takes them")
        check_name("domain", domain)
        check_may_share(platform, user, domain)
        check_visibility(user, domain, mode, visibility)
        options = sources.read_options(
            sheet, encoding, delimiter, header_row, skip_rows, cell_range, keep_totals, platform.settings.limits
        )
        chosen = choices.parse_columns(columns)
        # A spreadsheet's size check runs on its own thread beside the preparation below (the reader waits for it).
        options = readers.check_ahead(source, options)
    except BaseException:
        early.discard_untaken()  # refused before reading: the command's early conversion goes too
        raise
    try:
        events.publish(platform, ShareStarting(domain=domain, user=user, source_system=source_system))

        path: Path | None = None
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            check_file(platform, path)
            base_name = name or name_from_file(path)
        else:
            if not name:
                raise InvalidInput("name= is required when sharing an in-memory frame")
            base_name = name
        check_name("dataset", base_name)

        clean_staging(platform.settings)  # folders of shares and uploads whose process died
        digest = source_digest(path) if path else None  # started early when the command line named the file
        args = (platform, source, path, options, domain, base_name, user, mode, evolve, description, purpose)
        more = (
            source_system,
            chosen,
            visibility,
            digest,
            report,
            dict(collection or {}),
            tuple(merge_keys),
            source_table,
        )
        try:
            try:
                results = _share_source(*args, *more)
            except _EncodingFallback as fallback:
                # The CSV started with plain ASCII and was read as UTF-8; a later byte was not UTF-8. Nothing was
                # published (the failed attempt cleaned up after itself): share again in the encoding found there.
                options = dataclasses.replace(options, encoding=fallback.encoding)
                args = (platform, source, path, options, domain, base_name, user, mode, evolve, description, purpose)
                results = _share_source(*args, *more)
        finally:
            if digest is not None:
                digest.cancel()  # a failed share stops hashing; a finished one has its digest already
    finally:
        if options.ahead is not None:
            options.ahead.cancel()  # a share that failed before reading stops the check
        early.discard_untaken()  # refused before reading, or a frame: the command's early conversion goes too
    for r in results:
        r.seconds = round(time.perf_counter() - started, 3)
    return results


class _EncodingFallback(Exception):
    """A CSV guessed UTF-8 from its ASCII start holds a byte further on that is not UTF-8."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def _share_source(
    platform: Platform,
    source: Any,
    path: Path | None,
    options: readers.ReadOptions,
    domain: str,
    base_name: str,
    user: Person,
    mode: str,
    evolve: bool,
    description: str,
    purpose: str,
    source_system: str | None,
    chosen: Choices,
    visibility: str | None,
    digest: SourceDigest | None,
    report: Progress,
    collection: dict[str, Any],
    merge_keys: tuple[str, ...] = (),
    source_table: str | None = None,
) -> list[ShareResult]:
    """Read the source once and share each of its tables (one lock, commit and publication each)."""
    # A plain CSV read (and converting) since the command started, when it is exactly what this share reads.
    ahead = early.take(path, options, platform.settings) if path is not None else None
    if ahead is not None and ahead.staging is not None and ahead.con is not None:
        staging, con = ahead.staging, ahead.con
        close = con.close
        if digest is not None:
            digest.pause()  # the early COPY runs on every core: the hash takes only what it leaves idle
    else:
        staging = own_folder(platform.settings.staging_dir / uuid.uuid4().hex)
        published = _published_bytes(platform, source, path, f"{domain}.{base_name}") if mode == "append" else None
        if small.is_small(source, mode, published):
            con, close = small.cursor(platform.settings)  # no database of its own to open (`sharing.small`)
        else:
            con = share_connection(platform, staging)
            close = con.close
    try:
        report("reading", None)
        if ahead is not None:
            tables, source_info = ahead.tables, dict(ahead.source_info)
        else:
            tables, source_info = sources.read_source(con, staging, path if path is not None else source, options)
        if source_system is not None:
            source_info["source_system"] = source_system
        if source_table:
            source_info.update(source_name=source_table, source_format="database", source_table=source_table)
        if collection:
            source_info["collection"] = collection  # read by compliance when the dataset is published
        if chosen and len(tables) > 1:
            raise InvalidInput("column names and types are chosen for one sheet at a time: share the sheets one by one")
        results = []
        for src in tables:
            ds_name = sources.dataset_name(base_name, src, len(tables))
            with dataset_lock(platform, f"{domain}.{ds_name}"):  # one writer per dataset at a time
                results.append(
                    _share_table(
                        platform,
                        con,
                        staging,
                        src,
                        domain,
                        ds_name,
                        user,
                        mode,
                        evolve,
                        description,
                        purpose,
                        source_info,
                        digest,
                        path,
                        report,
                        chosen,
                        visibility,
                        guessed=options.encoding is None,
                        merge_keys=merge_keys,
                        ahead=ahead,
                    )
                )
        return results
    finally:
        if ahead is not None:
            early.release(ahead)  # a share that failed before its conversion interrupts the early one
        close()
        shutil.rmtree(staging, ignore_errors=True)


ONE_TABLE = ("csv", "parquet", "json")
"""File formats whose reader gives one table, the dataset the share is named after (a workbook gives one per sheet)."""


def _published_bytes(platform: Platform, source: Any, path: Path | None, ident: str) -> int | None:
    """The bytes of `ident`'s published files (its profile's `size_bytes`), when the source is one table of a
    small file or frame (`small.is_small`); else None."""
    if path is not None and readers.format_of(path) not in ONE_TABLE:
        return None
    if not small.is_small(source, "create"):
        return None  # a database of its own whatever the dataset holds: no need to ask
    with platform.store.session() as s:
        size = s.scalars(select(Dataset.size_bytes).where(Dataset.full_name == ident)).first()
    return int(size) if size is not None else None


def _share_table(
    platform: Platform,
    con: duckdb.DuckDBPyConnection,
    staging: Path,
    src: readers.SourceTable,
    domain: str,
    name: str,
    user: Person,
    mode: str,
    evolve: bool,
    description: str,
    purpose: str,
    source_info: dict[str, Any],
    digest: SourceDigest | None,
    path: Path | None,
    report: Progress,
    chosen: Choices,
    visibility: str | None,
    *,
    guessed: bool = False,
    merge_keys: tuple[str, ...] = (),
    ahead: early.Early | None = None,
) -> ShareResult:
    from threshold import cleanup

    lake = platform.lake
    ident = f"{domain}.{name}"
    # We hold the writer lock: whatever a dead writer left here (an unpublished commit, a table never
    # published) is rolled back, expired and its files removed before this share builds on it.
    swept = cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
    published, existing_id = swept.published, swept.dataset_id  # read by the sweep, under the same lock
    view = f"_src_{uuid.uuid4().hex[:8]}"
    src.relation.create_view(view)
    merged = 0
    if mode == "merge" and existing_id is not None:
        # Under the writer lock, from the published snapshot: the rows whose key did not arrive, then the new ones.
        view, merged = _merge_view(con, view, lake.plan(ident, published), merge_keys, ident)
        src = readers.SourceTable(con.sql(f"SELECT * FROM {view}"), notes=src.notes)
    incoming = incoming_columns(con, view, src, str(source_info["source_name"]), chosen)
    notes = [*src.notes, *incoming.notes]
    asked = mode
    if mode == "merge":
        notes.append(f"merged by {', '.join(merge_keys)}: {merged:,} rows kept from the published snapshot")
        mode = "replace" if existing_id is not None else "create"  # one snapshot that replaces the files
    if mode == "create" and existing_id is not None:
        raise Conflict(f"{ident} exists already; share with --mode append or --mode replace")
    if mode != "create" and existing_id is None:
        raise NotFound(f"{ident} does not exist yet; share it first without --mode {mode}")

    created = False
    own: list[Path] = []
    if existing_id is None:
        # Created in the commit that brings its first snapshot: a share that fails before leaves no table behind.
        table, tx = lake.creating(ident, _arrow_schema(con, incoming))
        created = True
    else:
        table = lake.reset_to(swept.table if swept.table is not None else lake.load(ident), published)
        tx = table.transaction()

    try:
        casts, plan_note = plan_schema(tx, table, incoming, mode, evolve, created)
        schema = tx.table_metadata.schema()
        select_sql = ", ".join(
            f"CAST({casts[n]} AS {duckdb_type(schema.find_field(n).field_type)}) AS {_quote_ident(n)}"
            if n in casts
            else f"CAST(NULL AS {duckdb_type(schema.find_field(n).field_type)}) AS {_quote_ident(n)}"
            for n in (f.name for f in schema.fields)
        )
        out = staging / f"{uuid.uuid4().hex}.parquet"
        field_ids = field_ids_option(schema.fields)
        report("converting", 0.0)
        if digest is not None:
            digest.pause()  # the conversion uses every core: the hash takes only what it leaves idle
        if ahead is not None and ahead.matches(src, select_sql, field_ids) and ahead.out is not None:
            out = ahead.out  # the very COPY below, started before the imports: wait for it
        elif ahead is not None:
            ahead.stop()  # planned otherwise (the same columns would have matched): convert here instead
            ahead = None
        rows = _copy(
            con,
            f"COPY (SELECT {select_sql} FROM {view}) TO {_quote_str(str(out))} "
            f"({early.COPY_OPTIONS}, FIELD_IDS {field_ids})",
            report,
            source_info,
            on_full=lambda: _disk_full(platform, staging, path.stat().st_size if path else 0),
            on_bad_text=lambda e: _check_guess(path if guessed else None, source_info, e),
            ahead=ahead,
        )
        if digest is not None:
            digest.resume()  # at normal priority beside commit and profiling, which leave a core free
        data_dir = lake.table_dir(ident) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        final = data_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{out.name}"
        own.append(final)
        _move_into_warehouse(platform, out, final)
        report("committing", None)
        properties = {
            "threshold.user": user.name,
            "threshold.mode": mode,
            "threshold.source": str(source_info["source_name"])[:200],
        }
        labels = dict(zip(incoming.names, incoming.labels, strict=True))
        statistics.withhold(tx, platform, con, final, labels, existing_id)  # no min/max of personal values
        snapshot_id = lake.commit(tx, table, [final], replace=(mode == "replace"), properties=properties)
        report("profiling", None)
        plan = lake.plan(ident, snapshot_id, table=table)  # the committed table (`Lake.commit`)
        prof = profile(con, plan, platform.settings.profile_sample_rows)
        detections = _detect(prof, plan.fields, incoming)
        sha256 = digest.result() if digest is not None else None
        report("publishing", None)
        # Guards (quality's blocking checks) judge the committed snapshot before it is published.
        publishing = DatasetPublishing(
            dataset=ident,
            snapshot_id=snapshot_id,
            user=user,
            mode=mode,
            source=path,
            source_name=str(source_info["source_name"]),
        )
        events.guard(
            platform,
            publishing,
            lambda: _publish(
                platform,
                ident,
                domain,
                name,
                user,
                mode,
                snapshot_id,
                _parent(table, snapshot_id),
                rows,
                prof,
                plan.fields,
                incoming,
                detections,
                description,
                purpose,
                source_info,
                sha256,
                path,
                [*notes, *plan_note],
                hold=visibility is not None and created,
            ),
        )
    except BaseException:
        # Nothing was published: undo the lake side so the catalog is exactly as it was, files included.
        try:
            cleanup.discard_failed(platform, ident, own)
        except Exception:
            pass  # the next writer or start-up sweeps it (the published snapshot is the truth)
        raise
    notes = [*notes, *plan_note]
    if visibility is not None:
        notes.append(apply_visibility(platform, user, ident, visibility))
    return ShareResult(
        dataset=ident,
        mode=asked,
        snapshot_id=snapshot_id,
        rows_added=rows,
        rows_total=prof.row_count,
        columns=[f.name for f in plan.fields],
        tags=[(c, d.tag) for c, ds in detections.items() for d in ds],
        notes=notes,
    )


def _merge_view(
    con: duckdb.DuckDBPyConnection, view: str, plan: Any, keys: tuple[str, ...], ident: str
) -> tuple[str, int]:
    """A view of `view`'s rows and the published rows whose key is not among them; and how many those are."""
    arriving = {str(r[0]) for r in con.sql(f"DESCRIBE SELECT * FROM {view}").fetchall()}
    stored = {f.name for f in plan.fields}
    for k in keys:
        if k not in arriving:
            raise InvalidInput(f"the key column {k!r} is not among the incoming columns")
        if k not in stored:
            raise InvalidInput(f"the key column {k!r} is not a column of {ident}")
    match = " AND ".join(f"i.{_quote_ident(k)} IS NOT DISTINCT FROM cur.{_quote_ident(k)}" for k in keys)
    kept = f"SELECT cur.* FROM ({plan.relation_sql()}) cur WHERE NOT EXISTS (SELECT 1 FROM {view} i WHERE {match})"
    out = f"_merged_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE TEMP TABLE {out}_kept AS {kept}")
    count = _one(con.sql(f"SELECT count(*) FROM {out}_kept").fetchall())[0]
    order = [f.name for f in plan.fields] + sorted(arriving - stored)  # the table's order, new columns after
    columns = ", ".join(_quote_ident(c) for c in order)
    con.execute(
        f"CREATE TEMP VIEW {out} AS SELECT {columns} FROM "
        f"(SELECT * FROM {view} UNION ALL BY NAME SELECT * FROM {out}_kept)"
    )
    return out, int(count)


def plan_schema(
    tx: Any, table: Table, incoming: Incoming, mode: str, evolve: bool, created: bool
) -> tuple[dict[str, str], list[str]]:
    """Fit the incoming columns to the table, evolving its schema inside `tx` when allowed.

    Returns {table column -> SQL of its value in the source} and notes. Columns of the table that the source lacks
    are written as NULL (only when allowed).
    """
    current: Schema = tx.table_metadata.schema()
    by_name = {f.name: f for f in current.fields}
    label_of = dict(zip(incoming.names, incoming.exprs, strict=True))
    type_of = dict(zip(incoming.names, incoming.types, strict=True))
    notes: list[str] = []
    if created:
        return label_of, notes

    if mode == "replace":
        new_iceberg = _iceberg_types(incoming)
        drop = [n for n in by_name if n not in type_of]
        changed = [n for n in type_of if n in by_name and duckdb_type(by_name[n].field_type) != type_of[n]]
        widen = [n for n in changed if _can_promote(by_name[n].field_type, new_iceberg[n])]
        recreate = [n for n in changed if n not in widen]
        add = [n for n in type_of if n not in by_name]
        if drop or recreate:
            with tx.update_schema(allow_incompatible_changes=True) as u:
                for n in drop + recreate:
                    u.delete_column(n)
        if widen or recreate or add:
            with tx.update_schema() as u:
                for n in widen:
                    u.update_column(n, field_type=new_iceberg[n])
                for n in recreate + add:
                    u.add_column(n, new_iceberg[n])
        order = incoming.names
        if [f.name for f in tx.table_metadata.schema().fields] != order:
            with tx.update_schema() as u:
                for n in reversed(order):
                    u.move_first(n)
        if drop or recreate or add:
            notes.append(
                "schema replaced: "
                + "; ".join(
                    part
                    for part in (
                        f"removed {', '.join(drop)}" if drop else "",
                        f"retyped {', '.join(recreate + widen)}" if recreate or widen else "",
                        f"added {', '.join(add)}" if add else "",
                    )
                    if part
                )
            )
        return label_of, notes

    # append
    new_cols = [n for n in incoming.names if n not in by_name]
    missing = [n for n in by_name if n not in type_of]
    problems = []
    promote: dict[str, Any] = {}
    new_iceberg = _iceberg_types(incoming)
    for n in incoming.names:
        if n not in by_name:
            continue
        have, got = by_name[n].field_type, new_iceberg[n]
        if have == got or _fits(got, have):
            continue
        if _can_promote(have, got):
            if evolve:
                promote[n] = got
            else:
                # Only a type Iceberg can widen gets the hint: --evolve cannot help the others.
                problems.append(
                    f"{n} is {duckdb_type(got)} in the file but {duckdb_type(have)} in the dataset"
                    " (use --evolve to widen)"
                )
        else:
            problems.append(f"{n} is {duckdb_type(got)} in the file but {duckdb_type(have)} in the dataset")
    if problems:
        raise Conflict("the file does not fit the dataset: " + "; ".join(problems))
    if (new_cols or missing) and not evolve:
        parts = []
        if new_cols:
            parts.append(f"new columns {', '.join(new_cols)}")
        if missing:
            parts.append(f"missing columns {', '.join(missing)}")
        raise Conflict(
            f"the file does not fit the dataset: {'; '.join(parts)}; "
            "share with --evolve to add new columns (missing ones are then left empty)"
        )
    if new_cols or promote:
        with tx.update_schema() as u:
            for n, t in promote.items():
                u.update_column(n, field_type=t)
            for n in new_cols:
                u.add_column(n, new_iceberg[n])
        notes.append(
            "schema evolved: " + ", ".join([*(f"added {n}" for n in new_cols), *(f"widened {n}" for n in promote)])
        )
    if missing:
        notes.append(f"left empty: {', '.join(missing)}")
    return label_of, notes


def _iceberg_types(incoming: Incoming) -> dict[str, Any]:
    """Iceberg types of the incoming lake types, through an empty Arrow schema."""
    cols = ", ".join(
        f"CAST(NULL AS {t}) AS {_quote_ident(n)}" for n, t in zip(incoming.names, incoming.types, strict=True)
    )
    with scratch() as con:
        arrow = con.sql(f"SELECT {cols} LIMIT 0").to_arrow_table().schema
    schema: Schema = Catalog._convert_schema_if_needed(arrow)  # fresh ids, as create_table assigns them
    return {f.name: f.field_type for f in schema.fields}


def _fits(got: Any, have: Any) -> bool:
    """Values of type `got` can be written into a column of type `have` without loss."""
    from pyiceberg.types import DecimalType, DoubleType, FloatType, IntegerType, LongType, StringType

    if isinstance(have, StringType):
        return True
    if isinstance(have, LongType) and isinstance(got, IntegerType):
        return True
    if isinstance(have, DoubleType) and isinstance(got, (FloatType, IntegerType)):
        return True
    if isinstance(have, DecimalType) and isinstance(got, DecimalType):
        return got.scale == have.scale and got.precision <= have.precision
    if isinstance(have, DecimalType) and isinstance(got, (IntegerType, LongType)):
        return have.precision - have.scale >= (10 if isinstance(got, IntegerType) else 19)
    return False


def _can_promote(have: Any, got: Any) -> bool:
    """Iceberg allows the column type `have` to be widened to `got` (int->long, float->double, wider decimal)."""
    from pyiceberg.types import DecimalType, DoubleType, FloatType, IntegerType, LongType

    if isinstance(have, IntegerType) and isinstance(got, LongType):
        return True
    if isinstance(have, FloatType) and isinstance(got, DoubleType):
        return True
    if isinstance(have, DecimalType) and isinstance(got, DecimalType):
        return have.scale == got.scale and got.precision > have.precision
    return False


def _arrow_schema(con: duckdb.DuckDBPyConnection, incoming: Incoming) -> pa.Schema:
    """The Arrow schema of the incoming columns cast to their lake types: each column's type is its cast's, so
    casting NULL says it without binding the source's view (which a CSV's reader plans again)."""
    cols = ", ".join(
        f"CAST(NULL AS {t}) AS {_quote_ident(n)}" for n, t in zip(incoming.names, incoming.types, strict=True)
    )
    return con.sql(f"SELECT {cols} LIMIT 0").to_arrow_table().schema


def _copy(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    report: Progress,
    source_info: dict[str, Any],
    *,
    on_full: Callable[[], ThresholdError],
    on_bad_text: Callable[[duckdb.Error], None] = lambda e: None,
    ahead: early.Early | None = None,
) -> int:
    """Run the conversion (or wait for the same one started `ahead`), reporting DuckDB's own progress; errors
    become one clear line."""
    if ahead is not None:
        try:
            rows = ahead.wait(lambda fraction: report("converting", fraction))
        except duckdb.Error as e:
            _conversion_error(e, source_info, on_full, on_bad_text)
        report("converting", 1.0)
        return rows
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.25):
            try:
                pct = con.query_progress()
            except Exception:
                return
            if pct is not None and pct >= 0:
                report("converting", min(pct / 100.0, 1.0))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        row = _one(con.execute(sql).fetchall())
    except duckdb.Error as e:
        _conversion_error(e, source_info, on_full, on_bad_text)
    finally:
        done.set()
        poller.join()
    report("converting", 1.0)
    return int(row[0]) if row else 0


def _conversion_error(
    e: duckdb.Error,
    source_info: dict[str, Any],
    on_full: Callable[[], ThresholdError],
    on_bad_text: Callable[[duckdb.Error], None],
) -> NoReturn:
    """The conversion failed: one clear line (or the encoding fall-back `on_bad_text` raises)."""
    if disk.is_full(e):
        raise on_full() from e
    on_bad_text(e)
    name = str(source_info["source_name"])
    if source_info.get("source_format") == "csv":
        from threshold.sharing.readers.csv import read_error

        raise read_error(name, e) from e
    if source_info.get("source_format") == "json":
        from threshold.sharing.readers.json import depth_error

        if too_deep := depth_error(name, e):
            raise too_deep from e
    raise InvalidInput(f"cannot share {name}: {_duckdb_reason(e)}") from e


def _check_guess(path: Path | None, source_info: dict[str, Any], e: duckdb.Error) -> None:
    """DuckDB met a byte that is not UTF-8 in a CSV whose encoding was detected (`path`; None when the person
    chose it): find the file's encoding past the first megabyte (`_EncodingFallback`); when that is UTF-8
    after all, or the file did not start with plain ASCII, the error stands."""
    if path is None or source_info.get("source_format") != "csv" or "Invalid unicode" not in str(e):
        return
    from threshold.sharing.readers.csv import encoding_past_head

    if found := encoding_past_head(path):
        raise _EncodingFallback(found) from e


def _disk_full(platform: Platform, staging: Path, need: int) -> ThresholdError:
    """A full disk while converting: name the warehouse when the staging folder shares its disk."""
    warehouse = platform.settings.warehouse_dir
    if _same_disk(staging, warehouse):
        return disk.full_error(warehouse, "the warehouse (and the home's staging folder)", need=need)
    return disk.full_error(staging.parent, "the home's staging folder", need=need)


def _same_disk(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return True


def _move_into_warehouse(platform: Platform, out: Path, final: Path) -> None:
    """Move a converted file into its table's folder (a rename on one disk, a copy across disks); a copy
    that fails leaves nothing behind and says which disk is full."""
    try:
        shutil.move(str(out), final)
    except OSError as e:
        final.unlink(missing_ok=True)
        if disk.is_full(e):
            raise disk.full_error(platform.settings.warehouse_dir, "the warehouse", need=_size(out)) from e
        raise


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _one(rows: list[Any]) -> Any:
    """The single row of a fully fetched result (DuckDB 2 wants every result consumed)."""
    return rows[0] if rows else None


def _duckdb_reason(e: Exception) -> str:
    text = str(e).strip().split("\n")[0]
    for prefix in ("Conversion Error: ", "Invalid Input Error: ", "Binder Error: ", "IO Error: "):
        text = text.replace(prefix, "")
    return text[:300]


def _detect(prof: TableProfile, fields: Any, incoming: Incoming) -> dict[str, list[Any]]:
    label_of = dict(zip(incoming.names, incoming.labels, strict=True))
    out: dict[str, list[Any]] = {}
    for f in fields:
        p = prof.columns.get(f.name)
        if p is None:
            continue
        found = detect_column(label_of.get(f.name, f.name), p.sample, f.duckdb_type)
        if found:
            out[f.name] = found
    return out


def _parent(table: Table, snapshot_id: int) -> int | None:
    """The snapshot `snapshot_id` was built on."""
    built_on = table.snapshot_by_id(snapshot_id)
    return built_on.parent_snapshot_id if built_on else None


def _publish(
    platform: Platform,
    ident: str,
    domain: str,
    name: str,
    user: Person,
    mode: str,
    snapshot_id: int,
    parent: int | None,
    rows_added: int,
    prof: TableProfile,
    fields: Any,
    incoming: Incoming,
    detections: dict[str, list[Any]],
    description: str,
    purpose: str,
    source_info: dict[str, Any],
    sha256: str | None,
    path: Path | None,
    notes: list[str],
    hold: bool = False,
) -> None:
    """Record the published snapshot, built on the snapshot `parent`. `hold`: a new dataset starts restricted (seen
    by its own domain only) until governance sets the visibility its person chose, so it is never wider than
    chosen, even briefly."""
    label_of = dict(zip(incoming.names, incoming.labels, strict=True))
    with platform.store.session() as s:
        if parent is not None:
            # Compare-and-set: publish only over the snapshot this one was built on. When another share
            # published in between, its rows are not in ours: fail rather than silently drop them.
            moved = s.execute(
                update(Dataset)
                .where(Dataset.full_name == ident, Dataset.snapshot_id == parent)
                .values(snapshot_id=snapshot_id)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise TransientError(f"{ident} was changed by another share at the same time; share again")
        ds = s.scalars(select(Dataset).where(Dataset.full_name == ident)).one_or_none()
        # A dataset created here has no columns or tags yet (their rows go with a deleted dataset's, by foreign
        # key): nothing to delete or keep, only the session's changes to write where the deletes wrote them.
        new = ds is None
        if ds is None:
            dom = s.scalars(select(Domain).where(Domain.name == domain)).one()
            ds = Dataset(
                domain_id=dom.id,
                name=name,
                full_name=ident,
                title=name.replace("_", " ").capitalize(),
                created_by_id=user.id,
                visibility="restricted" if hold else None,
            )
            s.add(ds)  # inserted with the snapshot's figures below, in one statement
        old_labels = {} if new else {c.name: c.label for c in ds.columns}
        if description:
            ds.description = description
        if purpose:
            ds.purpose = purpose
        ds.snapshot_id = snapshot_id
        ds.row_count = prof.row_count
        ds.size_bytes = prof.size_bytes
        ds.updated_at = utcnow()
        if new:
            s.flush()
        else:
            s.execute(delete(Column).where(Column.dataset_id == ds.id))
        for i, f in enumerate(fields):
            p = prof.columns[f.name]
            s.add(
                Column(
                    dataset_id=ds.id,
                    position=i,
                    name=f.name,
                    label=label_of.get(f.name) or old_labels.get(f.name) or f.name,
                    type=f.duckdb_type,
                    field_id=f.field_id,
                    null_fraction=p.null_fraction,
                    distinct_estimate=p.distinct_estimate,
                    min_value=p.min_value,
                    max_value=p.max_value,
                    top_values=p.top_values,
                )
            )
        manual: set[tuple[str | None, str]] = set()
        if new:
            s.flush()
        else:
            s.execute(delete(Tag).where(Tag.dataset_id == ds.id, Tag.origin == "detected"))
            manual = {(t.column_name, t.tag) for t in s.scalars(select(Tag).where(Tag.dataset_id == ds.id))}
        for column, found in detections.items():
            for d in found:
                if (column, d.tag) not in manual:
                    s.add(
                        Tag(
                            dataset_id=ds.id,
                            column_name=column,
                            tag=d.tag,
                            origin="detected",
                            confidence=d.confidence,
                            reason=d.reason,
                        )
                    )
        # Subscribers (lineage) write in this transaction: their rows commit or roll back with the share.
        events.publish(
            platform,
            DatasetPublished(
                session=s,
                dataset=ds,
                user=user,
                mode=mode,
                snapshot_id=snapshot_id,
                notes=notes,
                source_info=source_info | {"sha256": sha256},
            ),
        )
        changes = [n for n in notes if n.startswith(SCHEMA_NOTES)]
        if changes and mode != "create":
            events.publish(platform, SchemaChanged(session=s, dataset=ds, user=user, changes=changes))
        s.flush()
        column_tags: dict[str, list[str]] = {}
        column_scopes: dict[str, list[list[Any]]] = {}
        for t in s.scalars(select(Tag).where(Tag.dataset_id == ds.id, Tag.column_name.is_not(None))):
            column_tags.setdefault(str(t.column_name), []).append(t.tag)
            if t.scope_domain_id is not None:  # values from elsewhere: time travel judges them by their origin
                column_scopes.setdefault(str(t.column_name), []).append(
                    [t.tag, t.scope_domain_id, t.scope_dataset_id, t.scope_grant_id]
                )
        s.add(
            Share(
                column_tags={c: sorted(set(v)) for c, v in column_tags.items()},
                column_scopes=column_scopes,
                dataset_id=ds.id,
                snapshot_id=snapshot_id,
                mode=mode,
                user_id=user.id,
                rows_added=rows_added,
                rows_total=prof.row_count,
                source_name=str(source_info["source_name"])[:500],
                source_format=str(source_info["source_format"]),
                source_size=path.stat().st_size if path else None,
                source_sha256=sha256,
                notes=notes,
            )
        )


def check_may_share(platform: Platform, user: Person, domain: str) -> None:
    with platform.store.session() as s:
        if s.scalars(select(Domain.id).where(Domain.name == domain)).first() is None:
            raise NotFound(f"no domain {domain!r}; add it with `threshold domain add {domain}`")
    from threshold.access import DomainRef, may

    if not may(user, "domain.member", DomainRef(domain)):
        raise Denied(f"{user.name} is not a member of domain {domain!r}, so cannot share into it (rule: share.member)")


def check_file(platform: Platform, path: Path) -> None:
    if not path.exists():
        raise NotFound(f"no file {path.name!r} at {path.parent}")
    if not path.is_file():
        raise InvalidInput(f"{path.name} is not a file")
    size = path.stat().st_size
    limit = platform.settings.limits.upload_bytes
    if size > limit:
        raise TooLarge(
            f"{path.name} is {_human(size)}, over the share limit of {_human(limit)} "
            f"({platform.settings.limits.setting('upload_bytes')})"
        )
    if size == 0:
        raise InvalidInput(f"{path.name} is empty")
    readers.format_of(path)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def share_connection(platform: Platform, staging: Path) -> duckdb.DuckDBPyConnection:
    """The share side's own DuckDB: it may read the one source file; users' SQL never runs here."""
    return early.connect(platform.settings, staging)


__all__ = ["share", "ShareResult", "MODES", "ThresholdError"]
