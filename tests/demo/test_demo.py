"""The demo organisation: what `threshold demo` promises a newcomer, checked on a small real build.

One build (scale 0.3, three weeks) is shared by the module's tests (a copy of the run's build, which
tests/catalog/test_search_quality.py searches too); the fast tests at the end check the company and the
catalogue at 100x without building anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import distinct, func, select

import demohome
from demohome import demo_at_rest
from threshold.catalog.service import describe
from threshold.demo import build_demo
from threshold.demo.catalog import DATASETS, catalog
from threshold.demo.company import DOMAINS, people
from threshold.demo.tables.sales import iban
from threshold.demo.world import Timeline
from threshold.identity.service import authenticate, list_domains
from threshold.names import check_name
from threshold.platform import Platform
from threshold.sharing.detectors.iban import iban_valid
from threshold.store.models import Dataset, Domain, Membership, UsageEvent, UsageRead, User
from threshold.usage.service import dataset_usage, org_usage, person_usage

WEEKS = demohome.WEEKS  # 3
SCALE = demohome.SCALE  # 0.3
SIX_DOMAINS = {"manufacturing", "supply_chain", "sales", "finance", "hr", "r_and_d"}


class Built:
    def __init__(self, platform: Platform, summary: str, logged: list[str], built_at: datetime) -> None:
        self.platform = platform
        self.summary = summary
        self.logged = logged
        self.built_at = built_at


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """A copy of the run's build (`tests/demohome.py`: `build_demo` at SCALE and WEEKS, once per run)."""
    built = demo_at_rest(tmp_path_factory)
    platform = built.copy(tmp_path_factory.mktemp("demo") / "home")
    try:
        yield Built(platform, built.summary, built.logged, built.built_at)
    finally:
        platform.close()


def _count(platform: Platform, stmt: object) -> int:
    with platform.store.session() as s:
        return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


@pytest.mark.slow
def test_six_domains_with_titles_and_owners(demo: Built) -> None:
    domains = {d["name"]: d for d in list_domains(demo.platform)}
    assert set(domains) == SIX_DOMAINS
    for d in domains.values():
        assert d["title"] and d["description"]
        assert 1 <= len(d["owners"]) <= 2  # type: ignore[arg-type]
    assert "anna" in domains["manufacturing"]["owners"]  # type: ignore[operator]


@pytest.mark.slow
def test_story_people_sign_in_with_the_demo_password(demo: Built) -> None:
    anna = authenticate(demo.platform, "anna", "demo")
    ben = authenticate(demo.platform, "ben", "demo")
    assert "manufacturing" in anna.owner_of
    assert ben.domains == ("finance",)
    assert 'password is "demo"' in demo.summary
    assert "anna" in demo.summary and "ben" in demo.summary


@pytest.mark.slow
def test_every_person_belongs_to_a_domain(demo: Built) -> None:
    with demo.platform.store.session() as s:
        users = s.scalar(select(func.count(User.id)).where(User.name != "admin"))
        members = s.scalar(select(func.count(distinct(Membership.user_id))))
    assert users == members
    assert users is not None and users >= 12


@pytest.mark.slow
def test_datasets_are_shared_by_members_of_their_domain(demo: Built) -> None:
    assert _count(demo.platform, select(func.count(Dataset.id))) >= 20
    kpis = describe(demo.platform, "manufacturing.plant_kpis")
    assert kpis.first_shared_by == "anna"
    assert kpis.purpose and kpis.description
    assert kpis.source.format == "excel"
    formats = {describe(demo.platform, n).source.format for n in ("finance.invoices", "sales.customers")}
    assert formats == {"csv", "json"}


@pytest.mark.slow
def test_plant_kpis_operator_names_are_tagged_personal(demo: Built) -> None:
    schema = {c.name: c for c in describe(demo.platform, "manufacturing.plant_kpis").schema}
    assert {"plant", "line", "day", "operator_name", "scrap_rate", "energy_kwh", "energy_cost_eur"} <= set(schema)
    assert "personal.name" in [t.tag for t in schema["operator_name"].tags]
    assert schema["day"].type == "DATE"


