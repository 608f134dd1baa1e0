"""Insights: save a question (explored or SQL) with its chart, narrative and parameters; show it to each
reader through their own rights; version, fork, comment, subscribe; find it.

Every function takes the acting person and asks the decision point (`threshold.access`, actions
`insight.view|comment|fork|edit|schedule`) before anything else; an insight a person may not view does not
exist for them (NotFound, as a restricted dataset does not). Reads go through the
gateway as the reader (`results.result_for`); reruns and schedules are in `runs.py`.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from threshold import events
from threshold.access import DatasetRef, DomainRef, InsightRef, known_ref, may, refs, require
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.gateway.reuse import read_key
from threshold.identity.service import Person
from threshold.insights import charts, narrative, supply
from threshold.insights import search as insight_search
from threshold.insights.exploration import generate
from threshold.insights.explore import ExploreSpec
from threshold.insights.formatting import KeyNumber, format_table, key_numbers, resolve_locale
from threshold.insights.models import (
    AUDIENCES,
    Insight,
    InsightComment,
    InsightInput,
    InsightRun,
    InsightSubscription,
    InsightVersion,
    InsightView,
)
from threshold.insights.parameters import bind, check_sql, parse_parameters, values_for
from threshold.insights.registration import JOB_KIND
from threshold.insights.results import Computed, keep_chart, result_for
from threshold.insights.staleness import StaleReason, reasons
from threshold.jobs import schedule as schedules
from threshold.jobs import service as jobs
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, User

ACTIONS = ("view", "comment", "fork", "edit", "schedule")
"""What a person may do with an insight (`insight.<action>` at the decision point)."""
MAX_SQL = 200_000
MAX_NARRATIVE = 20_000


@dataclass
class InsightCard:
    """An insight as listings show it."""

    id: int
    title: str
    owner: str
    domain: str | None
    audience: str
    purpose: str
    version: int
    datasets: list[str]
    schedule: str | None
    last_run_at: str | None
    last_status: str | None
    stale: list[StaleReason]
    viewers: int
    forked_from: int | None
    updated_at: str | None
    link: str
    matched: str | None = None
    """In a search: why it matched ("title “scrap”"; the index's reasons, or its datasets, purpose, owner)."""


@dataclass
class InsightDetail(InsightCard):
    narrative: str = ""
    narrative_html: str = ""
    sql: str = ""
    explore: dict[str, Any] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    chart: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    author: str | None = None
    created_at: str | None = None
    forked_from_title: str | None = None
    next_run_at: str | None = None
    subscribed: bool = False
    subscribers: int = 0
    can: dict[str, bool] = field(default_factory=dict)
    versions: int = 1
    message: str = ""
    """What the action that returned it did, in a sentence (a fork says the schedule was dropped)."""


@dataclass
class ResultView:
    columns: list[dict[str, Any]]
    rows: list[list[str | None]]
    raw: list[list[Any]]
    row_count: int
    shown: int
    truncated: bool
    notes: list[str]
    snapshots: dict[str, int | None]
    newer_data: list[str]
    computed_at: str
    reused: bool
    duration_ms: float
    values: dict[str, Any]
    sql: str
    chart: dict[str, Any]
    chart_kinds: list[str]
    svg: str | None
    key_numbers: list[KeyNumber]
    locale: str


@dataclass
class CommentView:
    id: int
    by: str | None
    version: int
    body: str
    at: str | None


@dataclass
class RunView:
    at: str | None
    trigger: str
    by: str | None
    version: int
    status: str
    rows: int
    duration_ms: float
    error: str | None


@dataclass
class InsightPage:
    insight: InsightDetail
    result: ResultView | None
    error: str | None
    comments: list[CommentView]
    runs: list[RunView]


@dataclass
class InsightList:
    total: int
    page: int
    per_page: int
    items: list[InsightCard]


@dataclass
class VersionView:
    version: int
    title: str
    author: str | None
    at: str | None
    note: str


@dataclass
class FieldDiff:
    field: str
    before: str
    after: str
    lines: list[str]
    """Unified diff of the field's text."""


# --- saving -----------------------------------------------------------------------------------------


@dataclass
class _Draft:
    title: str
    narrative: str
    sql: str
    explore: dict[str, Any] | None
    parameters: list[dict[str, Any]]
    chart: dict[str, Any]
    inputs: dict[int, list[str]]


def _draft(
    platform: Platform,
    person: Person,
    *,
    title: str,
    sql: str | None,
    explore: dict[str, Any] | ExploreSpec | None,
    narrative_text: str,
    parameters: Any,
    chart: dict[str, Any] | None,
    purpose: str,
    interface: str,
) -> _Draft:
    """Check what is to be saved, and that the person may read it as it stands (through the gateway)."""
    title = " ".join((title or "").split())
    if not 1 <= len(title) <= 200:
        raise InvalidInput("an insight needs a title of 1 to 200 characters")
    if len(narrative_text or "") > MAX_NARRATIVE:
        raise InvalidInput(f"the narrative is longer than {MAX_NARRATIVE:,} characters")
    params = parse_parameters(parameters)
    spec = ExploreSpec.from_dict(explore) if isinstance(explore, dict) else explore
    text = (sql or "").strip()
    if spec is not None and not text:
        text = generate(platform, person, spec).sql
    if not text:
        raise InvalidInput("an insight needs a question: explore a dataset or write SQL")
    if len(text) > MAX_SQL:
        raise InvalidInput(f"the SQL is longer than {MAX_SQL:,} characters")
    check_sql(text, params)
    charts.ChartSpec.from_dict(chart)
    bound = bind(text, params, values_for(params, None))
    key = read_key(platform, bound, user=person, purpose=purpose or None, interface=interface)
    with platform.store.reader() as s:
        ids = dict(s.execute(select(Dataset.full_name, Dataset.id).where(Dataset.full_name.in_(key.datasets))).all())
    read = key.columns_read or {}
    return _Draft(
        title,
        narrative_text or "",
        text,
        spec.as_dict() if spec is not None else None,
        [p.as_dict() for p in params],
        charts.ChartSpec.from_dict(chart).as_dict(),
        {ids[d]: sorted(read.get(d, [])) for d in key.datasets},
    )


def save(
    platform: Platform,
    person: Person,
    *,
    title: str,
    sql: str | None = None,
    explore: dict[str, Any] | ExploreSpec | None = None,
    narrative: str = "",
    parameters: Any = None,
    chart: dict[str, Any] | None = None,
    purpose: str = "",
    audience: str = "everyone",
    domain: str | None = None,
    schedule: str | None = None,
    interface: str = "python",
) -> InsightDetail:
    """Save a result (explored or SQL) as an insight owned by `person`."""
    purpose = (purpose or "").strip()[:200]
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience is one of {', '.join(AUDIENCES)}")
    draft = _draft(
        platform,
        person,
        title=title,
        sql=sql,
        explore=explore,
        narrative_text=narrative,
        parameters=parameters,
        chart=chart,
        purpose=purpose,
        interface=interface,
    )
    home = _home_domain(person, domain)
    parsed = schedules.parse(schedule) if schedule else None
    with platform.store.session() as s:
        domain_id = s.scalars(select(Domain.id).where(Domain.name == home)).one_or_none() if home else None
        insight = Insight(
            owner_id=person.id,
            domain_id=domain_id,
            audience=audience,
            purpose=purpose,
            version=1,
            title=draft.title,
            schedule=parsed.text if parsed else None,
        )
        s.add(insight)
        s.flush()
        _add_version(s, insight, draft, person, note="first version")
        s.add(InsightSubscription(insight_id=insight.id, user_id=person.id))
        if parsed:
            jobs.plan(s, JOB_KIND, str(insight.id), parsed.text, label=draft.title, now=platform.clock())
        insight_id = insight.id
    events.publish(platform, events.InsightSaved(person.id, insight_id, audience, platform.clock()))
    return detail(platform, person, insight_id)


def _home_domain(person: Person, wanted: str | None) -> str | None:
    if wanted:
        wanted = wanted.strip().lower()
        if not may(person, "domain.member", DomainRef(wanted)):
            raise Denied(f"{person.name} is not a member of {wanted}: an insight's home is one of your domains")
        return wanted
    return (person.owner_of or person.domains or (None,))[0]


def _add_version(s: Session, insight: Insight, draft: _Draft, person: Person, *, note: str) -> None:
    s.add(
        InsightVersion(
            insight_id=insight.id,
            version=insight.version,
            title=draft.title,
            narrative=draft.narrative,
            sql=draft.sql,
            explore=draft.explore,
            parameters=draft.parameters,
            chart=draft.chart,
            author_id=person.id,
            note=note[:300],
        )
    )
    old = {i.dataset_id: i for i in s.scalars(select(InsightInput).where(InsightInput.insight_id == insight.id))}
    for dataset_id, row in old.items():
        if dataset_id not in draft.inputs:
            s.delete(row)
    for dataset_id, columns in draft.inputs.items():
        if dataset_id in old:
            old[dataset_id].columns = columns
        else:
            s.add(InsightInput(insight_id=insight.id, dataset_id=dataset_id, columns=columns))
    s.flush()
    supply.link(s, insight.id, list(draft.inputs))
    insight_search.reindex(s, [insight.id])


def update(
    platform: Platform,
    person: Person,
    ref: int | str,
    *,
    note: str = "",
    interface: str = "python",
    **changes: Any,
) -> InsightDetail:
    """A new version with `changes` (title, narrative, sql, explore, parameters, chart); audience and
    purpose change the insight itself. Nothing changed: no new version."""
    allowed = {"title", "narrative", "sql", "explore", "parameters", "chart", "audience", "purpose"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput(f"cannot change {unknown[0]!r}; change one of {', '.join(sorted(allowed))}")
    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, "edit", s, insight)
        current = _version(s, insight.id, insight.version)
    purpose = str(changes.get("purpose", insight.purpose) or "").strip()[:200]
    audience = str(changes.get("audience", insight.audience))
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience is one of {', '.join(AUDIENCES)}")
    if "sql" in changes:  # edited SQL is no longer what the clicks generate (unless new clicks come with it)
        sql, explore = changes["sql"], changes.get("explore")
    elif "explore" in changes:  # new clicks: their SQL is generated again
        sql, explore = None, changes["explore"]
    else:
        sql, explore = current.sql, current.explore
    draft = _draft(
        platform,
        person,
        title=changes.get("title", current.title),
        sql=sql,
        explore=explore,
        narrative_text=changes.get("narrative", current.narrative),
        parameters=changes.get("parameters", current.parameters),
        chart=changes.get("chart", current.chart),
        purpose=purpose,
        interface=interface,
    )
    same = (
        draft.title == current.title
        and draft.narrative == current.narrative
        and draft.sql == current.sql
        and draft.parameters == current.parameters
        and draft.chart == current.chart
        and draft.explore == current.explore
    )
    with platform.store.session() as s:
        row = s.get(Insight, insight.id)
        assert row is not None
        row.purpose, row.audience = purpose, audience
        row.updated_at = datetime.now(UTC)
        if not same:
            row.version += 1
            row.title = draft.title
            _add_version(s, row, draft, person, note=note or "edited")
            jobs_label = draft.title
            if row.schedule:
                jobs.plan(s, JOB_KIND, str(row.id), row.schedule, label=jobs_label, now=platform.clock())
    return detail(platform, person, insight.id)


def fork(platform: Platform, person: Person, ref: int | str, *, title: str | None = None) -> InsightDetail:
    """A copy of the insight's current version owned by `person` (in their domain), without its schedule."""
    with platform.store.reader() as s:
        original = _visible(s, person, ref)
        _must(person, "fork", s, original)
        v = _version(s, original.id, original.version)
    draft = _draft(
        platform,
        person,
        title=title or f"{v.title} (fork)",
        sql=v.sql,
        explore=None,
        narrative_text=v.narrative,
        parameters=v.parameters,
        chart=v.chart,
        purpose=original.purpose,
        interface="python",
    )
    draft.explore = v.explore
    home = _home_domain(person, None)
    dropped = original.schedule
    with platform.store.session() as s:
        domain_id = s.scalars(select(Domain.id).where(Domain.name == home)).one_or_none() if home else None
        copy = Insight(
            owner_id=person.id,
            domain_id=domain_id,
            audience="everyone" if original.audience == "everyone" else "private",
            purpose=original.purpose,
            version=1,
            title=draft.title,
            forked_from_id=original.id,
            forked_from_version=original.version,
        )
        s.add(copy)
        s.flush()
        note = f"forked from insight {original.id} version {original.version}"
        _add_version(s, copy, draft, person, note=note)
        s.add(InsightSubscription(insight_id=copy.id, user_id=person.id))
        copy_id = copy.id
    out = detail(platform, person, copy_id)
    out.message = f"Forked from “{v.title}” (version {original.version})." + (
        f" Its schedule ({dropped}) was not copied: schedule the fork if you want it to run by itself."
        if dropped
        else ""
    )
    return out


def set_schedule(platform: Platform, person: Person, ref: int | str, schedule: str | None) -> InsightDetail:
    """Rerun the insight on a schedule (the jobs core's grammar: daily, weekly, daily at 06:30, cron), as
    its owner; None or `manual`: only when asked."""
    parsed = schedules.parse(schedule)
    with platform.store.session() as s:
        insight = _visible(s, person, ref)
        _must(person, "schedule", s, insight)
        insight.schedule = parsed.text if parsed else None
        if parsed:
            jobs.plan(s, JOB_KIND, str(insight.id), parsed.text, label=insight.title, now=platform.clock())
        else:
            jobs.unplan(s, JOB_KIND, str(insight.id))
        insight_id = insight.id
    return detail(platform, person, insight_id)


def archive(platform: Platform, person: Person, ref: int | str) -> InsightDetail:
    """Take the insight out of listings, search and lineage (its history stays)."""
    with platform.store.session() as s:
        insight = _visible(s, person, ref)
        _must(person, "edit", s, insight)
        insight.archived_at = datetime.now(UTC)
        insight.schedule = None
        jobs.unplan(s, JOB_KIND, str(insight.id))
        supply.unlink(s, insight.id)
        s.flush()
        insight_search.reindex(s, [insight.id])
        insight_id = insight.id
    return detail(platform, person, insight_id)


def subscribe(platform: Platform, person: Person, ref: int | str, *, on: bool = True) -> InsightDetail:
    """Be told (inbox) when a run changes the numbers or fails; `on=False` stops it."""
    with platform.store.session() as s:
        insight = _visible(s, person, ref)
        _must(person, "view", s, insight)
        existing = s.get(InsightSubscription, (insight.id, person.id))
        if on and existing is None:
            s.add(InsightSubscription(insight_id=insight.id, user_id=person.id))
        elif not on and existing is not None:
            s.delete(existing)
        insight_id = insight.id
    return detail(platform, person, insight_id)


def comment(platform: Platform, person: Person, ref: int | str, body: str) -> CommentView:
    """Say something about the insight; its owner and subscribers find it in their inbox."""
    from threshold.notifications.service import notify

    text = (body or "").strip()
    if not 1 <= len(text) <= 5000:
        raise InvalidInput("a comment is 1 to 5,000 characters")
    with platform.store.session() as s:
        insight = _visible(s, person, ref)
        _must(person, "comment", s, insight)
        c = InsightComment(insight_id=insight.id, user_id=person.id, version=insight.version, body=text)
        s.add(c)
        s.flush()
        told = set(s.scalars(select(InsightSubscription.user_id).where(InsightSubscription.insight_id == insight.id)))
        told.add(insight.owner_id)
        told.discard(person.id)
        out = CommentView(c.id, person.name, c.version, c.body, _iso(c.created_at))
        title, insight_id = insight.title, insight.id
    notify(
        platform,
        sorted(told),
        "insight.comment",
        f"{person.display_name} commented on “{title}”",
        body=text[:500],
        link=f"/insights/{insight_id}#comments",
        data={"insight": insight_id},
    )
    return out


# --- reading ----------------------------------------------------------------------------------------


def detail(platform: Platform, person: Person, ref: int | str, *, version: int | None = None) -> InsightDetail:
    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, "view", s, insight)
        return _detail(s, platform, person, insight, version)


