"""OpenLineage out: events for Threshold's own shares and derivations, sent to THRESHOLD_OPENLINEAGE_URL.

Events are built with the official `openlineage-python` classes and written to the one outbox
(`threshold.jobs.outbox`, channel `openlineage`, declared in `registration.py`) in the same
transaction as the change they describe (so a committed share always has its event, and a
rolled-back one never has), then sent in the background through the client's HTTP transport.
A send that fails every attempt stays `failed` in the outbox; `threshold openlineage retry` sends
it again. Shares emit one COMPLETE event; derivation runs emit START, then COMPLETE or FAIL, with
the input snapshots, the output schema, the SQL and the column lineage facet.

THRESHOLD_OPENLINEAGE_URL is where events are POSTed: a bare `http://host:5000` gets the standard
`/api/v1/lineage` path (Marquez, another Threshold); a URL with a path is used as it is; a token in
the URL (`https://:TOKEN@host/...`) is sent as `Authorization: Bearer TOKEN`.

The `openlineage-python` classes are imported where an event is built (a second of start-up under load):
a share on a home without THRESHOLD_OPENLINEAGE_URL builds none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session

from threshold.jobs import outbox as jobs_outbox
from threshold.jobs.models import OutboxMessage
from threshold.lineage import naming
from threshold.lineage.models import DIRECT_KINDS
from threshold.lineage.results import EmittedEvent, EmittedEvents
from threshold.platform import Platform

log = logging.getLogger(__name__)
PRODUCER = "urn:threshold:openlineage:0.1.0"
CHANNEL = "openlineage"
_SUBTYPES = {
    "identity": "IDENTITY",
    "transform": "TRANSFORMATION",
    "aggregate": "AGGREGATION",
    "filter": "FILTER",
    "join": "JOIN",
    "group_by": "GROUP_BY",
    "sort": "SORT",
    "window": "WINDOW",
    "conditional": "CONDITIONAL",
}


def enabled(platform: Platform) -> bool:
    return bool(getattr(platform.settings, "openlineage_url", None))


def lake_dataset(platform: Platform, full_name: str, **facets: Any) -> dict[str, Any]:
    return {"namespace": naming.lake_namespace(platform), "name": full_name, "facets": facets}


def schema_facet(columns: Sequence[tuple[str, str]]) -> Any:
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns]
    )


def version_facet(snapshot_id: int | None) -> Any:
    from openlineage.client.facet_v2 import dataset_version_dataset

    return dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=str(snapshot_id))


def column_lineage_facet(platform: Platform, rows: Sequence[dict[str, Any]]) -> Any:
    """The columnLineage facet of Threshold's own column lineage rows (unresolved ones are left out)."""
    from openlineage.client.facet_v2 import column_lineage_dataset

    ns = naming.lake_namespace(platform)
    fields: dict[str, list[Any]] = {}
    whole: list[Any] = []
    for r in rows:
        if r["kind"] not in _SUBTYPES or not r.get("source_dataset"):
            continue
        direct = r["kind"] in DIRECT_KINDS
        field = column_lineage_dataset.InputField(
            namespace=ns,
            name=r["source_dataset"],
            field=r["source_column"],
            transformations=[
                column_lineage_dataset.Transformation(
                    type="DIRECT" if direct else "INDIRECT",
                    subtype=_SUBTYPES[r["kind"]],
                    description=(r.get("description") or "")[:300] or None,
                    masking=bool(r.get("masking")),
                )
            ],
        )
        if r.get("target_column") is None:
            whole.append(field)
        else:
            fields.setdefault(r["target_column"], []).append(field)
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={c: column_lineage_dataset.Fields(inputFields=f) for c, f in fields.items()}, dataset=whole
    )


def run_event(
    platform: Platform,
    *,
    state: str,
    run_id: str,
    job: str,
    job_type: str,
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
    sql: str | None = None,
    owner: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One RunEvent as a JSON-ready dict (`state` is START, COMPLETE or FAIL)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, job_type_job, ownership_job, sql_job
    from openlineage.client.serde import Serde

    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="THRESHOLD", jobType=job_type)
    }
    if sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=sql)
    if owner:
        job_facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=f"user:{owner}", type="OWNER")]
        )
    run_facets: dict[str, Any] = {}
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[:2000], programmingLanguage="SQL"
        )
    event = RunEvent(
        eventType=RunState[state],
        eventTime=(at or datetime.now(UTC)).isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=naming.LAKE, name=job, facets=job_facets),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=d.get("facets") or {}) for d in inputs],
        outputs=[
            OutputDataset(namespace=d["namespace"], name=d["name"], facets=d.get("facets") or {}) for d in outputs
        ],
        producer=PRODUCER,
    )
    return Serde.to_dict(event)


def enqueue(s: Session, platform: Platform, event: dict[str, Any]) -> None:
    """Put an event in the outbox inside the caller's transaction (nothing when no URL is set)."""
    if enabled(platform):
        jobs_outbox.enqueue(s, CHANNEL, event, topic=str(event.get("eventType") or ""))


def deliver_async(platform: Platform) -> None:
    """Send pending events in the background (a CLI waits for it, within a bound, at exit)."""
    if enabled(platform):
        jobs_outbox.deliver_soon(platform, channel_name=CHANNEL)


def deliver(platform: Platform, *, retry_failed: bool = False) -> dict[str, int]:
    """Send every pending event (and failed ones when `retry_failed`), oldest first."""
    if not enabled(platform):
        return {"sent": 0, "failed": 0}
    counts = jobs_outbox.deliver(platform, channel_name=CHANNEL, retry_failed=retry_failed)
    return {"sent": counts["delivered"], "failed": counts["failed"]}


def send(platform: Platform, message: OutboxMessage) -> None:
    """The `openlineage` channel: one event to THRESHOLD_OPENLINEAGE_URL (as it is when sending)."""
    transport = _transport(str(platform.settings.openlineage_url))
    try:
        transport.emit(message.payload)  # type: ignore[arg-type]  # the transport serialises dicts too
    finally:
        transport.close()


def outbox(platform: Platform, *, limit: int = 100) -> EmittedEvents:
    """The OpenLineage events Threshold emitted, newest first, and whether they were delivered."""
    return EmittedEvents(
        url=_shown_url(getattr(platform.settings, "openlineage_url", None)),
        events=[
            EmittedEvent(
                id=r.id,
                status=r.status,
                attempts=r.attempts,
                error=r.last_error,
                event=r.payload.get("eventType"),
                job=(r.payload.get("job") or {}).get("name"),
                at=r.created_at.isoformat(timespec="seconds") if r.created_at else None,
            )
            for r in jobs_outbox.messages(platform, CHANNEL, limit=limit)
        ],
    )


def _transport(url: str) -> Any:
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider

    parts = urlsplit(url.strip())
    token = parts.password or (parts.username if parts.username and not parts.password else None)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    base = urlunsplit((parts.scheme, netloc, "/", "", ""))
    endpoint = parts.path.lstrip("/") if parts.path.strip("/") else "api/v1/lineage"
    if parts.query:
        endpoint += f"?{parts.query}"
    auth = ApiKeyTokenProvider({"api_key": token}) if token else TokenProvider({})
    return HttpTransport(HttpConfig(url=base, endpoint=endpoint, timeout=5.0, auth=auth, retry={"total": 0}))


def _shown_url(url: str | None) -> str | None:
    """The URL without its token."""
    if not url:
        return None
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
