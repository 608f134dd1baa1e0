"""Derived datasets: run through the gateway as the person, stored as one snapshot per run, with
column lineage, inherited tags, schedules and failures recorded. SQLite and PostgreSQL (`any_org`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from threshold.errors import Conflict, Denied, InvalidInput, NotFound, ThresholdError
from threshold.gateway.service import query
from threshold.identity.service import add_user, get_person
from threshold.lineage.derive import derivations, derive, describe_derivation, refresh, refresh_due
from threshold.lineage.models import ColumnLineage, Derivation, DerivationRun, LineageEdge, LineageNode
from threshold.lineage.supply_chain import overview
from threshold.notifications.service import inbox
from threshold.sharing.service import share
from threshold.store.models import Dataset, Share, Tag, UsageEvent, User

KPIS = "manufacturing.plant_kpis"
SCRAP_SQL = f"SELECT plant, avg(scrap_rate) AS avg_scrap, count(*) AS days FROM {KPIS} GROUP BY plant ORDER BY plant"


def rows(org: Any, sql: str, who: str = "anna") -> list[dict[str, Any]]:
    return query(org.platform, sql, user=get_person(org.platform, who), max_rows=None).table.to_pylist()


def column_lineage(org: Any, dataset: str) -> set[tuple[str | None, str | None, str | None, str]]:
    """{(target column, source dataset, source column, kind)} recorded for `dataset`."""
    with org.platform.store.reader() as s:
        target = s.scalar(
            select(LineageNode.id).where(LineageNode.name == dataset, LineageNode.namespace == "threshold")
        )
        names = dict(s.execute(select(LineageNode.id, LineageNode.name)).all())
        return {
            (r.target_column, names.get(r.source_id) if r.source_id else None, r.source_column, r.kind)
            for r in s.scalars(select(ColumnLineage).where(ColumnLineage.target_id == target))
        }


def tags_of(org: Any, dataset: str) -> dict[str | None, dict[str, tuple[str, str]]]:
    """{column: {tag: (origin, reason)}}."""
    with org.platform.store.reader() as s:
        out: dict[str | None, dict[str, tuple[str, str]]] = {}
        for t in s.scalars(select(Tag).join(Dataset, Dataset.id == Tag.dataset_id).where(Dataset.full_name == dataset)):
            out.setdefault(t.column_name, {})[t.tag] = (t.origin, t.reason)
        return out


def write_csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_derive_stores_the_result_through_the_gateway_with_its_lineage(any_org: Any) -> None:
    result = derive(any_org.platform, "plant_scrap", domain="manufacturing", sql=SCRAP_SQL, user=any_org.anna)

    assert (result.dataset, result.status, result.trigger, result.rows) == (
        "manufacturing.plant_scrap",
        "ok",
        "create",
        3,
    )
    assert result.columns == ["plant", "avg_scrap", "days"]
    assert result.inputs == [KPIS]
    got = rows(any_org, "SELECT * FROM manufacturing.plant_scrap ORDER BY plant")
    assert [(r["plant"], round(r["avg_scrap"], 3), r["days"]) for r in got] == [
        ("Berlin", 0.135, 2),
        ("Lyon", 0.095, 2),
        ("Porto", 0.05, 1),
    ]
    assert column_lineage(any_org, "manufacturing.plant_scrap") == {
        ("plant", KPIS, "plant", "identity"),
        ("avg_scrap", KPIS, "scrap_rate", "aggregate"),
        ("days", None, None, "constant"),
        (None, KPIS, "plant", "group_by"),
        (None, KPIS, "plant", "sort"),
    }
    with any_org.platform.store.reader() as s:
        d = s.scalars(select(Derivation)).one()
        ds = s.scalars(select(Dataset).where(Dataset.full_name == "manufacturing.plant_scrap")).one()
        assert (d.owner_id, d.status, d.last_snapshot_id, d.sql) == (any_org.anna.id, "ok", ds.snapshot_id, SCRAP_SQL)
        assert [(r.trigger, r.status, r.snapshot_id) for r in s.scalars(select(DerivationRun))] == [
            ("create", "ok", ds.snapshot_id)
        ]
        edge = s.execute(
            select(LineageEdge.origin, LineageNode.name).join(LineageNode, LineageNode.id == LineageEdge.job_id)
        ).one()
        assert tuple(edge) == ("derivation", "derive.manufacturing.plant_scrap")
        job_reads = s.scalars(select(UsageEvent).where(UsageEvent.interface == "job")).all()
        assert [e.user_id for e in job_reads] == [any_org.anna.id]  # the derivation read through the gateway


def test_a_derived_masked_column_stays_masked_for_outsiders_and_carries_the_personal_tag(any_org: Any) -> None:
    # carla (sales) reads manufacturing's personal columns masked: what she derives holds masked values.
    derive(
        any_org.platform,
        "contacts",
        domain="sales",
        user=any_org.carla,
        sql=f"SELECT plant, e_mail, md5(e_mail) AS mail_key FROM {KPIS}",
    )
    assert {r["e_mail"] for r in rows(any_org, "SELECT e_mail FROM sales.contacts", "carla")} == {"***"}
    contacts = tags_of(any_org, "sales.contacts")
    assert contacts["e_mail"]["personal.email"] == ("lineage", f"from {KPIS}.e_mail (identity)")
    assert contacts["mail_key"]["personal.email"] == ("lineage", f"from {KPIS}.e_mail (transform)")
    assert "plant" not in contacts

    # anna (manufacturing) reads them raw: what she derives is raw, and outsiders read it masked.
    derive(
        any_org.platform,
        "operators",
        domain="manufacturing",
        user=any_org.anna,
        sql=f"SELECT plant, e_mail, md5(e_mail) AS mail_key FROM {KPIS}",
    )
    derive(
        any_org.platform,
        "headcount",
        domain="manufacturing",
        user=any_org.anna,
        sql=f"SELECT plant, count(DISTINCT e_mail) AS people FROM {KPIS} GROUP BY plant",
    )
    raw = rows(any_org, "SELECT * FROM manufacturing.operators ORDER BY e_mail", "anna")
    assert raw[0]["e_mail"] == "ana.silva@example.pt" and len(raw[0]["mail_key"]) == 32
    for r in rows(any_org, "SELECT * FROM manufacturing.operators", "ben"):
        assert (r["e_mail"], r["mail_key"]) == ("***", "***")
    assert tags_of(any_org, "manufacturing.operators")["mail_key"]["personal.email"][0] == "lineage"
    # A count hides the values: no personal tag, and outsiders read the numbers.
    assert "people" not in tags_of(any_org, "manufacturing.headcount")
    ben_reads = rows(any_org, "SELECT * FROM manufacturing.headcount ORDER BY plant", "ben")
    assert [(r["plant"], r["people"]) for r in ben_reads] == [("Berlin", 2), ("Lyon", 2), ("Porto", 1)]


def test_refresh_is_one_new_snapshot_and_reads_fresh_data(any_org: Any, tmp_path: Path) -> None:
    first = derive(any_org.platform, "plant_scrap", domain="manufacturing", sql=SCRAP_SQL, user=any_org.anna)
    extra = (
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day\nBerlin,Zoe Weber,zoe@example.de,0.30,1500.5,2026-01-07\n"
    )
    share(
        any_org.platform,
        write_csv(tmp_path, "more.csv", extra),
        domain="manufacturing",
        user=any_org.anna,
        name="plant_kpis",
        mode="append",
    )

    again = refresh(any_org.platform, "manufacturing.plant_scrap", user=any_org.anna)

    assert again.snapshot_id != first.snapshot_id and again.trigger == "manual"
    berlin = rows(any_org, "SELECT days FROM manufacturing.plant_scrap WHERE plant = 'Berlin'")
    assert berlin == [{"days": 3}]
    old = rows(
        any_org,
        f"SELECT days FROM manufacturing.plant_scrap FOR VERSION AS OF {first.snapshot_id} WHERE plant = 'Berlin'",
    )
    assert old == [{"days": 2}]
    with any_org.platform.store.reader() as s:
        shares = s.scalars(select(Share).join(Dataset).where(Dataset.full_name == "manufacturing.plant_scrap")).all()
        assert [(sh.mode, sh.snapshot_id) for sh in shares] == [
            ("create", first.snapshot_id),
            ("replace", again.snapshot_id),
        ]
        assert s.scalar(select(func.count()).select_from(DerivationRun)) == 2


def test_refresh_runs_as_the_owner_whoever_triggers_it(org: Any) -> None:
    derive(org.platform, "contacts", domain="sales", sql=f"SELECT plant, e_mail FROM {KPIS}", user=org.carla)
    dave = add_user(org.platform, "dave", domains=("sales",))
    admin_can = refresh(org.platform, "sales.contacts", user=org.admin)
    member_can = refresh(org.platform, "sales.contacts", user=dave)

    assert admin_can.status == member_can.status == "ok"
    with org.platform.store.reader() as s:
        readers = s.scalars(select(UsageEvent.user_id).where(UsageEvent.interface == "job")).all()
        assert readers == [org.carla.id] * 3  # the derive and both refreshes read as carla
        triggered = s.scalars(select(DerivationRun.user_id).order_by(DerivationRun.id)).all()
        assert triggered == [org.carla.id, org.admin.id, dave.id]
    with pytest.raises(Denied, match="derive.refresh"):
        refresh(org.platform, "sales.contacts", user=org.anna)  # not a member of sales
    with pytest.raises(NotFound, match="not a derived dataset"):
        refresh(org.platform, KPIS, user=org.anna)


def test_a_failed_refresh_keeps_the_last_snapshot_and_tells_the_owner_once(any_org: Any, tmp_path: Path) -> None:
    first = derive(
        any_org.platform, "scrap", domain="sales", sql=f"SELECT plant, scrap_rate FROM {KPIS}", user=any_org.carla
    )
    without = "Plant,Day\nBerlin,2026-01-08\n"
    share(
        any_org.platform,
        write_csv(tmp_path, "kpis.csv", without),
        domain="manufacturing",
        user=any_org.anna,
        name="plant_kpis",
        mode="replace",
    )

    for _ in range(2):
        with pytest.raises(ThresholdError, match="scrap_rate"):
            refresh(any_org.platform, "sales.scrap", user=any_org.carla)

    info = describe_derivation(any_org.platform, "sales.scrap")
    assert info.status == "failed" and info.error is not None and "scrap_rate" in info.error
    assert [r.status for r in info.runs] == ["failed", "failed", "ok"]
    with any_org.platform.store.reader() as s:
        assert s.scalar(select(Dataset.snapshot_id).where(Dataset.full_name == "sales.scrap")) == first.snapshot_id
    messages = inbox(any_org.platform, any_org.carla)
    assert [m.kind for m in messages].count("derivation.failed") == 1
    assert [m.kind for m in messages].count("schema.changed") == 1  # the replace removed a column she uses


def test_due_derivations_refresh_upstream_first_and_only_once(org: Any) -> None:
    derive(org.platform, "daily_scrap", domain="manufacturing", sql=SCRAP_SQL, user=org.anna, schedule_text="hourly")
    derive(
        org.platform,
        "worst_plant",
        domain="sales",
        user=org.carla,
        schedule_text="every 15 minutes",
        sql="SELECT plant FROM manufacturing.daily_scrap ORDER BY avg_scrap DESC LIMIT 1",
    )
    later = datetime.now(UTC) + timedelta(hours=2)

    done = refresh_due(org.platform, now=later)
    again = refresh_due(org.platform, now=later)

    assert [r.dataset for r in done if not isinstance(r, Exception)] == [
        "manufacturing.daily_scrap",
        "sales.worst_plant",
    ]
    assert [r.trigger for r in done if not isinstance(r, Exception)] == ["schedule", "schedule"]
    assert again == []
    listed = {d.dataset: d for d in derivations(org.platform)}
    assert datetime.fromisoformat(listed["manufacturing.daily_scrap"].next_run_at or "") > later
    nxt = datetime.fromisoformat(listed["sales.worst_plant"].next_run_at or "")
    assert nxt > later and nxt.minute % 15 == 0 and nxt.second == 0


def test_derive_refuses_what_it_cannot_do_before_running(org: Any) -> None:
    derive(org.platform, "plant_scrap", domain="manufacturing", sql=SCRAP_SQL, user=org.anna)

    with pytest.raises(Conflict, match="refresh it"):
        derive(org.platform, "plant_scrap", domain="manufacturing", sql=SCRAP_SQL, user=org.anna)
    with pytest.raises(Conflict, match="shared from a file"):
        derive(org.platform, "plant_kpis", domain="manufacturing", sql=SCRAP_SQL, user=org.anna)
    with pytest.raises(Denied, match="share.member"):
        derive(org.platform, "mine", domain="manufacturing", sql=SCRAP_SQL, user=org.carla)
    with pytest.raises(InvalidInput, match="read-only"):
        derive(org.platform, "bad", domain="manufacturing", sql=f"DELETE FROM {KPIS}", user=org.anna)
    with pytest.raises(InvalidInput, match="unknown schedule"):
        derive(org.platform, "later", domain="manufacturing", sql=SCRAP_SQL, user=org.anna, schedule_text="sometimes")
    with pytest.raises(NotFound, match="no domain"):
        derive(org.platform, "x", domain="nowhere", sql=SCRAP_SQL, user=org.admin)
    with org.platform.store.reader() as s:
        assert s.scalar(select(func.count()).select_from(Derivation)) == 1


def test_replace_redefines_the_derivation_and_its_lineage(org: Any) -> None:
    derive(org.platform, "plant_scrap", domain="manufacturing", sql=SCRAP_SQL, user=org.anna)
    derive(org.platform, "other", domain="manufacturing", sql=f"SELECT plant FROM {KPIS}", user=org.anna)

    redo = derive(
        org.platform,
        "plant_scrap",
        domain="manufacturing",
        user=org.anna,
        replace=True,
        sql="SELECT upper(plant) AS site FROM manufacturing.other",
    )

    assert redo.columns == ["site"] and redo.inputs == ["manufacturing.other"]
    assert column_lineage(org, "manufacturing.plant_scrap") == {("site", "manufacturing.other", "plant", "transform")}
    with org.platform.store.reader() as s:
        target = s.scalar(select(LineageNode.id).where(LineageNode.name == "manufacturing.plant_scrap"))
        sources = s.scalars(
            select(LineageNode.name)
            .join(LineageEdge, LineageEdge.src_id == LineageNode.id)
            .where(LineageEdge.dst_id == target)
        ).all()
        assert sources == ["manufacturing.other"]  # the edge from plant_kpis went with the old SQL


def test_unresolved_lineage_is_recorded_counted_and_tagged_conservatively(org: Any) -> None:
    result = derive(
        org.platform, "picked", domain="manufacturing", user=org.anna, sql=f"SELECT plant, COLUMNS('^e_') FROM {KPIS}"
    )

    assert result.columns == ["plant", "e_mail"]
    assert [(g["column"], "COLUMNS" in g["reason"]) for g in result.gaps] == [("e_mail", True)]
    assert ("e_mail", None, None, "unresolved") in column_lineage(org, "manufacturing.picked")
    gaps = overview(org.platform).gaps
    assert (gaps.columns, gaps.datasets) == (1, 1)
    assert gaps.list[0].dataset == "manufacturing.picked"
    # Its origin is unknown, so it carries the tags of every input column: the guardrail still holds.
    assert {"personal.email", "personal.name"} <= set(tags_of(org, "manufacturing.picked")["e_mail"])
    ben_reads = rows(org, "SELECT e_mail FROM manufacturing.picked", "ben")
    assert {r["e_mail"] for r in ben_reads} == {"***"}


def test_refresh_recomputes_inherited_tags_when_a_source_column_is_tagged_later(org: Any) -> None:
    from threshold.store.models import Tag as TagRow

    derive(org.platform, "energy", domain="manufacturing", sql=f"SELECT plant, energy_kwh FROM {KPIS}", user=org.anna)
    assert "energy_kwh" not in tags_of(org, "manufacturing.energy")
    with org.platform.store.session() as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.full_name == KPIS))
        s.add(
            TagRow(dataset_id=ds_id, column_name="energy_kwh", tag="confidential", origin="manual", reason="contract")
        )

    refresh(org.platform, "manufacturing.energy", user=org.anna)

    assert tags_of(org, "manufacturing.energy")["energy_kwh"]["confidential"] == (
        "lineage",
        f"from {KPIS}.energy_kwh (identity)",
    )
    with org.platform.store.reader() as s:
        assert s.scalar(select(User.name).join(Derivation, Derivation.owner_id == User.id)) == "anna"
