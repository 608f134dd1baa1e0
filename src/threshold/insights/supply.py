"""Insights in the supply chain: each insight is a lineage node downstream of the datasets it reads.

Lineage is where "what depends on this dataset" lives: the producer's view, impact questions and the
candidates' `dependents` signal all read it. An insight node is named by its id (`insights/42`), never by
its title, and carries its viewer count, so a producer reads "3 insights with 41 viewers depend on this"
without learning what an insight they may not view is about.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from threshold.lineage import graph
from threshold.lineage.models import LineageNode
from threshold.store.models import Dataset

NAMESPACE = "threshold.insights"
ORIGIN = "insight"


def node_name(insight_id: int) -> str:
    return f"insights/{insight_id}"


def link(s: Session, insight_id: int, dataset_ids: list[int], *, viewers: int | None = None) -> None:
    """The insight's node reads exactly these datasets."""
    node = graph.node(s, "insight", NAMESPACE, node_name(insight_id))
    detail = dict(node.detail or {})
    detail.update({"insight": insight_id, "link": f"/insights/{insight_id}"})
    if viewers is not None:
        detail["viewers"] = viewers
    detail.setdefault("viewers", 0)
    node.detail = detail
    sources = [graph.dataset_node(s, d).id for d in s.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids)))]
    graph.replace_inputs(s, node.id, sources, origin=ORIGIN, job_id=None)


def count_viewers(s: Session, insight_id: int, viewers: int) -> None:
    node = s.scalars(
        select(LineageNode).where(LineageNode.namespace == NAMESPACE, LineageNode.name == node_name(insight_id))
    ).one_or_none()
    if node is not None and (node.detail or {}).get("viewers") != viewers:
        node.detail = {**(node.detail or {}), "viewers": viewers}


def unlink(s: Session, insight_id: int) -> None:
    """An archived insight depends on nothing any more."""
    s.execute(delete(LineageNode).where(LineageNode.namespace == NAMESPACE, LineageNode.name == node_name(insight_id)))
