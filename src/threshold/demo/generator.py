"""`build_demo`: a believable company in a Threshold home, with weeks of real usage behind it.

Order: domains and people, then every dataset shared by a member of its domain (dated in the
three weeks before the simulated usage, HR's spreadsheets months before), then the weeks of usage
through the gateway, with the weekly datasets shared again at the start of each week; then insights,
glossary, register, erasure, the learning cohort, the domains' stewardship (products, problems, access
requests) and the maturity snapshots. A home that already holds the demo is
left alone, so `make run` twice is fast; a build that was interrupted before any usage was
recorded picks up where it stopped.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, update

from threshold.demo import company, public
from threshold.demo.catalog import DatasetSpec, catalog, write_file
from threshold.demo.usage import simulate
from threshold.demo.world import DEPARTMENTS, Timeline, World, make_world
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import (
    DEMO_PASSWORD_HINT,
    DEMO_ROLE,
    Person,
    add_domain,
    add_user,
    ensure_admin,
    get_person,
    join_domain,
    set_password,
)
from threshold.platform import Platform
from threshold.sharing.service import ShareResult, share
from threshold.store.models import Dataset, Domain, Share, UsageEvent, User
from threshold.usage.service import dataset_usage, org_usage

if TYPE_CHECKING:
    from threshold.products.results import CandidateRow

STORY_DATASET = "manufacturing.plant_kpis"


def build_demo(
    platform: Platform,
    *,
    scale: float = 1.0,
    log: Callable[[str], None] = print,
    weeks: int = 8,
    seed: int = 42,
) -> str:
    """Build the demo organisation in `platform`'s home (or find it built) and return a summary for people."""
    if not scale > 0 or weeks < 1:
        raise InvalidInput("the demo needs a scale above 0 and at least one week of usage")
    started = time.perf_counter()
    platform.init()
    ensure_admin(platform)
    if _built(platform):
        return summary(platform)

    timeline = Timeline(now=datetime.now(UTC).replace(microsecond=0), weeks=weeks)
    specs = company.people(scale, seed)
    log(f"creating {len(company.DOMAINS)} domains and {len(specs)} people…")
    people = _create_people(platform, specs)
    world = make_world(seed, scale, timeline, [(p.display_name, _department(p), p.site) for p in specs])
    members = _members(specs)
    datasets = catalog(scale, members, public.available, seed)
    log(f"sharing {len(datasets)} datasets…")
    with tempfile.TemporaryDirectory(prefix="threshold-demo-") as tmp:
        weekly = _share_all(platform, datasets, people, world, Path(tmp), log)
        log(f"simulating {weeks} weeks of usage…")
        names = {d.full_name for d in datasets}
        base_of = {(d.domain, d.build): d.full_name for d in datasets if not d.variant}
        variants: dict[str, list[str]] = {}  # dataset -> its site variants
        for d in datasets:
            if d.variant:
                variants.setdefault(base_of[(d.domain, d.build)], []).append(d.full_name)
        simulate(
            platform,
            people,
            world,
            names,
            variants,
            seed=seed,
            log=log,
            before_week=lambda k: _share_week(platform, k, weekly, world, Path(tmp)),
        )
    from threshold.demo.glossary import build_glossary
    from threshold.demo.insights import build_insights

    build_insights(platform, log)
    build_glossary(platform, log)
    from threshold.demo.compliance import build_register

    build_register(platform, log)
    from threshold.demo.erasure import build_erasure

    build_erasure(platform, log)
    from threshold.demo.literacy import build_literacy

    build_literacy(platform, log)
    from threshold.demo.stewardship import build_stewardship

    build_stewardship(platform, timeline, log)
    from threshold.demo.maturity import build_maturity

    build_maturity(platform, timeline, log)
    found = _announce_candidates(platform, log)
    return summary(platform, seconds=time.perf_counter() - started, candidates=found)


def _announce_candidates(platform: Platform, log: Callable[[str], None]) -> list[CandidateRow]:
    """Count the weeks of usage into the consumption rollups; owners get the candidates that emerged."""
    from threshold.products.candidates import list_candidates

    found = list_candidates(platform).candidates
    log(f"{len(found)} promotion candidates emerged: {', '.join(c.dataset for c in found)}")
    return found


def _built(platform: Platform) -> bool:
    """The demo is here when Manufacturing has datasets and usage has been recorded."""
    with platform.store.session() as s:
        has_data = s.scalar(
            select(func.count(Dataset.id))
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Domain.name == "manufacturing")
        )
        has_usage = s.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.status == "ok"))
    return bool(has_data) and bool(has_usage)


def _department(p: company.PersonSpec) -> str:
    return DEPARTMENTS[[d.name for d in company.DOMAINS].index(p.domains[0])]


