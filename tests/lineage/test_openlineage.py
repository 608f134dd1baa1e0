"""OpenLineage in and out, with the real `openlineage-python` client and real HTTP.

In: events sent by `OpenLineageClient` (HTTP transport, API key = a Threshold token) to the app
running under uvicorn are merged into the graph. Out: Threshold's own shares and derivations are
sent to THRESHOLD_OPENLINEAGE_URL (a local receiver here), through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import ownership_job, schema_dataset, sql_job
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from sqlalchemy import func, select

import plainhttp
from threshold.errors import ThresholdError
from threshold.identity.service import create_token
from threshold.jobs.models import OutboxMessage
from threshold.lineage.derive import derive, refresh
from threshold.lineage.models import ColumnLineage, LineageNode, OpenLineageEvent
from threshold.lineage.openlineage_out import deliver
from threshold.lineage.supply_chain import lineage
from threshold.runtime import drain
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"
MES = "postgres://mes-db:5432"
READINGS = "mes.public.readings"
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.0.0"


def client(url: str, token: str | None, *, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"apiKey": token}) if token else TokenProvider({}),
        compression=HttpCompression.GZIP if gzip else None,
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def field(namespace: str, name: str, column: str, kind: str, subtype: str) -> cl.InputField:
    return cl.InputField(
        namespace=namespace, name=name, field=column, transformations=[cl.Transformation(type=kind, subtype=subtype)]
    )


def load_kpis_event(state: RunState, run_id: str) -> RunEvent:
    """An Airflow task that loads the MES readings into the lake's manufacturing.plant_kpis."""
    readings = InputDataset(
        namespace=MES,
        name="mes.public.readings",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=n, type=t)
                    for n, t in (
                        ("site", "text"),
                        ("operator_email", "text"),
                        ("scrap", "numeric"),
                        ("valid", "boolean"),
                    )
                ]
            )
        },
    )
    lineage_facet = cl.ColumnLineageDatasetFacet(
        fields={
            "e_mail": cl.Fields(inputFields=[field(MES, READINGS, "operator_email", "DIRECT", "IDENTITY")]),
            "scrap_rate": cl.Fields(inputFields=[field(MES, READINGS, "scrap", "DIRECT", "TRANSFORMATION")]),
        },
        dataset=[field(MES, READINGS, "valid", "INDIRECT", "FILTER")],
    )
    kpis = OutputDataset(
        namespace="threshold://local",
        name=KPIS,
        facets={
            "columnLineage": lineage_facet,
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=n) for n in ("plant", "e_mail", "scrap_rate")]
            ),
        },
    )
    job = Job(
        namespace="airflow",
        name="plant_etl.load_kpis",
        facets={
            "sql": sql_job.SQLJobFacet(query="INSERT INTO plant_kpis SELECT ... FROM readings WHERE valid"),
            "ownership": ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name="team:plant-data")]),
        },
    )
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id),
        job=job,
        inputs=[readings],
        outputs=[kpis],
        producer=PRODUCER,
    )