def _detail(
    s: Session, platform: Platform, person: Person, insight: Insight, version: int | None = None
) -> InsightDetail:
    v = _version(s, insight.id, version or insight.version)
    card = _cards(s, [insight])[0]
    author = s.get(User, v.author_id).name if v.author_id else None  # type: ignore[union-attr]
    parent = s.get(Insight, insight.forked_from_id) if insight.forked_from_id else None
    subscribers = list(
        s.scalars(select(InsightSubscription.user_id).where(InsightSubscription.insight_id == insight.id))
    )
    versions = s.scalar(select(func.count()).where(InsightVersion.insight_id == insight.id)) or 1
    ref = _ref(s, person, insight)
    can = {a: bool(may(person, f"insight.{a}", ref)) for a in ACTIONS}
    nxt = jobs.next_runs(s, JOB_KIND, [str(insight.id)]).get(str(insight.id)) if insight.schedule else None
    return InsightDetail(
        **asdict(card) | {"stale": card.stale},
        narrative=v.narrative,
        narrative_html=narrative.to_html(v.narrative),
        sql=v.sql,
        explore=v.explore,
        parameters=list(v.parameters or []),
        chart=dict(v.chart or {}),
        note=v.note,
        author=author,
        created_at=_iso(insight.created_at),
        forked_from_title=parent.title if parent is not None and _viewable(s, person, parent) else None,
        next_run_at=_iso(nxt),
        subscribed=person.id in subscribers,
        subscribers=len(subscribers),
        can=can,
        versions=int(versions),
    )