def _members(specs: list[company.PersonSpec]) -> dict[str, list[str]]:
    """Domain -> its people in this build, owners first."""
    out: dict[str, list[str]] = {d.name: [] for d in company.DOMAINS}
    for p in sorted(specs, key=lambda p: not p.owner):
        for d in p.domains:
            out[d].append(p.name)
    return out


def _create_people(platform: Platform, specs: list[company.PersonSpec]) -> dict[str, tuple[company.PersonSpec, Person]]:
    """Domains, people and memberships (skipping what exists); every demo person's password is `demo`."""
    with platform.store.session() as s:
        domains = set(s.scalars(select(Domain.name)))
        users = set(s.scalars(select(User.name)))
    for d in company.DOMAINS:
        if d.name not in domains:
            add_domain(platform, d.name, title=d.title, description=d.description)
    story = {p.name for p in company.NAMED_PEOPLE}
    titles = {d.name: d.title for d in company.DOMAINS}
    for p in specs:
        if p.name not in users:
            attributes = {"job_title": p.title, "site": p.site}
            if p.name in story:  # the login page of the demo lists the story's people
                role = f"{p.title}, {titles[p.domains[0]]}" + (" (owner)" if p.owner else "")
                attributes |= {DEMO_ROLE: role, DEMO_PASSWORD_HINT: f'"{company.PASSWORD}"'}
            add_user(
                platform,
                p.name,
                display_name=p.display_name,
                email=p.email,
                domains=p.domains,
                attributes=attributes,
            )
        if p.owner:
            join_domain(platform, p.name, p.domains[0], "owner")
    # One argon2 hash for everyone: hashing 4,000 passwords one by one would take half an hour.
    # Only people without a password get it, so a person who existed before keeps theirs.
    names = [p.name for p in specs]
    with platform.store.session() as s:
        unset = list(s.scalars(select(User.name).where(User.name.in_(names), User.password_hash.is_(None))))
    if unset:
        set_password(platform, unset[0], company.PASSWORD)
        with platform.store.session() as s:
            digest = s.scalar(select(User.password_hash).where(User.name == unset[0]))
            for i in range(0, len(unset), 500):
                s.execute(update(User).where(User.name.in_(unset[i : i + 500])).values(password_hash=digest))
    return {p.name: (p, get_person(platform, p.name)) for p in specs}


@dataclass
class _Weekly:
    """A dataset its domain shares again every week: the rows still to come, by the date column."""

    spec: DatasetSpec
    data: pa.Table
    person: Person


def _share_all(
    platform: Platform,
    datasets: list[DatasetSpec],
    people: dict[str, tuple[company.PersonSpec, Person]],
    world: World,
    folder: Path,
    log: Callable[[str], None],
) -> list[_Weekly]:
    with platform.store.session() as s:
        existing = set(s.scalars(select(Dataset.full_name)))
    weekly: list[_Weekly] = []
    rng_days = _share_moments(world, len(datasets))
    every = 1 if len(datasets) <= 60 else max(1, len(datasets) // 20)
    width = min(44, max(len(d.full_name) for d in datasets))
    for i, spec in enumerate(datasets):
        if spec.full_name in existing and not spec.weekly:
            continue  # shared by an earlier, interrupted build
        person = people[spec.sharer][1]
        data = _data(spec, world)
        if spec.weekly and isinstance(data, pa.Table):
            weekly.append(_Weekly(spec, data, person))
            data = _rows_before(data, spec.weekly, world.timeline.start.date())
        if spec.full_name in existing:
            continue
        result = _share(platform, spec, data, person, folder, mode="create")
        at = rng_days[i] - timedelta(days=30 * spec.months_ago) if spec.months_ago else rng_days[i]
        _backdate_share(platform, spec.full_name, result.snapshot_id, at, created=True)
        if i % every == 0 or i == len(datasets) - 1:
            how = _FORMAT_LABELS[spec.fmt]
            log(f"  {spec.full_name:<{width}} {result.rows_total:>8,} rows  {how:<8}  {spec.sharer}")
    return weekly


def _share_week(
    platform: Platform,
    k: int,
    weekly: list[_Weekly],
    world: World,
    folder: Path,
) -> None:
    """At the start of week `k` (k >= 1) the weekly datasets get the rows of the week before."""
    if k == 0:
        return
    begin, _end = world.timeline.week(k)
    days = world.timeline.working_days(k)
    for w in weekly:
        rows = _rows_before(w.data, w.spec.weekly or "", begin.date())
        with platform.store.session() as s:
            have = s.scalar(select(Dataset.row_count).where(Dataset.full_name == w.spec.full_name)) or 0
        if have >= rows.num_rows:
            continue  # shared already by an earlier, interrupted build
        chunk = rows.slice(have)
        result = _share(platform, w.spec, chunk, w.person, folder, mode="append", suffix=f"_{begin:%Y_%m_%d}")
        day = days[0] if days else begin.date()
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=420 + 7 * len(w.spec.name))
        _backdate_share(platform, w.spec.full_name, result.snapshot_id, max(at, begin), created=False)


