"""Saved insights in the full-text search (titles and narratives, analysed like datasets' documents), on
SQLite (FTS5) and PostgreSQL (stored tsvectors): stems, typos and narrative words find them, each result
says why, and an insight on data the reader may not know exists is never found."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from threshold.governance.controls import set_visibility
from threshold.insights import search as insight_search
from threshold.insights import service

KPIS = "manufacturing.plant_kpis"
SCRAP_SQL = "SELECT plant, scrap_rate FROM manufacturing.plant_kpis ORDER BY plant"


def _found(p: Any, person: Any, text: str) -> dict[str, str | None]:
    return {c.title: c.matched for c in service.listing(p, person, search=text).items}


def test_titles_and_narratives_are_found_by_stem_typo_and_word(any_org: Any) -> None:
    p = any_org.platform
    service.save(
        p,
        any_org.anna,
        title="Scrap rates by plant",
        sql=SCRAP_SQL,
        narrative="Lyon doubled its scrap after the furnace change.",
    )
    service.save(p, any_org.anna, title="Energy per plant", sql=SCRAP_SQL)
    assert _found(p, any_org.ben, "scarp") == {"Scrap rates by plant": "title “scrap” (for “scarp”)"}
    assert _found(p, any_org.ben, "scrap rate") == {"Scrap rates by plant": "title “scrap”; title “rate”"}
    assert _found(p, any_org.ben, "furnaces") == {"Scrap rates by plant": "narrative “furnaces”"}
    # No insight has both words: those with half of them, as the catalog does, each saying which.
    assert _found(p, any_org.ben, "furnace energy") == {
        "Scrap rates by plant": "narrative “furnace”",
        "Energy per plant": "title “energy”",
    }
    assert _found(p, any_org.ben, "furnace lyon") == {"Scrap rates by plant": "narrative “furnace”; narrative “lyon”"}
    # Datasets, purpose and owner still match by their text, and say so.
    assert _found(p, any_org.ben, "manufacturing") == {
        "Scrap rates by plant": "dataset “manufacturing”",
        "Energy per plant": "dataset “manufacturing”",
    }


def test_a_new_version_and_archiving_keep_the_index_in_step(any_org: Any) -> None:
    p = any_org.platform
    saved = service.save(p, any_org.anna, title="Scrap by shift", sql=SCRAP_SQL)
    service.update(p, any_org.anna, saved.id, title="Kiln output by shift", note="clearer")
    assert _found(p, any_org.anna, "kiln") == {"Kiln output by shift": "title “kiln”"}
    assert _found(p, any_org.anna, "scrap") == {}
    service.archive(p, any_org.anna, saved.id)
    with p.store.reader() as s:
        assert insight_search.found(s, "kiln") == {}
        assert s.execute(sa.text("SELECT count(*) FROM insight_search_documents")).scalar() == 0


def test_an_insight_on_a_restricted_dataset_is_never_found_by_an_outsider(any_org: Any) -> None:
    p = any_org.platform
    service.save(p, any_org.anna, title="Scrap by plant", sql=SCRAP_SQL, narrative="furnace trouble")
    set_visibility(p, any_org.anna, KPIS, "restricted")
    for text in ("scrap", "scarp", "furnace", "plant"):
        listed = service.listing(p, any_org.ben, search=text)
        assert (listed.total, listed.items) == (0, [])
    assert _found(p, any_org.anna, "scarp") == {"Scrap by plant": "title “scrap” (for “scarp”)"}


def test_the_migration_indexes_the_insights_a_home_already_has(any_org: Any) -> None:
    p = any_org.platform
    service.save(p, any_org.anna, title="Scrap by plant", sql=SCRAP_SQL, narrative="furnace trouble")
    p.store.downgrade("literacy")
    with p.store.engine.connect() as c:
        assert "insight_search_documents" not in sa.inspect(c).get_table_names()
    p.store.migrate("head")
    assert _found(p, any_org.ben, "furnaces") == {"Scrap by plant": "narrative “furnaces”"}
    assert _found(p, any_org.ben, "scarp") == {"Scrap by plant": "title “scrap” (for “scarp”)"}