@pytest.mark.slow
def test_european_csv_numbers_are_read_as_numbers(demo: Built) -> None:
    schema = {c.name: c.type for c in describe(demo.platform, "finance.invoices").schema}
    assert schema["net_amount"] == "DOUBLE"
    assert schema["invoice_date"] == "DATE"


@pytest.mark.slow
def test_plant_kpis_are_consumed_by_three_other_domains(demo: Built) -> None:
    usage = dataset_usage(demo.platform, "manufacturing.plant_kpis")
    consumers = {d["domain"] for d in usage.domains} - {"manufacturing"}
    assert {"finance", "supply_chain", "sales"} <= consumers
    assert "energy cost forecast" in {p["purpose"] for p in usage.purposes}


@pytest.mark.slow
def test_ben_forecasts_energy_costs_every_week(demo: Built) -> None:
    recent = person_usage(demo.platform, "ben", limit=1000).recent
    times = [
        datetime.fromisoformat(e["at"])
        for e in recent
        if e["purpose"] == "energy cost forecast" and "manufacturing.plant_kpis" in e["datasets"]
    ]
    timeline = Timeline(demo.built_at, WEEKS)
    for k in range(WEEKS):
        begin, end = timeline.week(k)
        assert any(begin <= t < end for t in times), f"no energy cost forecast in week {k + 1}"


@pytest.mark.slow
def test_a_long_tail_of_datasets_is_never_used(demo: Built) -> None:
    never = {d["dataset"] for d in org_usage(demo.platform).never_used}
    assert len(never) >= 8
    assert "manufacturing.plant_kpis" not in never


@pytest.mark.slow
def test_usage_is_spread_over_the_weeks_on_working_hours(demo: Built) -> None:
    weekly = dataset_usage(demo.platform, "manufacturing.plant_kpis").weekly
    assert len(weekly) >= WEEKS - 1
    with demo.platform.store.session() as s:
        times = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in s.scalars(select(UsageEvent.at))]
    now = datetime.now(UTC)
    assert min(times) >= now - timedelta(days=7 * WEEKS)
    assert max(times) <= now
    assert all(t.weekday() < 5 and 7 <= t.hour < 18 for t in times)


@pytest.mark.slow
def test_recurring_questions_and_joins(demo: Built) -> None:
    with demo.platform.store.session() as s:
        # The same query shape asked by several people.
        askers = s.execute(
            select(UsageEvent.fingerprint, func.count(distinct(UsageEvent.user_id)))
            .where(UsageEvent.status == "ok")
            .group_by(UsageEvent.fingerprint)
        ).all()
        # Queries that read two datasets together.
        joins = s.scalar(
            select(func.count()).select_from(
                select(UsageRead.event_id).group_by(UsageRead.event_id).having(func.count() >= 2).subquery()
            )
        )
        interfaces = set(s.scalars(select(UsageEvent.interface).distinct()))
    assert max(n for _fp, n in askers) >= 3
    assert joins and joins >= 20
    assert {"web", "cli", "python", "api"} <= interfaces


@pytest.mark.slow
def test_sales_consumes_more_than_it_shares(demo: Built) -> None:
    shared = {d.full_name for d in DATASETS if d.domain == "sales"}
    assert len(shared) <= 2
    with demo.platform.store.session() as s:
        read = set(
            s.scalars(
                select(Dataset.full_name)
                .distinct()
                .join(UsageRead, UsageRead.dataset_id == Dataset.id)
                .join(UsageEvent, UsageEvent.id == UsageRead.event_id)
                .join(Membership, Membership.user_id == UsageEvent.user_id)
                .join(Domain, Domain.id == Membership.domain_id)
                .where(Domain.name == "sales")
            )
        )
    assert len(read - shared) >= 3