def page(
    platform: Platform,
    person: Person,
    ref: int | str,
    *,
    values: dict[str, Any] | None = None,
    interface: str = "python",
    locale: str | None = None,
    chart_kind: str | None = None,
    version: int | None = None,
    fresh: bool = False,
    rows: int | None = None,
) -> InsightPage:
    """The insight as `person` sees it: its result computed (or reused) under their own decision."""
    from threshold.errors import ThresholdError

    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, "view", s, insight)
        info = _detail(s, platform, person, insight, version)
        v = _version(s, insight.id, version or insight.version)
        s.expunge_all()
    chosen = resolve_locale(locale, platform.settings.insights.locale)
    result: ResultView | None = None
    error: str | None = None
    try:
        computed = result_for(platform, person, insight, v, values, interface=interface, fresh=fresh)
        result = _result_view(platform, computed, v, chosen, chart_kind, rows or platform.settings.insights.page_rows)
        _viewed(platform, insight.id, person)
    except ThresholdError as e:
        error = str(e)
    with platform.store.reader() as s:
        comments = [
            CommentView(c.id, name, c.version, c.body, _iso(c.created_at))
            for c, name in s.execute(
                select(InsightComment, User.name)
                .outerjoin(User, User.id == InsightComment.user_id)
                .where(InsightComment.insight_id == insight.id)
                .order_by(InsightComment.id)
            )
        ]
        runs = [
            RunView(_iso(r.at), r.trigger, name, r.version, r.status, r.rows, round(r.duration_ms, 1), r.error)
            for r, name in s.execute(
                select(InsightRun, User.name)
                .outerjoin(User, User.id == InsightRun.user_id)
                .where(InsightRun.insight_id == insight.id, InsightRun.trigger != "view")
                .order_by(InsightRun.id.desc())
                .limit(10)
            )
        ]
    return InsightPage(info, result, error, comments, runs)


