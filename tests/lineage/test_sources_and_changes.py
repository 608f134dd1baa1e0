"""Where shared data comes from (files, source systems with owners), and who hears of a schema change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from threshold.errors import Conflict, Denied, NotFound
from threshold.gateway.service import query
from threshold.jobs.models import OutboxMessage
from threshold.lineage.derive import derive
from threshold.lineage.models import LineageNode
from threshold.lineage.sources import add_source, list_sources
from threshold.lineage.supply_chain import lineage
from threshold.notifications.service import inbox
from threshold.runtime import drain
from threshold.sharing.service import share
from threshold.store.models import Domain

KPIS = "manufacturing.plant_kpis"


def test_a_file_share_records_the_file_upstream(org: Any) -> None:
    view = lineage(org.platform, KPIS, direction="upstream", viewer=org.anna)

    (file_node,) = [n for n in view.nodes if n.kind == "file"]
    assert (file_node.name, file_node.level, file_node.domain) == ("plant_kpis.csv", -1, "manufacturing")
    with org.platform.store.reader() as s:
        detail = s.scalar(select(LineageNode.detail).where(LineageNode.kind == "file"))
    assert detail["format"] == "csv" and detail["shared_by"] == "anna" and len(detail["sha256"]) == 64


def test_a_share_names_its_source_system_and_its_owner_answers_for_it(any_org: Any, tmp_path: Path) -> None:
    added = add_source(any_org.platform, "erp", owner="ben", kind="database", user=any_org.admin)
    csv = tmp_path / "invoices.csv"
    csv.write_text("Invoice,Amount\n1,10.5\n2,20.0\n", encoding="utf-8")

    share(any_org.platform, csv, domain="finance", user=any_org.ben, source_system="erp")

    assert (added.name, added.kind, added.owner, added.datasets) == ("erp", "database", "ben", 0)
    view = lineage(any_org.platform, "finance.invoices", direction="upstream", viewer=any_org.ben)
    assert {(n.name, n.kind, n.level, tuple(n.owners)) for n in view.nodes} == {
        ("finance.invoices", "dataset", 0, ("ben",)),
        ("invoices.csv", "file", -1, ()),
        ("erp", "source", -1, ("ben",)),
    }
    assert [(s.name, s.owner, s.datasets) for s in list_sources(any_org.platform)] == [("erp", "ben", 1)]


def test_a_share_naming_an_unknown_source_system_fails_before_any_work(org: Any, state_of: Any) -> None:
    before = state_of(org.platform)
    with pytest.raises(NotFound, match="threshold source add crm"):
        share(
            org.platform, org.plant_kpis_csv, domain="manufacturing", user=org.anna, name="again", source_system="crm"
        )
    assert state_of(org.platform) == before


def test_registering_source_systems(org: Any) -> None:
    add_source(org.platform, "mes", owner="anna", user=org.anna)  # a domain owner may
    with pytest.raises(Denied, match="source.add"):
        add_source(org.platform, "crm", owner="ben", user=org.carla)
    with pytest.raises(Conflict):
        add_source(org.platform, "mes", owner="anna", user=org.admin)
    with pytest.raises(NotFound, match="no user"):
        add_source(org.platform, "crm", owner="nobody", user=org.admin)


def test_schema_evolution_tells_downstream_owners_and_recent_readers(
    any_org: Any, tmp_path: Path, receiver: Any
) -> None:
    p = any_org.platform
    derive(p, "energy", domain="sales", sql=f"SELECT plant, energy_kwh FROM {KPIS}", user=any_org.carla)
    query(p, f"SELECT plant FROM {KPIS}", user=any_org.ben, purpose="budget")
    with p.store.session() as s:
        s.execute(update(Domain).where(Domain.name == "sales").values(webhook_url=f"{receiver.url}/hook"))
    more = tmp_path / "more.csv"
    more.write_text(
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day,Shift\n"
        "Berlin,Zoe Weber,zoe@example.de,0.3,1500.5,2026-01-07,night\n",
        encoding="utf-8",
    )

    (result,) = share(p, more, domain="manufacturing", user=any_org.anna, name="plant_kpis", mode="append", evolve=True)

    assert "schema evolved: added shift" in result.notes
    (to_carla,) = [m for m in inbox(p, any_org.carla) if m.kind == "schema.changed"]
    assert to_carla.title == f"{KPIS} changed its schema"
    assert "you own sales.energy, which is built on it" in to_carla.body
    assert to_carla.data["downstream"] == ["sales.energy"] and to_carla.link == f"/lineage/{KPIS}"
    (to_ben,) = [m for m in inbox(p, any_org.ben) if m.kind == "schema.changed"]
    assert "you read it once in the last 30 days" in to_ben.body
    assert not [m for m in inbox(p, any_org.anna) if m.kind == "schema.changed"]  # she made the change
    (delivered,) = receiver.wait_for(1)
    assert delivered["event"] == "schema.changed" and delivered["domain"] == "sales"
    assert delivered["data"]["changes"] == ["schema evolved: added shift"]
    drain(10)  # the sender records the delivery after the receiver answered: wait for the sender's thread
    with p.store.reader() as s:
        q = select(OutboxMessage.topic, OutboxMessage.scope, OutboxMessage.status)
        hooks = s.execute(q.where(OutboxMessage.channel == "webhook")).all()
    assert [tuple(h) for h in hooks] == [("schema.changed", "sales", "delivered")]


def test_an_append_without_schema_change_tells_nobody(org: Any, tmp_path: Path) -> None:
    derive(org.platform, "energy", domain="sales", sql=f"SELECT plant, energy_kwh FROM {KPIS}", user=org.carla)
    more = tmp_path / "more.csv"
    more.write_text(
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day\nBerlin,Zoe Weber,zoe@example.de,0.3,1500.5,2026-01-07\n",
        encoding="utf-8",
    )

    share(org.platform, more, domain="manufacturing", user=org.anna, name="plant_kpis", mode="append")

    assert not [m for m in inbox(org.platform, org.carla) if m.kind == "schema.changed"]