def _share(
    platform: Platform,
    spec: DatasetSpec,
    data: Any,
    person: Person,
    folder: Path,
    *,
    mode: str,
    suffix: str = "",
) -> ShareResult:
    if spec.fmt in ("frame", "pandas"):
        source: Any = data
    else:
        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        extension = {"eu_csv": "csv"}.get(spec.fmt, spec.fmt)
        source = write_file(table, spec.fmt, folder / f"{spec.name}{suffix}.{extension}")
    try:
        return share(
            platform,
            source,
            domain=spec.domain,
            user=person,
            name=spec.name,
            mode=mode,
            description=spec.description,
            purpose=spec.purpose,
        )[0]
    finally:
        if isinstance(source, Path):
            source.unlink(missing_ok=True)


def _data(spec: DatasetSpec, world: World) -> Any:
    if spec.build is not None:
        return spec.build(world, spec.variant)
    assert spec.public is not None
    return public.load(spec.public, world.rows)


def _rows_before(data: pa.Table, column: str, cut: date) -> pa.Table:
    """The rows dated before `cut` (the data is sorted by that date)."""
    mask = pc.less(data[column], pa.scalar(cut, pa.date32()))
    return data.filter(mask)


def _share_moments(world: World, n: int) -> list[datetime]:
    """When each dataset was first shared: working hours in the three weeks before the simulated usage."""
    import random

    rng = random.Random(world.seed + 11)
    start = world.timeline.start
    moments = []
    for _ in range(n):
        day = (start - timedelta(days=rng.randint(1, 21))).date()
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        moments.append(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.uniform(8, 17)))
    return sorted(m.replace(microsecond=0) for m in moments)


def _backdate_share(platform: Platform, full_name: str, snapshot_id: int, at: datetime, *, created: bool) -> None:
    with platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == full_name)).one()
        s.execute(update(Share).where(Share.dataset_id == ds.id, Share.snapshot_id == snapshot_id).values(at=at))
        ds.updated_at = at
        if created:
            ds.created_at = at


_FORMAT_LABELS = {
    "frame": "arrow",
    "pandas": "pandas",
    "eu_csv": "csv (de)",
    "xlsx": "xlsx",
    "csv": "csv",
    "json": "json",
    "parquet": "parquet",
}
"""How each dataset reached the lake, in the progress lines."""


def summary(platform: Platform, *, seconds: float | None = None, candidates: list[CandidateRow] | None = None) -> str:
    """What is in the home, computed from the metadata and the usage record (`candidates`: the promotion
    candidates when the caller has just listed them)."""
    with platform.store.session() as s:
        domains = list(s.scalars(select(Domain.name).order_by(Domain.name)))
        people = s.scalar(select(func.count(User.id)).where(User.name != "admin")) or 0
        datasets = s.scalar(select(func.count(Dataset.id))) or 0
        failed = s.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.status != "ok")) or 0
        first, last = s.execute(select(func.min(UsageEvent.at), func.max(UsageEvent.at))).one()
    org = org_usage(platform, limit=1)
    weeks = round((last - first).total_seconds() / 86400 / 7) if first and last else 0
    lines = [
        f"{company.COMPANY}, a demo organisation, "
        + (f"was built in {seconds:.0f} s" if seconds is not None else "was already built in this home")
        + f" ({platform.settings.home_dir})",
        f"  domains   {len(domains)}: {', '.join(domains)}",
        f'  people    {people}; every demo person\'s password is "{company.PASSWORD}"',
        f"  datasets  {datasets} ({len(org.never_used)} never used yet)",
        f"  usage     {org.queries:,} queries over {weeks} weeks by {org.users} people"
        + (f" ({failed} more failed)" if failed else ""),
    ]
    try:
        story = dataset_usage(platform, STORY_DATASET)
        consumers = [d["domain"] for d in story.domains if d["domain"] != "manufacturing"]
        lines.append(f"  {STORY_DATASET}: {story.queries:,} queries by {story.users} people,")
        lines.append(f"            {len(consumers)} other domains use it: {', '.join(consumers)}")
    except ThresholdError:
        pass
    lines += _candidate_lines(platform, candidates)
    lines += [
        "",
        "Sign in as anna (Manufacturing, owns plant_kpis) to see who uses her data,",
        f"or as ben (Finance), who forecasts energy costs from it every week. Password: {company.PASSWORD}",
    ]
    return "\n".join(lines)


def _candidate_lines(platform: Platform, found: list[CandidateRow] | None) -> list[str]:
    from threshold.products.candidates import list_candidates

    if found is None:
        found = list_candidates(platform).candidates
    if not found:
        return []
    lines = [f"  candidates {len(found)} datasets whose use makes them worth promoting (threshold candidates):"]
    lines += [f"            {c.dataset} (score {c.score:g})" for c in found[:5]]
    return lines