def test_events_from_the_openlineage_client_merge_into_the_graph(any_org: Any, server: Any) -> None:
    srv = server(any_org.platform)
    ol = client(srv.url, create_token(any_org.platform, "anna")[1])
    run_id = str(uuid.uuid4())

    ol.emit(load_kpis_event(RunState.START, run_id))
    ol.emit(load_kpis_event(RunState.COMPLETE, run_id))

    view = lineage(any_org.platform, KPIS, direction="upstream", viewer=any_org.anna)
    nodes = {n.name: n for n in view.nodes}
    assert nodes["mes.public.readings"].kind == "external"
    assert nodes["mes.public.readings"].namespace == MES
    ids = {n.id: name for name, n in nodes.items()}
    assert ("mes.public.readings", KPIS, "plant_etl.load_kpis") in {
        (ids[e.from_], ids[e.to], e.job) for e in view.edges
    }
    with any_org.platform.store.reader() as s:
        events = s.execute(select(OpenLineageEvent.event_type, OpenLineageEvent.run_id, OpenLineageEvent.user_id)).all()
        assert [tuple(e) for e in events] == [("START", run_id, any_org.anna.id), ("COMPLETE", run_id, any_org.anna.id)]
        job = s.scalars(select(LineageNode).where(LineageNode.name == "plant_etl.load_kpis")).one()
        assert (job.kind, job.namespace, job.owners) == ("job", "airflow", ["team:plant-data"])
        assert job.detail["sql"].startswith("INSERT INTO plant_kpis") and job.detail["producer"] == PRODUCER
        readings = s.scalars(select(LineageNode).where(LineageNode.name == "mes.public.readings")).one()
        assert [c["name"] for c in readings.columns] == ["site", "operator_email", "scrap", "valid"]
        names = dict(s.execute(select(LineageNode.id, LineageNode.name)).all())
        rows = s.scalars(select(ColumnLineage).where(ColumnLineage.origin == "openlineage")).all()
        assert {(r.target_column, names.get(r.source_id), r.source_column, r.kind) for r in rows} == {
            ("e_mail", "mes.public.readings", "operator_email", "identity"),
            ("scrap_rate", "mes.public.readings", "scrap", "transform"),
            (None, "mes.public.readings", "valid", "filter"),
            ("plant", None, None, "unresolved"),  # in the output's schema, but the facet says nothing of it
        }
    column_view = lineage(any_org.platform, KPIS, column="e_mail", direction="upstream", viewer=any_org.anna)
    assert [(e.from_column, e.to_column, e.kind) for e in column_view.column_edges] == [
        ("operator_email", "e_mail", "identity")
    ]


def test_a_spark_job_naming_the_table_by_its_folder_links_to_the_lake_dataset(org: Any, server: Any) -> None:
    srv = server(org.platform)
    ol = client(srv.url, create_token(org.platform, "ben")[1], gzip=True)
    folder = org.platform.settings.warehouse_dir / "manufacturing" / "plant_kpis"
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="spark://cluster", name="kpi_export.export"),
        producer=PRODUCER,
        inputs=[InputDataset(namespace="file", name=str(folder))],
        outputs=[OutputDataset(namespace="s3://reports", name="exports/kpis.parquet")],
    )

    ol.emit(event)

    view = lineage(org.platform, KPIS, direction="downstream", viewer=org.ben)
    down = {n.name: n for n in view.nodes}
    assert down["exports/kpis.parquet"].level == 1 and down["exports/kpis.parquet"].kind == "external"
    assert [e.job for e in view.edges if e.to == down["exports/kpis.parquet"].id] == ["kpi_export.export"]


def test_a_job_without_outputs_is_a_consumer(org: Any, server: Any) -> None:
    srv = server(org.platform)
    ol = client(srv.url, create_token(org.platform, "carla")[1])
    ol.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="tableau", name="plant_dashboard"),
            producer=PRODUCER,
            inputs=[InputDataset(namespace="threshold://any-host", name=KPIS)],
        )
    )

    view = lineage(org.platform, KPIS, direction="downstream", viewer=org.carla)

    assert [(n.name, n.kind, n.level) for n in view.nodes if n.level == 1] == [("plant_dashboard", "job", 1)]


def test_the_endpoint_says_no_clearly(org: Any, server: Any) -> None:
    srv = server(org.platform)
    event = load_kpis_event(RunState.COMPLETE, str(uuid.uuid4()))
    with pytest.raises(requests.HTTPError) as unauthenticated:
        client(srv.url, None).emit(event)
    assert unauthenticated.value.response.status_code == 401
    with pytest.raises(requests.HTTPError) as denied:  # ben (finance) may not write lineage into manufacturing
        client(srv.url, create_token(org.platform, "ben")[1]).emit(event)
    assert denied.value.response.status_code == 403
    assert "lineage.write" in denied.value.response.json()["detail"]
    token = create_token(org.platform, "anna")[1]
    bad = [
        ({"job": {"name": "x"}}, "job.namespace"),
        ("not json", "not JSON"),
        ({"job": {"namespace": "a", "name": "b"}, "inputs": [{"name": "x"}]}, "namespace and a name"),
    ]
    for body, words in bad:
        r = plainhttp.post(
            f"{srv.url}/api/v1/lineage",
            headers={"Authorization": f"Bearer {token}"},
            **({"content": body} if isinstance(body, str) else {"json": body}),
        )
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    with org.platform.store.reader() as s:
        assert s.scalar(select(func.count()).select_from(OpenLineageEvent)) == 0


