"""Boards: an ordered collection of insights per domain or topic, with one shared parameter (the plant),
as the weekly review page that replaces a slide deck.

A board shows each insight the reader may view, computed as the reader (masks and filters are theirs);
an insight the reader may not view is left out without a trace. The board's parameter is passed to every
insight that has a parameter of that name; the others show their own defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from threshold.access import BoardRef, DomainRef, may
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.identity.service import Person
from threshold.insights import service
from threshold.insights.models import Board, BoardItem, Insight
from threshold.insights.parameters import Parameter, coerce, parse_parameters
from threshold.platform import Platform
from threshold.store.models import Domain, User

MAX_ITEMS = 50


@dataclass
class BoardCard:
    id: int
    title: str
    description: str
    owner: str
    domain: str | None
    topic: str
    parameter: dict[str, Any] | None
    insights: int
    link: str
    updated_at: str | None


@dataclass
class BoardPage:
    board: BoardCard
    value: Any
    """The shared parameter's value shown (the one asked for, else its default)."""
    items: list[service.InsightPage] = field(default_factory=list)
    can_edit: bool = False


def create(
    platform: Platform,
    person: Person,
    *,
    title: str,
    description: str = "",
    domain: str | None = None,
    topic: str = "",
    parameter: dict[str, Any] | None = None,
    insights: list[int] | None = None,
) -> BoardCard:
    title = " ".join((title or "").split())
    if not 1 <= len(title) <= 200:
        raise InvalidInput("a board needs a title of 1 to 200 characters")
    shared = _parameter(parameter)
    home = (domain or "").strip().lower() or (person.owner_of or person.domains or (None,))[0]
    if home and not may(person, "domain.member", DomainRef(home)):
        raise Denied(f"{person.name} is not a member of {home}: a board's home is one of your domains")
    with platform.store.session() as s:
        domain_id = s.scalars(select(Domain.id).where(Domain.name == home)).one_or_none() if home else None
        board = Board(
            title=title,
            description=(description or "")[:5000],
            owner_id=person.id,
            domain_id=domain_id,
            topic=(topic or "")[:100],
            parameter=shared.as_dict() if shared else None,
        )
        s.add(board)
        s.flush()
        board_id = board.id
    for insight_id in insights or []:
        add(platform, person, board_id, insight_id)
    return card(platform, person, board_id)


def _parameter(raw: dict[str, Any] | None) -> Parameter | None:
    if not raw:
        return None
    return parse_parameters([raw])[0]


def add(platform: Platform, person: Person, board_ref: int | str, insight_ref: int | str) -> BoardCard:
    """Put an insight (one the person may view) at the end of the board."""
    insight = service.detail(platform, person, insight_ref)
    with platform.store.session() as s:
        board = _editable(s, person, board_ref)
        if s.get(BoardItem, (board.id, insight.id)) is None:
            count = s.scalar(select(func.count()).where(BoardItem.board_id == board.id)) or 0
            if count >= MAX_ITEMS:
                raise InvalidInput(f"a board holds at most {MAX_ITEMS} insights")
            last = s.scalar(select(func.max(BoardItem.position)).where(BoardItem.board_id == board.id))
            s.add(BoardItem(board_id=board.id, insight_id=insight.id, position=(last or 0) + 1))
        board.updated_at = datetime.now(UTC)
        board_id = board.id
    return card(platform, person, board_id)


def remove(platform: Platform, person: Person, board_ref: int | str, insight_id: int) -> BoardCard:
    with platform.store.session() as s:
        board = _editable(s, person, board_ref)
        s.execute(delete(BoardItem).where(BoardItem.board_id == board.id, BoardItem.insight_id == int(insight_id)))
        board_id = board.id
    return card(platform, person, board_id)


def reorder(platform: Platform, person: Person, board_ref: int | str, order: list[int]) -> BoardCard:
    """Insights in this order (those not named keep their place after them)."""
    with platform.store.session() as s:
        board = _editable(s, person, board_ref)
        items = {i.insight_id: i for i in s.scalars(select(BoardItem).where(BoardItem.board_id == board.id))}
        rest = sorted((i for k, i in items.items() if k not in order), key=lambda i: i.position)
        position = 1
        for insight_id in [*order, *(i.insight_id for i in rest)]:
            if insight_id in items:
                items[insight_id].position = position
                position += 1
        board_id = board.id
    return card(platform, person, board_id)