def chart_of(
    platform: Platform, computed: Computed, version: InsightVersion, chart_kind: str | None = None
) -> tuple[charts.ChartSpec, str | None]:
    """The resolved chart of a result and its SVG (drawn once per kept result)."""
    spec = charts.ChartSpec.from_dict(version.chart)
    if chart_kind:
        spec = charts.ChartSpec.from_dict(spec.as_dict() | {"kind": chart_kind})
    if not spec.title:
        spec.title = version.title
    resolved = charts.resolve(computed.table, spec)
    if resolved.kind == "table":
        return resolved, None
    key = resolved.key()
    svg = computed.charts.get(key)
    if svg is None:
        svg = charts.svg(computed.table, resolved)
        keep_chart(platform, computed.key, key, svg)
    return resolved, svg


def _result_view(
    platform: Platform, computed: Computed, v: InsightVersion, locale: str, chart_kind: str | None, rows: int
) -> ResultView:
    resolved, svg = chart_of(platform, computed, v, chart_kind)
    table = format_table(computed.table, locale, limit=rows)
    return ResultView(
        columns=[{"name": c.name, "type": c.type, "kind": c.kind, "numeric": c.numeric} for c in table.columns],
        rows=table.rows,
        raw=table.raw,
        row_count=computed.table.num_rows,
        shown=len(table.rows),
        truncated=computed.truncated,
        notes=computed.notes,
        snapshots=computed.snapshots,
        newer_data=computed.newer_data,
        computed_at=computed.computed_at.isoformat(timespec="seconds"),
        reused=computed.reused,
        duration_ms=round(computed.duration_ms, 1),
        values=computed.values,
        sql=computed.sql,
        chart=resolved.as_dict(),
        chart_kinds=charts.possible(computed.table),
        svg=svg,
        key_numbers=key_numbers(computed.table, resolved.x, resolved.y, locale),
        locale=locale,
    )


