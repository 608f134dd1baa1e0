"""Prepared reads are reused only while nothing they depend on changed: the same query after a change of
visibility, tags or policy is decided again, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from threshold.errors import InvalidInput
from threshold.gateway.prepared import reads_of
from threshold.gateway.service import query
from threshold.governance.controls import set_visibility, tag, untag

SCRAP = "SELECT plant, scrap_rate FROM manufacturing.plant_kpis ORDER BY plant, scrap_rate"


def test_the_metadata_version_moves_with_metadata_and_not_with_usage(any_org) -> None:
    store = any_org.platform.store
    start = store.metadata_version()
    assert start is not None
    assert query(any_org.platform, SCRAP, user=any_org.ben).event_id  # a usage event written
    assert store.metadata_version() == start
    tag(any_org.platform, any_org.anna, "manufacturing.plant_kpis.scrap_rate", "confidential")
    assert store.metadata_version() != start


def test_a_tag_added_after_a_read_masks_the_next_identical_read(any_org) -> None:
    platform, ben, anna = any_org.platform, any_org.ben, any_org.anna
    first = query(platform, SCRAP, user=ben).table.column("scrap_rate").to_pylist()
    again = query(platform, SCRAP, user=ben).table.column("scrap_rate").to_pylist()
    assert first == again and 0.05 in first  # the second came from the prepared read

    tag(platform, anna, "manufacturing.plant_kpis.scrap_rate", "personal.health")
    masked = query(platform, SCRAP, user=ben)
    assert 0.05 not in masked.table.column("scrap_rate").to_pylist()
    assert any("scrap_rate" in n for n in masked.notes)

    untag(platform, anna, "manufacturing.plant_kpis.scrap_rate", "personal.health")
    assert query(platform, SCRAP, user=ben).table.column("scrap_rate").to_pylist() == first


def test_a_dataset_made_restricted_is_unknown_to_the_next_identical_read(any_org) -> None:
    platform, ben = any_org.platform, any_org.ben
    assert query(platform, SCRAP, user=ben).table.num_rows == 5
    set_visibility(platform, any_org.anna, "manufacturing.plant_kpis", "restricted")
    with pytest.raises(InvalidInput, match="unknown dataset manufacturing.plant_kpis"):
        query(platform, SCRAP, user=ben)
    assert query(platform, SCRAP, user=any_org.anna).table.num_rows == 5  # its own domain still reads it


def test_prepared_reads_are_per_reader(any_org) -> None:
    platform = any_org.platform
    email = "SELECT e_mail FROM manufacturing.plant_kpis ORDER BY e_mail"
    own = query(platform, email, user=any_org.anna).table.column("e_mail").to_pylist()
    other = query(platform, email, user=any_org.ben).table.column("e_mail").to_pylist()
    assert "anna.schmidt@example.com" in own
    assert "anna.schmidt@example.com" not in other  # masked for a reader outside the domain
    assert len(reads_of(platform)._entries) >= 2


def test_a_decision_is_reused_by_other_queries_of_the_same_reader_until_the_metadata_changes(any_org) -> None:
    from threshold.access.reading import decision_key, kept_decisions

    platform, ben, anna = any_org.platform, any_org.ben, any_org.anna
    name = "manufacturing.plant_kpis"
    decided = kept_decisions(platform)
    first = query(platform, SCRAP, user=ben).table.column("scrap_rate").to_pylist()
    version = platform.store.metadata_version()
    assert version is not None
    made = decided.get(decision_key(version, ben, None, name))
    assert made is not None and made.allowed and "scrap_rate" not in made.masks

    # Another query text on the same dataset: no prepared read, the same decision object.
    other = "SELECT scrap_rate FROM manufacturing.plant_kpis WHERE scrap_rate >= 0 ORDER BY scrap_rate"
    assert sorted(query(platform, other, user=ben).table.column("scrap_rate").to_pylist()) == sorted(first)
    assert decided.get(decision_key(version, ben, None, name)) is made
    assert decided.get(decision_key(version, anna, None, name)) is None  # per reader

    tag(platform, anna, "manufacturing.plant_kpis.scrap_rate", "personal.health")
    later = platform.store.metadata_version()
    assert later != version
    third = "SELECT scrap_rate FROM manufacturing.plant_kpis WHERE scrap_rate < 100"
    masked = query(platform, third, user=ben)
    assert 0.05 not in masked.table.column("scrap_rate").to_pylist()
    redone = decided.get(decision_key(later, ben, None, name))  # type: ignore[arg-type]
    assert redone is not None and "scrap_rate" in redone.masks
    assert decided.get(decision_key(later, ben, "audit", name)) is None  # per declared purpose


def test_a_dataset_resolved_for_a_reader_is_looked_up_again_after_a_change_of_visibility(any_org) -> None:
    from threshold.access.reading import reader_key
    from threshold.gateway.service import resolved_of

    platform, ben, anna = any_org.platform, any_org.ben, any_org.anna
    name = "manufacturing.plant_kpis"
    assert query(platform, SCRAP, user=ben).table.num_rows == 5
    version = platform.store.metadata_version()
    assert resolved_of(platform).get((version, reader_key(ben), name)) is not None  # kept for ben's next queries

    set_visibility(platform, anna, name, "restricted")
    other = "SELECT count(*) AS n FROM manufacturing.plant_kpis"  # another text: no prepared read either
    with pytest.raises(InvalidInput, match="unknown dataset manufacturing.plant_kpis"):
        query(platform, other, user=ben)
    assert query(platform, other, user=anna).table.column("n").to_pylist() == [5]
