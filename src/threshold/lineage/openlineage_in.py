"""OpenLineage in: run events from Airflow, dbt, Spark or any `openlineage-python` client, merged into
the graph (POST /api/v1/lineage; see docs/lineage.md for the naming convention).

Each event is kept whole (`openlineage_events`), then merged: the job becomes a node (type, SQL,
owners from its facets); every input and output dataset becomes a node, linked to the lake dataset
when it names one (`threshold://...` namespace + `domain.dataset`, or the table's warehouse folder);
inputs are connected to outputs through the job (a job without outputs becomes a consuming node,
one without inputs a producing one); the columnLineage facet becomes column lineage, and output
columns the facet leaves out are recorded as unresolved. A lake output's inherited tags follow.
Writing lineage INTO a lake dataset needs the right to share into its domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.access import DomainRef, knowable, may
from threshold.errors import Denied, InvalidInput
from threshold.identity.service import Person
from threshold.lineage import graph, naming, tags
from threshold.lineage.models import Derivation, LineageNode, OpenLineageEvent
from threshold.lineage.results import Ingested
from threshold.platform import Platform
from threshold.store.models import Dataset

MAX_EVENTS = 100
_KINDS = {
    "IDENTITY": "identity",
    "TRANSFORMATION": "transform",
    "AGGREGATION": "aggregate",
    "FILTER": "filter",
    "JOIN": "join",
    "GROUP_BY": "group_by",
    "SORT": "sort",
    "WINDOW": "window",
    "CONDITIONAL": "conditional",
}
_NO_LINEAGE = ("FAIL", "ABORT")


def ingest(platform: Platform, body: Any, *, user: Person) -> Ingested:
    """Merge one event (or a list of events) into the graph; one transaction per event."""
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > MAX_EVENTS:
        raise InvalidInput(f"send 1 to {MAX_EVENTS} OpenLineage events at a time")
    return Ingested(events=[_one(platform, e, user) for e in events])


def _one(platform: Platform, e: Any, user: Person) -> dict[str, Any]:
    if not isinstance(e, dict):
        raise InvalidInput("an OpenLineage event is a JSON object")
    job = e.get("job")
    run = e.get("run") or {}
    if "dataset" in e and not job:
        return _dataset_event(platform, e, user)
    if not isinstance(job, dict) or not _text(job.get("namespace")) or not _text(job.get("name")):
        raise InvalidInput("an OpenLineage run event needs job.namespace and job.name")
    if not isinstance(run, dict):
        raise InvalidInput("run must be an object with a runId")
    event_type = str(e.get("eventType") or "OTHER").upper()[:20]
    event_time = _time(e.get("eventTime"))
    inputs = _datasets(e.get("inputs"), "inputs")
    outputs = _datasets(e.get("outputs"), "outputs")
    with platform.store.session() as s:
        row = OpenLineageEvent(
            user_id=user.id,
            event_type=event_type,
            event_time=event_time,
            run_id=str(run.get("runId") or "")[:64],
            job_namespace=job["namespace"][:300],
            job_name=job["name"][:500],
            producer=str(e.get("producer") or "")[:500],
            payload=e,
        )
        s.add(row)
        job_node = graph.node(s, "job", job["namespace"][:300], job["name"][:500], **_job_values(job, e))
        in_nodes = [_dataset_node(platform, s, d) for d in inputs]
        out_nodes = [_dataset_node(platform, s, d) for d in outputs]
        for n in out_nodes:
            if n.dataset_id is not None or naming.is_lake_namespace(n.namespace):
                _check_may_write(s, user, n)
        known = _known(s, user, in_nodes + out_nodes)
        summary: dict[str, Any] = {
            "event": None,
            "job": f"{job['namespace']}/{job['name']}",
            "type": event_type,
            "inputs": [_describe(n, known) for n in in_nodes],
            "outputs": [_describe(n, known) for n in out_nodes],
            "column_lineage": 0,
            "unresolved": 0,
        }
        if event_type not in _NO_LINEAGE:
            for i in in_nodes:
                for o in out_nodes:
                    graph.connect(s, i.id, o.id, origin="openlineage", job_id=job_node.id)
                if not out_nodes:
                    graph.connect(s, i.id, job_node.id, origin="openlineage", job_id=job_node.id)
            if not in_nodes:
                for o in out_nodes:
                    graph.connect(s, job_node.id, o.id, origin="openlineage", job_id=job_node.id)
            for d, n in zip(outputs, out_nodes, strict=True):
                written, gaps = _column_lineage(platform, s, d, n, job_node.id, e)
                summary["column_lineage"] += written
                summary["unresolved"] += gaps
        s.flush()
        summary["event"] = row.id
        return summary


def _dataset_event(platform: Platform, e: dict[str, Any], user: Person) -> dict[str, Any]:
    """A DatasetEvent: what it says about one dataset (schema, owners), no lineage."""
    (d,) = _datasets([e["dataset"]], "dataset")
    with platform.store.session() as s:
        row = OpenLineageEvent(
            user_id=user.id,
            event_type="DATASET",
            event_time=_time(e.get("eventTime")),
            run_id="",
            job_namespace=d["namespace"][:300],
            job_name=d["name"][:500],
            producer=str(e.get("producer") or "")[:500],
            payload=e,
        )
        s.add(row)
        n = _dataset_node(platform, s, d)
        s.flush()
        return {"event": row.id, "type": "DATASET", "dataset": _describe(n, _known(s, user, [n]))}


def _datasets(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list of datasets")
    out = []
    for d in value:
        if not isinstance(d, dict) or not _text(d.get("namespace")) or not _text(d.get("name")):
            raise InvalidInput(f"every dataset in {where} needs a namespace and a name")
        out.append(d)
    return out


def _obj(d: Any, key: str) -> dict[str, Any]:
    """`d[key]` when it is an object, else an empty one (facets are optional and loosely typed)."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, dict) else {}


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _time(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _facets(d: dict[str, Any]) -> dict[str, Any]:
    f = d.get("facets")
    return f if isinstance(f, dict) else {}


def _job_values(job: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    f = _facets(job)
    detail: dict[str, Any] = {"producer": str(e.get("producer") or "")[:300]}
    jt = _obj(f, "jobType")
    for key in ("processingType", "integration", "jobType"):
        if jt.get(key):
            detail[key] = str(jt[key])[:100]
    sql = _obj(f, "sql")
    if sql.get("query"):
        detail["sql"] = str(sql["query"])[:20_000]
    doc = _obj(f, "documentation")
    if doc.get("description"):
        detail["description"] = str(doc["description"])[:2000]
    return {"detail": detail, "owners": _owners(f)}


def _owners(facets: dict[str, Any]) -> list[str] | None:
    own = facets.get("ownership")
    if not isinstance(own, dict) or not isinstance(own.get("owners"), list):
        return None
    return [str(o.get("name"))[:200] for o in own["owners"] if isinstance(o, dict) and o.get("name")]


def _lake_name(platform: Platform, s: Session, namespace: str, name: str) -> Dataset | None:
    """The lake dataset an OpenLineage (namespace, name) means, if any."""
    full = (
        name.lower() if naming.is_lake_namespace(namespace) else naming.dataset_from_location(platform, namespace, name)
    )
    if not full:
        return None
    return s.scalars(select(Dataset).where(Dataset.full_name == full)).one_or_none()


def _dataset_node(platform: Platform, s: Session, d: dict[str, Any]) -> LineageNode:
    namespace, name = d["namespace"][:300], d["name"][:500]
    ds = _lake_name(platform, s, namespace, name)
    if ds is not None:
        return graph.dataset_node(s, ds)
    f = _facets(d)
    schema = _obj(f, "schema")
    fields = schema.get("fields") if isinstance(schema.get("fields"), list) else None
    columns = [
        {"name": str(x.get("name"))[:255], "type": str(x.get("type") or "")[:100]}
        for x in (fields or [])
        if isinstance(x, dict) and x.get("name")
    ]
    detail: dict[str, Any] = {}
    if naming.is_lake_namespace(namespace):
        detail["note"] = "named as a lake dataset, but no such dataset exists"
    return graph.node(s, "external", namespace, name, columns=columns or None, owners=_owners(f), detail=detail or None)


def _check_may_write(s: Session, user: Person, n: LineageNode) -> None:
    """Lineage into a lake name (a dataset or not, so that the answer never tells which): its domain's
    members (`lineage.write`)."""
    domain = n.name.split(".", 1)[0]
    answer = may(user, "lineage.write", DomainRef(domain))
    if not answer:
        raise Denied(
            f"{user.name} may not record lineage into {n.name}: only members of {domain} write its lineage "
            f"(rule: {answer.rule})"
        )


def _known(s: Session, user: Person, nodes: list[LineageNode]) -> set[int]:
    """Lake datasets among `nodes` that `user` may know exist."""
    ids = [n.dataset_id for n in nodes if n.dataset_id is not None]
    return set(s.scalars(select(Dataset.id).where(Dataset.id.in_(ids), knowable(user)))) if ids else set()


def _describe(n: LineageNode, known: set[int]) -> dict[str, Any]:
    lake = n.dataset_id is not None and n.dataset_id in known
    return {
        "namespace": n.namespace,
        "name": n.name,
        "kind": n.kind if lake or n.kind != "dataset" else "external",
        "lake": lake,
    }


def _column_lineage(
    platform: Platform, s: Session, d: dict[str, Any], target: LineageNode, job_id: int, e: dict[str, Any]
) -> tuple[int, int]:
    """Store the output's columnLineage facet; returns (rows written, unresolved columns)."""
    f = _facets(d)
    facet = f.get("columnLineage")
    if not isinstance(facet, dict):
        return 0, 0
    rows: list[dict[str, Any]] = []
    fields = _obj(facet, "fields")
    for column, spec in fields.items():
        if not isinstance(spec, dict):
            continue
        legacy = str(spec.get("transformationType") or "").upper()
        for inp in spec.get("inputFields") or []:
            rows.extend(_input_rows(platform, s, str(column)[:255], inp, legacy, spec))
    for inp in facet.get("dataset") or []:
        rows.extend(_input_rows(platform, s, None, inp, "", {}))
    schema = _obj(f, "schema")
    declared = [str(x.get("name")) for x in (schema.get("fields") or []) if isinstance(x, dict) and x.get("name")]
    producer = str(e.get("producer") or "the producer")[:200]
    gaps = [c for c in declared if c not in fields]
    for c in gaps:
        rows.append(
            {
                "target_column": c[:255],
                "kind": "unresolved",
                "description": f"{producer} reported no column lineage for {c}",
            }
        )
    graph.replace_column_lineage(s, target.id, [_stored(r) for r in rows], origin="openlineage", job_id=job_id)
    derived = s.scalar(select(Derivation.id).where(Derivation.dataset_id == target.dataset_id))
    lake_rows = [r for r in rows if r.get("source_dataset")]
    if target.dataset_id is not None and derived is None and lake_rows:
        ds = s.get(Dataset, target.dataset_id)
        if ds is not None:
            tags.inherit(s, ds, lake_rows, [])
    return len(rows), len(gaps)


def _input_rows(
    platform: Platform, s: Session, column: str | None, inp: Any, legacy: str, spec: dict[str, Any]
) -> list[dict[str, Any]]:
    if not isinstance(inp, dict) or not _text(inp.get("namespace")) or not _text(inp.get("name")):
        return []
    source = _dataset_node(platform, s, {"namespace": inp["namespace"], "name": inp["name"]})
    lake = source.name if source.dataset_id is not None else None
    base = {
        "target_column": column,
        "source_id": source.id,
        "source_column": str(inp.get("field") or "")[:255] or None,
        "source_dataset": lake,
    }
    out = []
    for t in inp.get("transformations") or []:
        if not isinstance(t, dict):
            continue
        subtype = str(t.get("subtype") or "").upper()
        kind = _KINDS.get(subtype) or ("identity" if str(t.get("type")).upper() == "DIRECT" and not subtype else None)
        if kind is None:
            kind = "transform" if str(t.get("type")).upper() == "DIRECT" else "filter"
        description = str(t.get("description") or spec.get("transformationDescription") or "")[:2000]
        out.append(base | {"kind": kind, "masking": bool(t.get("masking")), "description": description})
    if not out:
        kind = "identity" if legacy == "IDENTITY" else ("transform" if column else "filter")
        out.append(
            base
            | {
                "kind": kind,
                "masking": legacy == "MASKED",
                "description": str(spec.get("transformationDescription") or "")[:2000],
            }
        )
    return out


def _stored(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "source_dataset"}