@pytest.mark.slow
def test_building_twice_changes_nothing(demo: Built) -> None:
    datasets = _count(demo.platform, select(func.count(Dataset.id)))
    events = _count(demo.platform, select(func.count(UsageEvent.id)))
    summary = build_demo(demo.platform, scale=SCALE, weeks=WEEKS, log=lambda _m: None)
    assert _count(demo.platform, select(func.count(Dataset.id))) == datasets
    assert _count(demo.platform, select(func.count(UsageEvent.id))) == events
    assert "already built" in summary


@pytest.mark.slow
def test_progress_is_logged(demo: Built) -> None:
    assert any(m.startswith("sharing ") for m in demo.logged)
    assert any(m.startswith(f"simulating {WEEKS} weeks") for m in demo.logged)


# Fast: the company and its catalogue at 100x, without a build.


def test_a_hundred_times_bigger_company_has_unique_valid_user_names() -> None:
    staff = people(100, 42)
    names = [p.name for p in staff]
    assert len(staff) == 4000
    assert len(set(names)) == len(names)
    for name in names:
        check_name("user", name)
    assert {p.domains[0] for p in staff} == {d.name for d in DOMAINS}


def test_a_hundred_times_bigger_catalogue_has_site_variants() -> None:
    everyone = people(100, 42)
    members = {d.name: [p.name for p in everyone if d.name in p.domains] for d in DOMAINS}
    specs = catalog(100, members, lambda source: True, 42)
    names = [s.full_name for s in specs]
    assert len(names) == 100 * len(DATASETS)
    assert len(set(names)) == len(names)
    assert "manufacturing.plant_kpis_shanghai" in names
    for s in specs:
        check_name("dataset", s.name)
        assert s.sharer in members[s.domain]


def test_small_builds_keep_the_story_people() -> None:
    names = {p.name for p in people(0.1, 42)}
    assert {"anna", "ben", "julia", "ingrid", "oliver"} <= names


def test_generated_ibans_are_valid() -> None:
    import random

    rng = random.Random(1)
    for country in ("DE", "FR", "NL", "IT", "GB", "CH", "PL"):
        value = iban(rng, country)
        assert value is not None and iban_valid(value), value
    assert iban(rng, "US") is None


@pytest.mark.slow
def test_a_dozen_insights_and_two_boards_built_the_way_people_would(demo: Built) -> None:
    from threshold.identity.service import get_person
    from threshold.insights import boards, service

    carla = get_person(demo.platform, "carla")
    found = service.listing(demo.platform, carla, per_page=100)
    assert found.total >= 12
    assert {"Scrap rate by line", "Energy cost per month", "Energy per unit for the forecast"} <= {
        i.title for i in found.items
    }
    titles = {b.title: b for b in boards.listing(demo.platform, carla)}
    assert titles["Weekly plant review"].owner == "anna" and titles["Weekly plant review"].insights == 5
    assert titles["Energy cost forecast"].owner == "ben" and titles["Energy cost forecast"].insights == 4
    review = boards.show(demo.platform, carla, titles["Weekly plant review"].id)
    assert all(item.error is None and item.result is not None for item in review.items)
    energy = next(i for i in found.items if i.title == "Energy per unit by plant")
    assert energy.viewers >= 3


def test_a_glossary_with_approved_terms_proposals_and_a_draft(demo: Built) -> None:
    from threshold.catalog.search import search
    from threshold.glossary import service
    from threshold.identity.service import get_person

    p = demo.platform
    mehmet_or_carla = get_person(p, "carla")
    seen = {t.key: t for t in service.listing(p, mehmet_or_carla).terms}
    assert {k for k, t in seen.items() if t.status == "approved"} == {
        "scrap rate",
        "energy intensity",
        "active customer",
    }
    assert "oee" not in seen and "cost centre" not in seen  # a draft and a proposal are their author's and reviewers'
    scrap = service.show(p, get_person(p, "anna"), "scrap rate")
    assert [r.status for r in scrap.history] == ["rejected", "approved"]  # Ben's edit was turned down
    assert scrap.definition.startswith("Share of produced units")
    assert {lk.kind for lk in scrap.links} == {"column", "insight"}
    queue = service.listing(p, get_person(p, "claudia"), status="in_review")
    assert sorted(t.key for t in queue.terms) == ["cost centre", "energy intensity"]
    diff = service.show(p, get_person(p, "claudia"), "energy intensity").changes
    assert [c.field for c in diff] == ["definition"] and ("+", "plant's share of site heating.") in diff[0].words
    # Approved synonyms find the data: the German word for the column "Scrap Rate".
    assert search(p, "Ausschussquote").results[0]["name"] == "manufacturing.plant_kpis"