def _viewed(platform: Platform, insight_id: int, person: Person) -> None:
    """Count the viewer (distinct viewers are what producers see); lineage hears of a new one."""
    now = datetime.now(UTC)
    with platform.store.session() as s:
        row = s.get(InsightView, (insight_id, person.id))
        if row is not None:
            row.views += 1
            row.last_at = now
            return
        s.add(InsightView(insight_id=insight_id, user_id=person.id, views=1, first_at=now, last_at=now))
        s.flush()
        n = s.scalar(select(func.count()).where(InsightView.insight_id == insight_id)) or 0
        supply.count_viewers(s, insight_id, int(n))


def versions(platform: Platform, person: Person, ref: int | str) -> list[VersionView]:
    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, "view", s, insight)
        return [
            VersionView(v.version, v.title, name, _iso(v.created_at), v.note)
            for v, name in s.execute(
                select(InsightVersion, User.name)
                .outerjoin(User, User.id == InsightVersion.author_id)
                .where(InsightVersion.insight_id == insight.id)
                .order_by(InsightVersion.version.desc())
            )
        ]


def diff(platform: Platform, person: Person, ref: int | str, a: int, b: int) -> list[FieldDiff]:
    """What changed from version `a` to version `b`, field by field (unchanged fields left out)."""
    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, "view", s, insight)
        va, vb = _version(s, insight.id, a), _version(s, insight.id, b)
    out = []
    for name in ("title", "narrative", "sql", "parameters", "chart", "explore"):
        before, after = _text(getattr(va, name)), _text(getattr(vb, name))
        if before != after:
            lines = list(
                difflib.unified_diff(
                    before.splitlines(), after.splitlines(), f"version {a}", f"version {b}", lineterm="", n=2
                )
            )
            out.append(FieldDiff(name, before, after, lines))
    return out


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


