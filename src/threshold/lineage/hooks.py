"""Lineage's subscribers to what sharing announces (declared in `lineage/registration.py`).

- `share_starting` (SYNC): the source system a share names exists.
- `dataset_published` (SYNC, inside the share's publish transaction): the dataset's node; for a
  derivation run (`derivation_runs.deriving`), its derivation record, run, edges, column lineage and
  inherited tags; for a file or frame share, the file (and the named source system) upstream of the
  dataset; the OpenLineage event for the share in the outbox. All of it commits or rolls back with
  the share.
- `schema_changed` (SYNC, same transaction): a message to every downstream owner and recent
  consumer; the downstream domains' webhooks are sent after the commit.
- `dataset_published` (AFTER_COMMIT): OpenLineage deliveries start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from threshold.events import DatasetPublished, SchemaChanged, ShareStarting
from threshold.identity.service import Person
from threshold.lineage import derivation_runs, graph, naming, openlineage_out
from threshold.lineage.models import LineageNode
from threshold.lineage.owners import dataset_owners, times
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain
from threshold.usage.service import recent_consumers

log = logging.getLogger(__name__)


def check_share(platform: Platform, e: ShareStarting) -> None:
    """Before a share does any work: the source system it names exists."""
    if e.source_system:
        from threshold.lineage.sources import check_source

        check_source(platform, e.source_system)


def published(platform: Platform, e: DatasetPublished) -> None:
    """In the publish transaction, after the dataset, columns and tags are written."""
    s, ds = e.session, e.dataset
    node = graph.dataset_node(s, ds)
    columns = [
        (c.name, c.type) for c in s.scalars(select(Column).where(Column.dataset_id == ds.id).order_by(Column.position))
    ]
    spec = derivation_runs.current(ds.full_name)
    if spec is not None:
        derivation_runs.record_run(platform, s, ds, node, spec, snapshot_id=e.snapshot_id, columns=columns)
    else:
        _record_source(platform, s, ds, node, e.user, e.mode, e.snapshot_id, e.source_info, columns)


def deliver_events(platform: Platform, e: DatasetPublished) -> None:
    """After the share committed: send its OpenLineage events."""
    if openlineage_out.enabled(platform):
        openlineage_out.deliver_async(platform)


def schema_changed(platform: Platform, e: SchemaChanged) -> None:
    """In the publish transaction: tell downstream owners and recent consumers; webhooks after the commit."""
    s, ds = e.session, e.dataset
    after = _schema_changed(platform, s, ds, graph.dataset_node(s, ds), e.user, e.changes)
    if after:
        event.listen(s, "after_commit", lambda _session: _run_all(after), once=True)


def _run_all(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        try:
            action()
        except Exception:  # the share is committed; a webhook or an event left undelivered is recorded
            log.exception("after a share: a delivery could not be started")


def _record_source(
    platform: Platform,
    s: Session,
    ds: Dataset,
    node: LineageNode,
    user: Person,
    mode: str,
    snapshot_id: int,
    source_info: dict[str, Any],
    columns: list[tuple[str, str]],
) -> None:
    domain = ds.full_name.split(".", 1)[0]
    inputs: list[dict[str, Any]] = []
    fmt = str(source_info.get("source_format") or "")
    source_name = str(source_info.get("source_name") or "")
    system = source_info.get("source_system")
    table = source_info.get("source_table")
    if table and system:
        # A database table synced from a registered source system: system -> table -> dataset.
        from threshold.lineage.sources import source_node

        system_node = source_node(s, str(system))
        table_node = graph.node(s, "table", naming.table_namespace(str(system)), str(table))
        graph.connect(s, system_node.id, table_node.id, origin="source")
        graph.connect(s, table_node.id, node.id, origin="share")
        inputs.append({"namespace": naming.table_namespace(str(system)), "name": str(table)})
        system = None  # connected through its table
    elif fmt and fmt != "arrow" and source_name:
        detail = {"format": fmt, "sha256": source_info.get("sha256"), "shared_by": user.name}
        file_node = graph.node(
            s, "file", naming.file_namespace(domain), source_name, detail={k: v for k, v in detail.items() if v}
        )
        graph.connect(s, file_node.id, node.id, origin="share")
        inputs.append({"namespace": "file", "name": f"{domain}/{source_name}"})
    if system:
        from threshold.lineage.sources import source_node

        graph.connect(s, source_node(s, str(system)).id, node.id, origin="source")
        inputs.append({"namespace": naming.SOURCE, "name": str(system)})
    if not openlineage_out.enabled(platform):
        return  # no event to send: do not build one (nor import the OpenLineage classes)
    openlineage_out.enqueue(
        s,
        platform,
        openlineage_out.run_event(
            platform,
            state="COMPLETE",
            run_id=_uuid(),
            job=naming.share_job(ds.full_name),
            job_type="SHARE",
            inputs=inputs,
            owner=user.name,
            outputs=[
                openlineage_out.lake_dataset(
                    platform,
                    ds.full_name,
                    schema=openlineage_out.schema_facet(columns),
                    version=openlineage_out.version_facet(snapshot_id),
                )
            ],
        ),
    )


def _schema_changed(
    platform: Platform, s: Session, ds: Dataset, node: LineageNode, user: Person, changes: list[str]
) -> list[Callable[[], None]]:
    """Tell downstream owners and recent consumers that `ds`'s schema changed; returns webhook sends."""
    from threshold.notifications.models import Notification

    reach = graph.walk(s, node.id, direction="downstream", depth=10, limit=5000)
    downstream_nodes = [
        n for n in s.scalars(select(LineageNode).where(LineageNode.id.in_(list(reach.levels)))) if n.id != node.id
    ]
    downstream = {n.dataset_id: n.name for n in downstream_nodes if n.dataset_id is not None}
    owners = dataset_owners(s, downstream)
    consumers = recent_consumers(s, [ds.id])[ds.id]
    why: dict[int, list[str]] = {}
    for ds_id, own in owners.items():
        for uid in own.user_ids:
            why.setdefault(uid, []).append(f"you own {downstream[ds_id]}, which is built on it")
    for c in consumers:
        why.setdefault(c["user_id"], []).append(f"you read it {times(c['queries'])} in the last 30 days")
    why.pop(user.id, None)
    change = "; ".join(changes)
    names = sorted(downstream.values())
    external = sorted(n.name for n in downstream_nodes if n.dataset_id is None and n.kind in ("external", "job"))
    for uid, reasons in sorted(why.items()):
        body = (
            f"{user.name} changed the schema of {ds.full_name}: {change}. You are told because "
            + " and ".join(reasons)
            + "."
            + (f" Built on it: {', '.join(names[:20])}." if names else "")
            + (f" Also read by external jobs: {', '.join(external[:10])}." if external else "")
        )
        s.add(
            Notification(
                user_id=uid,
                kind="schema.changed",
                title=f"{ds.full_name} changed its schema",
                body=body,
                link=f"/lineage/{ds.full_name}",
                dataset_id=ds.id,
                data={"dataset": ds.full_name, "changes": changes, "downstream": names, "external": external},
            )
        )
    q = select(Domain.name).join(Dataset, Dataset.domain_id == Domain.id).where(Dataset.id.in_(downstream))
    domains = sorted(set(s.scalars(q)))
    payload = {"dataset": ds.full_name, "changes": changes, "by": user.name, "downstream": names}

    def send(domain: str) -> Callable[[], None]:
        def go() -> None:
            from threshold.notifications.service import emit

            emit(platform, domain, "schema.changed", payload)

        return go

    return [send(d) for d in domains]


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
