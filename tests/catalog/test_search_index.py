"""The search index stays in step with the metadata (same transaction), hides what a viewer may not
know exists, rebuilds deterministically, and is built by its migration for homes that already exist."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from threshold.catalog.search import search
from threshold.governance.controls import set_visibility, tag, untag
from threshold.sharing.service import share
from threshold.store.db import Store
from threshold.store.models import Dataset
from threshold.store.search_index import rebuild


def _names(org: Any, text: str, viewer: Any = None) -> list[str]:
    return [r["name"] for r in search(org.platform, text, viewer=viewer).results]


def test_shares_tags_and_failed_writes_keep_the_index_in_step(any_org: Any) -> None:
    assert _names(any_org, "warranty claims") == []
    share(
        any_org.platform,
        pa.table({"warranty_claims": [3], "region": ["north"]}),
        domain="sales",
        name="after_sales",
        user=any_org.admin,
    )
    assert _names(any_org, "warranty claims") == ["sales.after_sales"]
    assert _names(any_org, "waranty") == ["sales.after_sales"]  # a word first seen in this share corrects typos
    tag(any_org.platform, any_org.admin, "sales.after_sales.region", "geo.region")
    assert _names(any_org, "geo.region") == ["sales.after_sales"]
    assert search(any_org.platform, "geo.region").results[0]["matched_tags"] == ["geo.region"]
    untag(any_org.platform, any_org.admin, "sales.after_sales.region", "geo.region")  # a bulk delete
    assert _names(any_org, "geo") == []
    # A write that fails rolls its index entry back with it.
    with pytest.raises(RuntimeError), any_org.platform.store.session() as s:
        d = s.scalars(sa.select(Dataset).where(Dataset.full_name == "sales.after_sales")).one()
        d.description = "returns handled by the refurbishment centre"
        s.flush()
        raise RuntimeError("killed half-way")
    assert _names(any_org, "refurbishment") == []
    with any_org.platform.store.session() as s:
        s.scalars(
            sa.select(Dataset).where(Dataset.full_name == "sales.after_sales")
        ).one().description = "returns handled by the refurbishment centre"
    assert _names(any_org, "refurbishment") == ["sales.after_sales"]


def test_a_change_outside_the_documents_leaves_the_index_alone(any_org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset's dates or a column's profile are in no document: changing them rewrites none; a title or a
    column's label is, and rewrites its dataset's."""
    from datetime import UTC, datetime

    from threshold.store import search_index
    from threshold.store.models import Column

    rewritten: list[list[int]] = []
    real = search_index.reindex
    monkeypatch.setattr(search_index, "reindex", lambda c, ids: rewritten.append(sorted(ids)) or real(c, ids))
    kpis = sa.select(Dataset).where(Dataset.full_name == "manufacturing.plant_kpis")
    with any_org.platform.store.session() as s:
        d = s.scalars(kpis).one()
        d.updated_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        s.scalars(sa.select(Column).where(Column.dataset_id == d.id)).first().null_fraction = 0.5  # type: ignore[union-attr]
        kpis_id = d.id
    assert rewritten == []
    with any_org.platform.store.session() as s:
        s.scalars(kpis).one().title = "Plant figures per shift"
    with any_org.platform.store.session() as s:
        s.scalars(sa.select(Column).where(Column.dataset_id == kpis_id, Column.name == "plant")).one().label = "Werk"
    assert rewritten == [[kpis_id], [kpis_id]]
    assert _names(any_org, "figures per shift") == ["manufacturing.plant_kpis"]
    assert _names(any_org, "werk") == ["manufacturing.plant_kpis"]


def test_restricted_datasets_never_appear_for_outsiders(any_org: Any) -> None:
    share(
        any_org.platform,
        pa.table({"salary_band": ["B3"], "bonus": [1200.0]}),
        domain="finance",
        name="payroll_bands",
        user=any_org.ben,
        description="Salary bands and bonuses",
    )
    set_visibility(any_org.platform, any_org.ben, "finance.payroll_bands", "restricted")
    for text in ("payroll_bands", "finance.payroll_bands", "salary", "salry band", "gehalt", "bonuses", "band"):
        assert _names(any_org, text, any_org.ben) == ["finance.payroll_bands"], text
        assert _names(any_org, text, any_org.carla) == [], text
        assert search(any_org.platform, text, viewer=any_org.carla).total == 0, text
    assert "finance.payroll_bands" not in _names(any_org, "", any_org.carla)
    # Opening it to everyone shows it at once: visibility is decided at query time, never copied into the index.
    set_visibility(any_org.platform, any_org.ben, "finance.payroll_bands", "open")
    assert _names(any_org, "salary", any_org.carla) == ["finance.payroll_bands"]