def test_the_register_holds_the_personal_datasets_and_a_retention_ran(demo: Built) -> None:
    from threshold.compliance import register, retention
    from threshold.identity.service import ADMIN, get_person

    p = demo.platform
    admin = get_person(p, ADMIN)
    entries = {r.dataset: r for r in register.register(p, admin) if r.recorded}
    assert entries["sales.orders"].legal_basis_label == "Art. 6(1)(b) performance of a contract"
    assert (entries["sales.orders"].retention, entries["sales.orders"].retention_column) == ("10y", "order_date")
    assert entries["supply_chain.suppliers"].legal_basis == "legitimate_interests"
    [run] = [r for r in retention.history(p, admin, "sales.orders") if r.kind == "run"]
    assert run.rows_left > 0 and run.rows_removed == 0  # ten years: nothing was that old yet


@pytest.mark.slow
def test_the_login_page_lists_the_story_people(demo: Built) -> None:
    import asyncio
    from html.parser import HTMLParser

    import httpx

    from threshold.api.app import create_app
    from threshold.demo.company import NAMED_PEOPLE
    from threshold.identity.service import demo_people

    listed = {p.name: p for p in demo_people(demo.platform)}
    story = {p.name for p in people(SCALE, 42)} & {p.name for p in NAMED_PEOPLE}  # not generated colleagues
    assert set(listed) == story and "anna" in story
    assert (listed["anna"].role, listed["anna"].password_hint) == ("Plant data lead, Manufacturing (owner)", '"demo"')
    authenticate(demo.platform, "anna", "demo")  # the hint is true

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.rows = False, []  # type: ignore[var-annotated]

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.inside = self.inside or ("id", "demo-people") in attrs
            if self.inside and tag == "tr":
                self.rows.append([])
            if self.inside and tag == "td":
                self.rows[-1].append("")

        def handle_data(self, data: str) -> None:
            if self.inside and self.rows and self.rows[-1]:
                self.rows[-1][-1] += data.strip()

    async def login_page() -> str:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(demo.platform)), base_url="http://t"
        ) as c:
            return (await c.get("/login")).text

    cells = Cells()
    cells.feed(asyncio.run(login_page()))
    assert ["anna", "Anna Schmidt", "Plant data lead, Manufacturing (owner)", '"demo"'] in cells.rows


def test_one_completed_erasure_with_its_certificate(demo: Built) -> None:
    from threshold.erasure import service
    from threshold.identity.service import ADMIN, get_person

    admin = get_person(demo.platform, ADMIN)
    (cert,) = service.certificates(demo.platform, admin)
    assert cert.status == "completed" and cert.remaining == [] and cert.verification["found"] == []
    assert "sales.customers" in {t["dataset"] for t in cert.tables}
    assert all(t["rows_removed"] > 0 for t in cert.tables)
    assert len(demo.platform.lake.snapshots("sales.customers")) == 1