def listing(platform: Platform, person: Person) -> list[BoardCard]:
    with platform.store.reader() as s:
        ids = list(s.scalars(select(Board.id).order_by(Board.updated_at.desc(), Board.id.desc())))
    return [card(platform, person, i) for i in ids]


def card(platform: Platform, person: Person, ref: int | str) -> BoardCard:
    with platform.store.reader() as s:
        board = _load(s, ref)
        visible = _visible_items(s, person, board.id)
        owner = s.get(User, board.owner_id)
        domain = s.scalars(select(Domain.name).where(Domain.id == board.domain_id)).one_or_none()
        return BoardCard(
            board.id,
            board.title,
            board.description,
            owner.name if owner else "?",
            domain,
            board.topic,
            board.parameter,
            len(visible),
            f"/boards/{board.id}",
            _iso(board.updated_at),
        )


def show(
    platform: Platform,
    person: Person,
    ref: int | str,
    *,
    value: Any = None,
    interface: str = "python",
    locale: str | None = None,
) -> BoardPage:
    """The board as `person` sees it, each insight computed (or reused) as them with the shared value."""
    info = card(platform, person, ref)
    shared = _parameter(info.parameter)
    chosen = coerce(shared, value) if shared and value not in (None, "") else (shared.default if shared else None)
    with platform.store.reader() as s:
        items = _visible_items(s, person, info.id)
        owner_id = s.get(Board, info.id).owner_id  # type: ignore[union-attr]
    pages = []
    for insight_id in items:
        values = _values_for(platform, person, insight_id, shared, chosen)
        pages.append(service.page(platform, person, insight_id, values=values, interface=interface, locale=locale))
    can_edit = bool(may(person, "board.edit", BoardRef(info.id, owner_id, info.domain)))
    return BoardPage(info, chosen, pages, can_edit)


def _values_for(
    platform: Platform, person: Person, insight_id: int, shared: Parameter | None, chosen: Any
) -> dict[str, Any] | None:
    if shared is None or chosen in (None, ""):
        return None
    d = service.detail(platform, person, insight_id)
    names = {p["name"] for p in d.parameters}
    return {shared.name: chosen} if shared.name in names else None


def values_for_insight(
    platform: Platform, person: Person, board: BoardCard, insight_id: int, value: Any
) -> dict[str, Any] | None:
    """The parameter values an insight of the board runs with (exports use the same)."""
    shared = _parameter(board.parameter)
    chosen = coerce(shared, value) if shared and value not in (None, "") else (shared.default if shared else None)
    return _values_for(platform, person, insight_id, shared, chosen)


def visible_items(platform: Platform, person: Person, ref: int | str) -> list[int]:
    with platform.store.reader() as s:
        return _visible_items(s, person, _load(s, ref).id)


def _visible_items(s: Session, person: Person, board_id: int) -> list[int]:
    rows = list(
        s.scalars(
            select(Insight)
            .join(BoardItem, BoardItem.insight_id == Insight.id)
            .where(BoardItem.board_id == board_id, Insight.archived_at.is_(None))
            .order_by(BoardItem.position, Insight.id)
        )
    )
    return [i.id for i in service.viewable(s, person, rows)]


def _load(s: Session, ref: int | str) -> Board:
    text = str(ref).strip().lstrip("#")
    board = s.get(Board, int(text)) if text.isdigit() and len(text) <= 18 else None
    if board is None:
        raise NotFound(f"no board {str(ref)[:40]!r}: boards are named by number")
    return board


def _editable(s: Session, person: Person, ref: int | str) -> Board:
    board = _load(s, ref)
    domain = s.scalars(select(Domain.name).where(Domain.id == board.domain_id)).one_or_none()
    answer = may(person, "board.edit", BoardRef(board.id, board.owner_id, domain))
    if not answer:
        raise Denied(f"{person.name} may not change board {board.id}: {answer.reason} (rule: {answer.rule})")
    return board


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