def listing(
    platform: Platform,
    person: Person,
    *,
    search: str | None = None,
    dataset: str | None = None,
    owner: str | None = None,
    domain: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> InsightList:
    """Insights `person` may view, newest first; `search` matches title, narrative, purpose, datasets and
    owner; `dataset` lists those built on it."""
    if page < 1 or not 1 <= per_page <= 1000:
        raise InvalidInput("page starts at 1 and per_page is between 1 and 1000")
    with platform.store.reader() as s:
        q = select(Insight).where(Insight.archived_at.is_(None))
        if owner:
            q = q.join(User, User.id == Insight.owner_id).where(User.name == owner.strip().lower())
        if domain:
            q = q.join(Domain, Domain.id == Insight.domain_id).where(Domain.name == domain.strip().lower())
        if dataset:
            ds = known_ref(platform, person, dataset).id  # kept per metadata version: a page looked it up already
            q = q.where(Insight.id.in_(select(InsightInput.insight_id).where(InsightInput.dataset_id == ds)))
        why: dict[int, str] = {}
        if search and search.strip():
            like = f"%{_escape(search.strip().lower())}%"
            why = insight_search.found(s, search.strip()[:200], lambda ids: _viewable_ids(s, person, ids))
            named = (
                select(InsightInput.insight_id)
                .join(Dataset, Dataset.id == InsightInput.dataset_id)
                .where(func.lower(Dataset.full_name).like(like, escape="\\"))
            )
            owners = select(User.id).where(func.lower(User.name).like(like, escape="\\"))
            q = q.where(
                or_(
                    Insight.id.in_(sorted(why)),
                    Insight.id.in_(named),
                    func.lower(Insight.purpose).like(like, escape="\\"),
                    Insight.owner_id.in_(owners),
                )
            )
        rows = list(s.scalars(q.order_by(Insight.updated_at.desc(), Insight.id.desc())))
        shown = viewable(s, person, rows)  # the decision point's `insight.view`, before anything is counted
        if why:  # matched in title or narrative first
            shown.sort(key=lambda i: i.id not in why)
        total = len(shown)
        chunk = shown[(page - 1) * per_page : page * per_page]
        cards = _cards(s, chunk)
        for card in cards:
            card.matched = why.get(card.id) or (_other_match(card, search) if search and search.strip() else None)
        return InsightList(total, page, per_page, cards)


def _other_match(card: InsightCard, search: str) -> str | None:
    """Why an insight that the index did not find matched: its datasets, purpose or owner (by their text)."""
    typed = search.strip().lower()
    if any(typed in d for d in card.datasets):
        return f"dataset “{typed}”"
    if typed in card.purpose.lower():
        return f"purpose “{typed}”"
    if typed in card.owner.lower():
        return f"owner “{typed}”"
    return None


def built_on(platform: Platform, person: Person, dataset: str, *, limit: int = 10) -> InsightList:
    """ "4 insights built on this": the insights on `dataset` that `person` may view."""
    return listing(platform, person, dataset=dataset, per_page=limit)


# --- rules and lookups --------------------------------------------------------------------------------


def _load(s: Session, ref: int | str) -> Insight:
    text = str(ref).strip().lstrip("#")
    if not text.isdigit():
        raise NotFound(f"no insight {str(ref)[:40]!r}: insights are named by number")
    insight = s.get(Insight, int(text)) if len(text) <= 18 else None  # beyond a 64-bit id: none such
    if insight is None:
        raise NotFound(f"no insight {text}")
    return insight


def _visible(s: Session, person: Person, ref: int | str) -> Insight:
    """The insight, or NotFound when `person` may not view it (it does not exist for them)."""
    insight = _load(s, ref)
    if not may(person, "insight.view", _ref(s, person, insight)):
        raise NotFound(f"no insight {insight.id}")
    return insight


def _must(person: Person, action: str, s: Session, insight: Insight) -> None:
    require(person, f"insight.{action}", _ref(s, person, insight))


def _ref(s: Session, person: Person, insight: Insight) -> InsightRef:
    """The insight as the decision point sees it: owner, home, audience and the datasets it reads."""
    ids = list(s.scalars(select(InsightInput.dataset_id).where(InsightInput.insight_id == insight.id)))
    datasets = refs(s, person, ids) if ids else {}
    domain = s.scalars(select(Domain.name).where(Domain.id == insight.domain_id)).one_or_none()
    return InsightRef(insight.id, insight.owner_id, domain, insight.audience, tuple(datasets.values()))


def _viewable(s: Session, person: Person, insight: Insight) -> bool:
    return insight.archived_at is None and bool(may(person, "insight.view", _ref(s, person, insight)))


def _viewable_ids(s: Session, person: Person, ids: set[int]) -> set[int]:
    """Those of insights `ids` (not archived) that `person` may view."""
    rows = s.scalars(select(Insight).where(Insight.id.in_(sorted(ids)), Insight.archived_at.is_(None)))
    return {i.id for i in viewable(s, person, list(rows))}


def viewable(s: Session, person: Person, insights: list[Insight]) -> list[Insight]:
    """The insights `person` may view (the datasets they read looked up once for all of them)."""
    if not insights:
        return []
    ids = [i.id for i in insights]
    inputs: dict[int, list[int]] = {}
    for insight_id, dataset_id in s.execute(
        select(InsightInput.insight_id, InsightInput.dataset_id).where(InsightInput.insight_id.in_(ids))
    ):
        inputs.setdefault(insight_id, []).append(dataset_id)
    known: dict[int, DatasetRef] = refs(s, person, sorted({d for ds in inputs.values() for d in ds}))
    domains = dict(s.execute(select(Domain.id, Domain.name)).all())
    out = []
    for i in insights:
        datasets = tuple(known[d] for d in inputs.get(i.id, []) if d in known)
        ref = InsightRef(i.id, i.owner_id, domains.get(i.domain_id or 0), i.audience, datasets)
        if may(person, "insight.view", ref):
            out.append(i)
    return out


def _cards(s: Session, insights: list[Insight]) -> list[InsightCard]:
    if not insights:
        return []
    ids = [i.id for i in insights]
    names: dict[int, list[str]] = {}
    for insight_id, name in s.execute(
        select(InsightInput.insight_id, Dataset.full_name)
        .join(Dataset, Dataset.id == InsightInput.dataset_id)
        .where(InsightInput.insight_id.in_(ids))
        .order_by(Dataset.full_name)
    ):
        names.setdefault(insight_id, []).append(name)
    viewers = dict(
        s.execute(
            select(InsightView.insight_id, func.count())
            .where(InsightView.insight_id.in_(ids))
            .group_by(InsightView.insight_id)
        ).all()
    )
    owners = dict(s.execute(select(User.id, User.name).where(User.id.in_({i.owner_id for i in insights}))).all())
    domains = dict(s.execute(select(Domain.id, Domain.name)).all())
    stale = reasons(s, insights)
    return [
        InsightCard(
            id=i.id,
            title=i.title,
            owner=owners.get(i.owner_id, "?"),
            domain=domains.get(i.domain_id or 0),
            audience=i.audience,
            purpose=i.purpose,
            version=i.version,
            datasets=names.get(i.id, []),
            schedule=i.schedule,
            last_run_at=_iso(i.last_run_at),
            last_status=i.last_status,
            stale=stale.get(i.id, []),
            viewers=int(viewers.get(i.id, 0)),
            forked_from=i.forked_from_id,
            updated_at=_iso(i.updated_at),
            link=f"/insights/{i.id}",
        )
        for i in insights
    ]


def _version(s: Session, insight_id: int, version: int) -> InsightVersion:
    v = s.scalars(
        select(InsightVersion).where(InsightVersion.insight_id == insight_id, InsightVersion.version == version)
    ).one_or_none()
    if v is None:
        raise NotFound(f"insight {insight_id} has no version {version}")
    return v


def load_for(
    platform: Platform, person: Person, ref: int | str, action: str = "view"
) -> tuple[Insight, InsightVersion]:
    """The insight and its current version, for `action` by `person` (exports, runs)."""
    with platform.store.reader() as s:
        insight = _visible(s, person, ref)
        _must(person, action, s, insight)
        v = _version(s, insight.id, insight.version)
        s.expunge_all()
        return insight, v


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