# --- out ---------------------------------------------------------------------------------------


def wait_sent(platform: Any, n: int, timeout: float = 15) -> list[str]:
    """The statuses of the OpenLineage messages once the deliveries started so far have finished
    (background threads, joined: no polling); the test asserts there are `n`."""
    drain(timeout)
    with platform.store.reader() as s:
        q = select(OutboxMessage.status).where(OutboxMessage.channel == "openlineage").order_by(OutboxMessage.id)
        return list(s.scalars(q))


def test_shares_and_derivations_are_emitted(org: Any, receiver: Any) -> None:
    org.platform.settings.openlineage_url = receiver.url
    share(org.platform, org.plant_kpis_csv, domain="manufacturing", user=org.anna, name="kpis_again")
    sql = f"SELECT plant, avg(scrap_rate) AS avg_scrap FROM {KPIS} WHERE day > '2026-01-03' GROUP BY plant"
    result = derive(org.platform, "scrap", domain="manufacturing", user=org.anna, sql=sql)

    assert wait_sent(org.platform, 3) == ["delivered", "delivered", "delivered"]
    shared, start, complete = receiver.wait_for(3)
    assert all(h["path"] == "/api/v1/lineage" for h in receiver.headers)
    assert (shared["eventType"], shared["job"]["name"]) == ("COMPLETE", "share.manufacturing.kpis_again")
    assert [(i["namespace"], i["name"]) for i in shared["inputs"]] == [("file", "manufacturing/plant_kpis.csv")]
    out = shared["outputs"][0]
    assert (out["namespace"], out["name"]) == ("threshold://local", "manufacturing.kpis_again")
    assert [f["name"] for f in out["facets"]["schema"]["fields"]][:3] == ["plant", "operator_name", "e_mail"]
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] == result.run_id
    assert complete["job"]["facets"]["sql"]["query"].startswith("SELECT plant, avg(scrap_rate)")
    assert complete["job"]["facets"]["ownership"]["owners"] == [{"name": "user:anna", "type": "OWNER"}]
    (source,) = complete["inputs"]
    assert source["name"] == KPIS and source["facets"]["version"]["datasetVersion"].isdigit()
    facet = complete["outputs"][0]["facets"]["columnLineage"]
    assert facet["fields"]["avg_scrap"]["inputFields"] == [
        {
            "namespace": "threshold://local",
            "name": KPIS,
            "field": "scrap_rate",
            "transformations": [
                {
                    "type": "DIRECT",
                    "subtype": "AGGREGATION",
                    "description": "AVG(plant_kpis.scrap_rate)",
                    "masking": False,
                }
            ],
        }
    ]
    assert {(f["field"], f["transformations"][0]["subtype"]) for f in facet["dataset"]} == {
        ("day", "FILTER"),
        ("plant", "GROUP_BY"),
    }


def test_a_failed_run_is_emitted_and_an_undelivered_event_is_kept_and_retried(
    org: Any, receiver: Any, tmp_path: Path
) -> None:
    derive(org.platform, "scrap", domain="sales", sql=f"SELECT plant, scrap_rate FROM {KPIS}", user=org.carla)
    without = tmp_path / "kpis.csv"
    without.write_text("Plant,Day\nBerlin,2026-01-08\n", encoding="utf-8")
    share(org.platform, without, domain="manufacturing", user=org.anna, name="plant_kpis", mode="replace")
    org.platform.settings.openlineage_url = receiver.url
    org.platform.settings.jobs.outbox_backoff_seconds = 0.0
    receiver.status = 503
    with pytest.raises(ThresholdError, match="scrap_rate"):
        refresh(org.platform, "sales.scrap", user=org.carla, trigger="manual")

    assert wait_sent(org.platform, 2) == ["failed", "failed"]
    with org.platform.store.reader() as s:
        assert list(s.scalars(select(OutboxMessage.attempts).where(OutboxMessage.channel == "openlineage"))) == [3, 3]
    receiver.status = 201

    counts = deliver(org.platform, retry_failed=True)

    assert counts == {"sent": 2, "failed": 0}
    start, fail = receiver.wait_for(2)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert "scrap_rate" in fail["run"]["facets"]["errorMessage"]["message"]