def test_a_cohort_in_week_four_ticked_by_what_its_people_did(demo: Built) -> None:
    from sqlalchemy import select as sa_select

    from threshold.identity.service import ensure_admin, get_person
    from threshold.literacy import service
    from threshold.literacy.models import LearningCompletion

    p = demo.platform
    (cohort,) = service.list_cohorts(p, ensure_admin(p))
    view = service.show_cohort(p, ensure_admin(p), cohort.name)
    assert (view.current_week, view.weeks_total) == (4, 10) and view.members >= 3
    done = {t.key: t.done for w in view.weeks for t in w.tasks}
    assert done["first-query"] >= 3  # the simulated weeks' queries
    assert done["find-by-word"] >= 2 and done["explore-chart"] >= 1 and done["glossary-term"] >= 1
    assert view.stalls and all(s.week < 4 for s in view.stalls)
    with p.store.session() as s:
        events = set(s.scalars(sa_select(LearningCompletion.event)))
    assert {"query_done", "search_done", "question_explored", "term_proposed", "dataset_published"} <= events
    (path,) = service.my_learning(p, get_person(p, "anna")).paths
    assert path.cohort == cohort.name and path.done >= 2 and path.next is not None


def test_maturity_history_from_snapshots_taken_at_their_moments(demo: Built) -> None:
    from threshold.identity.service import get_person
    from threshold.maturity import service, snapshots, target

    p = demo.platform
    carla = get_person(p, "carla")
    taken = snapshots.history(p, carla)
    assert len(taken) >= 2 and all(t.trigger == "schedule" for t in taken)
    assert [t.picture_version for t in reversed(taken)][:2] == [1, 2]  # the picture changed between them
    assert taken[0].at > taken[-1].at
    versions = target.history(p, carla)
    assert [v.version for v in versions] == [2, 1] and "data council" in versions[0].reason
    assert [(x.domain, x.status) for x in target.proposals(p, carla)] == [("manufacturing", "pending")]
    board = service.dashboard(p, carla)
    assert len(board.trend) == len(taken) and {r.domain for r in board.rows} >= {"manufacturing", "sales"}
    levels = {r.domain: sum(c.level for c in r.cells) / len(r.cells) for r in board.rows}
    assert levels["manufacturing"] > levels["sales"]  # a mature producer and a domain that shares little
    page = service.standing(p, get_person(p, "anna"), "manufacturing")
    assert page.assessment is not None and page.assessment.answered_by == "anna"


def test_maturity_contrasts_the_spreadsheet_domain_with_the_mature_one(demo: Built) -> None:
    """HR shares a few Excel/CSV files once, months ago, half undescribed, and answers requests after days;
    Manufacturing owns, contracts and checks its products, fixes what consumers report and grants access the
    same morning. The newest snapshot's computed levels say so."""
    from threshold.identity.service import get_person
    from threshold.maturity import service

    p = demo.platform
    formats = {describe(p, d.full_name).source.format for d in DATASETS if d.domain == "hr"}
    assert formats <= {"excel", "csv"}
    board = service.dashboard(p, get_person(p, "carla"))
    levels = {r.domain: {c.dimension: c.level for c in r.cells} for r in board.rows}
    mean = {d: sum(x.values()) / len(x) for d, x in levels.items()}
    assert mean["hr"] <= 2 and mean["manufacturing"] >= 4, levels
    assert mean["hr"] == min(mean.values()) and mean["manufacturing"] == max(mean.values())
    assert {d: levels["hr"][d] for d in ("ownership", "quality", "access_speed")} == {
        "ownership": 1,
        "quality": 1,
        "access_speed": 1,
    }
    assert all(levels["manufacturing"][d] >= 4 for d in ("ownership", "quality", "access_speed", "reuse"))
    hr = {
        d.dimension: {s.name: s for s in d.signals} for d in service.standing(p, get_person(p, "anna"), "hr").dimensions
    }
    assert hr["sharing"]["kept_current"].value == 0  # shared once, months ago
    assert hr["access_speed"]["within_a_day"].ratio == 0.0 and hr["access_speed"]["hours"].value > 72
    mfg = {
        d.dimension: {s.name: s for s in d.signals}
        for d in service.standing(p, get_person(p, "anna"), "manufacturing").dimensions
    }
    assert mfg["quality"]["fresh"].ratio == 1.0 and mfg["quality"]["passing"].ratio == 1.0
    assert mfg["access_speed"]["hours"].value < 24
    assert mfg["reuse"]["read_outside"].value >= 1  # its data is read by other domains' people
