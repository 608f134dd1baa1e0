"""Source systems: the systems shared data comes from, each with an accountable owner.

A share may name its source system (`threshold share FILE --domain D --source-system erp`, or
`share(..., source_system="erp")`): the dataset's upstream then ends at the system and its owner,
which is where "fix it at the source" sends problems. Every file share also records the file.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from threshold.access import PersonRef, may
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.lineage import graph, naming
from threshold.lineage.models import LineageEdge, LineageNode, SourceSystem
from threshold.lineage.results import SourceSystemRow
from threshold.names import check_name
from threshold.platform import Platform
from threshold.store.models import User


def add_source(
    platform: Platform,
    name: str,
    *,
    owner: str,
    kind: str = "application",
    description: str = "",
    user: Person | None = None,
) -> SourceSystemRow:
    """Register a source system owned by the person `owner`."""
    check_name("source system", name)
    if user is not None:
        answer = may(user, "source.register", PersonRef(-1, owner))
        if not answer:
            raise Denied(f"{user.name} may not register source systems (rule: {answer.rule} needs a domain owner)")
    kind = (kind or "application").strip().lower()
    if not kind or len(kind) > 30:
        raise InvalidInput("the kind of a source system is a short word, e.g. database, application, files")
    with platform.store.session() as s:
        owner_id = s.scalar(select(User.id).where(User.name == owner))
        if owner_id is None:
            raise NotFound(f"no user {owner!r} to own {name}; add one with `threshold user add {owner}`")
        if s.scalar(select(SourceSystem.id).where(SourceSystem.name == name)) is not None:
            raise Conflict(f"source system {name!r} exists already")
        system = SourceSystem(name=name, kind=kind, owner_id=owner_id, description=description)
        s.add(system)
        s.flush()
        graph.node(s, "source", naming.SOURCE, name, source_system_id=system.id, detail={"kind": kind})
        return _describe(s, system)


def list_sources(platform: Platform) -> list[SourceSystemRow]:
    with platform.store.reader() as s:
        return [_describe(s, x) for x in s.scalars(select(SourceSystem).order_by(SourceSystem.name))]


def _describe(s: Session, system: SourceSystem) -> SourceSystemRow:
    owner = s.scalar(select(User.name).where(User.id == system.owner_id))
    fed = s.scalar(
        select(func.count())
        .select_from(LineageEdge)
        .join(LineageNode, LineageNode.id == LineageEdge.src_id)
        .where(LineageNode.source_system_id == system.id)
    )
    return SourceSystemRow(
        name=system.name,
        kind=system.kind,
        owner=owner,
        description=system.description,
        datasets=int(fed or 0),
        created_at=system.created_at.isoformat(timespec="seconds") if system.created_at else None,
    )


def check_source(platform: Platform, name: str) -> None:
    """Fail before any work when a share names a source system that does not exist."""
    with platform.store.reader() as s:
        if s.scalar(select(SourceSystem.id).where(SourceSystem.name == name)) is None:
            raise NotFound(f"no source system {name!r}; add it with `threshold source add {name} --owner USER`")


def source_node(s: Session, name: str) -> LineageNode:
    system = s.scalars(select(SourceSystem).where(SourceSystem.name == name)).one_or_none()
    if system is None:
        raise NotFound(f"no source system {name!r}; add it with `threshold source add {name} --owner USER`")
    return graph.node(s, "source", naming.SOURCE, name, source_system_id=system.id, detail={"kind": system.kind})