def _index(platform: Any) -> tuple[list[Any], list[Any]]:
    with platform.store.engine.connect() as c:
        docs = c.execute(sa.text("SELECT * FROM search_documents ORDER BY dataset_id")).all()
        terms = c.execute(sa.text("SELECT variant, term FROM search_terms ORDER BY variant, term")).all()
    return docs, terms


def test_rebuild_gives_the_same_index(any_org: Any) -> None:
    before = _index(any_org.platform)
    assert len(before[0]) == 1 and len(before[1]) > 50
    with any_org.platform.store.engine.begin() as c:
        assert rebuild(c) == 1
    assert _index(any_org.platform) == before
    assert _names(any_org, "scrap rates") == ["manufacturing.plant_kpis"]


def test_the_migration_builds_the_index_of_an_existing_home(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate("ops_dataset_maintenance")  # the revision before search_index
        with store.engine.begin() as c:
            c.execute(
                sa.text("INSERT INTO domains (name, title, description, created_at) VALUES ('ops', 'Ops', '', :at)"),
                {"at": "2026-01-01"},
            )
            c.execute(
                sa.text(
                    "INSERT INTO datasets (domain_id, name, full_name, title, description, purpose, stage, "
                    "allowed_purposes, snapshot_id, row_count, size_bytes, created_at, updated_at) "
                    "VALUES (1, 'boiler_readings', 'ops.boiler_readings', '', 'Boiler pressure readings', '', "
                    "'shared', '[]', 1, 0, 0, :at, :at)"
                ),
                {"at": "2026-01-01"},
            )
            c.execute(
                sa.text(
                    "INSERT INTO columns (dataset_id, position, name, label, type, field_id, nullable, top_values) "
                    "VALUES (1, 0, 'steam_temp', 'Steam Temp', 'DOUBLE', 1, true, '[]')"
                )
            )
        store.migrate()
        with store.engine.connect() as c:
            doc = c.execute(sa.text("SELECT names, columns, description FROM search_documents")).one()
        assert doc == (
            "ops.boiler_readings ops boiler readings Ops",
            "steam temp Steam Temp",
            "Boiler pressure readings",
        )
    finally:
        store.dispose()


def test_stored_vectors_migrate_down_and_up_and_keep_the_index(empty_database_url: str) -> None:
    """PostgreSQL keeps each field's `to_tsvector` in a stored column (search_stored_vectors); SQLite's FTS5
    tables are untouched. Down and up again, the documents and what they match stay the same."""
    store = Store(empty_database_url)
    try:
        store.migrate()
        with store.engine.begin() as c:
            c.execute(
                sa.text("INSERT INTO domains (name, title, description, created_at) VALUES ('ops', 'Ops', '', :at)"),
                {"at": "2026-01-01"},
            )
        with store.session() as s:
            s.add(
                Dataset(
                    domain_id=1,
                    name="boiler_readings",
                    full_name="ops.boiler_readings",
                    title="",
                    description="Boiler pressure readings",
                    purpose="",
                    stage="shared",
                    allowed_purposes=[],
                    row_count=0,
                    size_bytes=0,
                )
            )
        postgres = store.engine.dialect.name == "postgresql"

        def matches(word: str) -> list[int]:
            with store.engine.connect() as c:
                if postgres:
                    q = "SELECT dataset_id FROM search_documents WHERE description_tsv @@ to_tsquery('english', :w)"
                else:
                    q = "SELECT rowid FROM search_fts WHERE search_fts MATCH :w"
                    word = "{description} : " + word
                return list(c.execute(sa.text(q), {"w": word}).scalars())

        def vectors() -> list[str]:
            return [
                c["name"]
                for c in sa.inspect(store.engine).get_columns("search_documents")
                if c["name"].endswith("_tsv")
            ]

        assert matches("pressures") == [1]  # stemmed: "pressures" finds "pressure"
        assert vectors() == (["names_tsv", "columns_tsv", "tags_tsv", "description_tsv"] if postgres else [])
        store.downgrade("search_index")
        store.engine.dispose()
        assert vectors() == []
        if postgres:  # back on the expression indexes of search_index
            with store.engine.connect() as c:
                q = "SELECT dataset_id FROM search_documents WHERE to_tsvector('english', description) @@ 'pressur'"
                assert list(c.execute(sa.text(q)).scalars()) == [1]
        else:
            assert matches("pressures") == [1]
        store.migrate()
        store.engine.dispose()
        assert matches("pressures") == [1]
        assert len(vectors()) == (4 if postgres else 0)
    finally:
        store.dispose()
