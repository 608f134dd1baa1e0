"""The personal report: for the person alone (nobody else, a team lead included, learns it exists), with
counts by domain rather than names; the team view only when switched on, only totals; the PDF says what the
JSON says. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from threshold.errors import InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.identity.service import join_domain
from threshold.insights import service as insights
from threshold.literacy import pdf
from threshold.literacy.report import period_of, personal_report, team_report
from threshold.store.models import UsageEvent
from threshold.usage.service import flush

KPIS = "manufacturing.plant_kpis"
SQL = f"SELECT plant, sum(energy_kwh) AS energy FROM {KPIS} GROUP BY plant"


def _month_of_use(org: Any) -> str:
    """The month the usage log dated this test's reads (the gateway dates them itself)."""
    flush(org.platform)
    with org.platform.store.session() as s:
        at = s.scalar(select(func.max(UsageEvent.at)))
    assert at is not None
    return f"{at.year:04d}-{at.month:02d}"


def _activity(org: Any) -> tuple[str, int]:
    p = org.platform
    query(p, f"SELECT plant FROM {KPIS}", user=org.carla)
    query(p, f"SELECT day FROM {KPIS}", user=org.carla)
    query(p, f"SELECT plant FROM {KPIS}", user=org.ben)
    saved = insights.save(p, org.carla, title="Energy per plant", sql=SQL, audience="everyone")
    insights.page(p, org.ben, saved.id)
    insights.page(p, org.anna, saved.id)
    return _month_of_use(org), saved.id


def test_periods_are_months_or_quarters() -> None:
    now = datetime(2026, 11, 17, tzinfo=UTC)
    assert (period_of(None, now).label, period_of(None, now).start) == ("2026-11", datetime(2026, 11, 1, tzinfo=UTC))
    assert period_of("2026-12", now).end == datetime(2027, 1, 1, tzinfo=UTC)
    q = period_of("2026-q4", now)
    assert (q.label, q.start, q.end) == ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for bad in ("2026-13", "last month", "2026-Q5", "'; drop"):
        with pytest.raises(InvalidInput, match="a period is YYYY-MM or YYYY-Qn"):
            period_of(bad, now)


def test_my_report_counts_my_use_and_who_used_what_i_made_by_domain(any_org: Any) -> None:
    month, insight_id = _activity(any_org)
    p = any_org.platform
    mine = personal_report(p, any_org.carla, period=month)
    assert (mine.person, mine.period, mine.queries) == ("carla", month, 2)
    assert [(u.dataset, u.queries) for u in mine.datasets_used] == [(KPIS, 2)]
    (made,) = mine.insights
    assert (made.id, made.viewers, made.names) == (insight_id, 2, [])
    assert [(c.domain, c.people) for c in made.by_domain] == [("finance", 1), ("manufacturing", 1)]
    assert mine.shared == [] and mine.learning[0].done >= 1
    anna = personal_report(p, any_org.anna, period=month)
    (kpis,) = anna.shared
    assert (kpis.dataset, kpis.consumers, kpis.names) == (KPIS, 2, [])
    assert sorted((c.domain, c.people) for c in kpis.by_domain) == [("finance", 1), ("sales", 1)]
    p.settings.literacy.viewer_names = True
    assert personal_report(p, any_org.anna, period=month).shared[0].names == ["ben", "carla"]
    # Another period: nothing of this.
    assert personal_report(p, any_org.carla, period="1999-01").queries == 0


def test_nobody_sees_someone_elses_report_not_even_a_team_lead_or_an_administrator(any_org: Any) -> None:
    p = any_org.platform
    join_domain(p, "carla", "manufacturing")
    for who in (any_org.anna, any_org.admin, any_org.ben):
        with pytest.raises(NotFound, match="^no report of 'carla'$"):
            personal_report(p, who, of="carla")
    assert personal_report(p, any_org.carla, of="carla").person == "carla"


def test_the_team_view_is_off_by_default_and_then_shows_totals_to_the_domains_owners(any_org: Any) -> None:
    month, _ = _activity(any_org)
    p = any_org.platform
    join_domain(p, "carla", "manufacturing")
    with pytest.raises(NotFound, match="^no team report of 'manufacturing'$"):
        team_report(p, any_org.anna, "manufacturing", period=month)
    p.settings.literacy.team_view = True
    p.settings.literacy.team_min_people = 2
    with pytest.raises(NotFound, match="^no team report of 'manufacturing'$"):
        team_report(p, any_org.ben, "manufacturing", period=month)  # not its owner
    team = team_report(p, any_org.anna, "manufacturing", period=month)
    assert (team.people, team.active_people, team.queries, team.datasets_used) == (
        2,
        2,
        3,
        1,
    )  # anna read it too, viewing the insight
    assert (team.insights_made, team.insight_viewers, team.datasets_shared, team.consumers) == (1, 1, 1, 1)
    assert not hasattr(team, "members") and "carla" not in repr(team)
    p.settings.literacy.team_min_people = 3
    with pytest.raises(InvalidInput, match="manufacturing has 2 members: .* needs 3 or more"):
        team_report(p, any_org.anna, "manufacturing", period=month)


def test_the_pdf_holds_the_reports_figures(any_org: Any) -> None:
    month, _ = _activity(any_org)
    r = personal_report(any_org.platform, any_org.carla, period=month)
    data = pdf.render(r)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert data.startswith(b"%PDF")
    assert "Data use of Carla" in text and f"Period {month}" in text
    assert f"{KPIS}: 2 queries" in text
    assert "Energy per plant: 2 viewers (finance 1, manufacturing 1)" in text
    assert "ten-weeks:" in text and "tasks done" in text
