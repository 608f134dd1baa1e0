"""Tasks are ticked by the real action only: the event of a succeeded action ticks once, with its time and
reference; a refused or failed attempt ticks nothing; a repeated action changes nothing. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from threshold.catalog.search import search
from threshold.errors import InvalidInput, ThresholdError
from threshold.gateway.service import query
from threshold.glossary import service as glossary
from threshold.governance.controls import set_visibility
from threshold.governance.requests import approve, deny, request_access
from threshold.identity.service import get_person
from threshold.insights import exploration
from threshold.insights import service as insights
from threshold.insights.explore import ExploreSpec
from threshold.literacy import service as literacy
from threshold.literacy import ticking
from threshold.literacy.models import LearningCompletion
from threshold.literacy.tracks import load
from threshold.quality.incidents import report
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"
TRACK = "ten-weeks"
NOW = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)


def _done(org: Any, who: Any) -> dict[str, tuple[str, str]]:
    """task -> (event, ref) of `who`'s completions, read from the store."""
    with org.platform.store.session() as s:
        rows = s.scalars(select(LearningCompletion).where(LearningCompletion.user_id == who.id)).all()
    return {r.task: (r.event, r.ref) for r in rows}


def _count(org: Any) -> int:
    with org.platform.store.session() as s:
        return len(s.scalars(select(LearningCompletion)).all())


def test_the_shipped_programme_has_ten_weeks_of_hands_on_tasks() -> None:
    (track,) = load()
    assert (track.key, len(track.weeks)) == (TRACK, 10)
    assert [t.key for t in track.tasks] == [
        "find-by-word", "first-query", "explore-chart", "share-insight", "request-access",
        "report-problem", "share-file", "join-domains", "glossary-term", "review-request",
    ]  # fmt: skip
    assert all(t.link.startswith("/") and t.hint for t in track.tasks)


def test_a_first_query_ticks_once_with_its_time_and_a_failed_one_ticks_nothing(any_org: Any) -> None:
    p, carla = any_org.platform, any_org.carla
    p.clock = lambda: NOW
    assert "first-query" not in _done(any_org, carla)
    with pytest.raises(ThresholdError):
        query(p, f"SELECT no_such_column FROM {KPIS}", user=carla)
    with pytest.raises(ThresholdError):
        query(p, "SELECT * FROM manufacturing.nothing_here", user=carla)
    with pytest.raises(InvalidInput) as mistyped:  # its suggestions come from a search: not hers
        query(p, "SELECT * FROM plant_kpis", user=carla)
    assert mistyped.value.suggestions == (KPIS,)
    assert "first-query" not in _done(any_org, carla) and "find-by-word" not in _done(any_org, carla)
    query(p, f"SELECT plant FROM {KPIS}", user=carla)
    assert _done(any_org, carla)["first-query"] == ("query_done", KPIS)
    before = _count(any_org)
    p.clock = lambda: datetime(2026, 11, 12, tzinfo=UTC)
    query(p, f"SELECT plant FROM {KPIS}", user=carla)
    ticking.forget(p)  # even without what this process remembers: the store keeps it once
    query(p, f"SELECT day FROM {KPIS}", user=carla)
    assert _count(any_org) == before
    path = literacy.my_learning(p, carla).paths[0]
    first = next(t for w in path.weeks for t in w.tasks if t.key == "first-query")
    assert (first.done_at, first.done_by, first.ref) == ("2026-11-10T09:30:00+00:00", "query_done", KPIS)


def test_a_denied_query_ticks_nothing(any_org: Any) -> None:
    p = any_org.platform
    set_visibility(p, any_org.anna, KPIS, "restricted")
    with pytest.raises(ThresholdError):
        query(p, f"SELECT plant FROM {KPIS}", user=any_org.carla)
    assert "first-query" not in _done(any_org, any_org.carla)


def test_joining_two_domains_needs_a_query_that_reads_both(any_org: Any, tmp_path: Path) -> None:
    p, ben = any_org.platform, any_org.ben
    prices = tmp_path / "plant_prices.csv"
    prices.write_text("Plant,Price EUR\nBerlin,0.31\nLyon,0.22\n", encoding="utf-8")
    share(p, prices, domain="finance", user=ben, purpose="energy cost forecast")
    query(p, f"SELECT plant FROM {KPIS}", user=ben)
    assert "join-domains" not in _done(any_org, ben)
    query(
        p,
        f"SELECT k.plant, f.price_eur FROM {KPIS} k JOIN finance.plant_prices f ON k.plant = f.plant",
        user=ben,
    )
    assert _done(any_org, ben)["join-domains"] == ("query_done", f"finance.plant_prices, {KPIS}")
    # Shared without a description: sharing a file alone does not tick "share a file and describe it".
    assert "share-file" not in _done(any_org, ben)
    assert _done(any_org, any_org.anna)["share-file"] == ("dataset_published", KPIS)


def test_search_explore_insight_request_report_term_and_review_each_tick_their_task(any_org: Any) -> None:
    p, carla, anna = any_org.platform, any_org.carla, any_org.anna
    search(p, "zzzqqq", viewer=carla)
    assert "find-by-word" not in _done(any_org, carla)
    search(p, "scrap rate", viewer=carla)
    assert _done(any_org, carla)["find-by-word"] == ("search_done", "search: 1 found")  # not the words searched

    spec = ExploreSpec.from_dict(
        {"dataset": KPIS, "group_by": ["plant"], "aggregates": [{"fn": "sum", "column": "energy_kwh"}]}
    )
    exploration.run(p, carla, spec=spec, chart={"kind": "table"})
    assert "explore-chart" not in _done(any_org, carla)
    exploration.run(p, carla, sql=f"SELECT plant FROM {KPIS}", chart={"kind": "bar"})  # SQL written: not this task
    assert "explore-chart" not in _done(any_org, carla)
    exploration.run(p, carla, spec=spec, chart={"kind": "bar"})
    assert _done(any_org, carla)["explore-chart"] == ("question_explored", KPIS)

    insights.save(p, carla, title="Energy per plant", explore=spec.as_dict(), audience="private")
    assert "share-insight" not in _done(any_org, carla)
    saved = insights.save(p, carla, title="Energy per plant, shared", explore=spec.as_dict(), audience="everyone")
    assert _done(any_org, carla)["share-insight"] == ("insight_saved", f"insight {saved.id}")

    with pytest.raises(InvalidInput):
        request_access(p, carla, KPIS, purpose="  ")
    assert "request-access" not in _done(any_org, carla)
    req = request_access(p, carla, KPIS, purpose="energy benchmarking")
    assert _done(any_org, carla)["request-access"] == ("access_requested", f"request {req.id}")

    with pytest.raises(InvalidInput):
        deny(p, anna, req.id, reason="")  # a refused decision reviews nothing
    assert "review-request" not in _done(any_org, anna)
    approve(p, anna, req.id, reason="benchmarking is fine")
    assert _done(any_org, anna)["review-request"] == ("request_reviewed", f"request {req.id}")

    with pytest.raises(InvalidInput):
        report(p, carla, KPIS, description="")
    assert "report-problem" not in _done(any_org, carla)
    incident = report(p, carla, f"{KPIS}.scrap_rate", description="Porto scrap rate looks too low")
    assert _done(any_org, carla)["report-problem"] == ("problem_reported", f"incident {incident}")

    glossary.propose(p, carla, "Order intake", definition="Orders received in a period.", domain="sales", submit=False)
    assert "glossary-term" not in _done(any_org, carla)  # a draft is not written yet
    glossary.submit(p, carla, "Order intake")
    assert _done(any_org, carla)["glossary-term"] == ("term_proposed", "term order intake")

    path = literacy.my_learning(p, carla).paths[0]
    assert (path.done, path.total) == (7, 10)
    assert path.next is not None and (path.next.key, path.next.link) == ("share-file", "/share")
    assert get_person(p, "carla").id == carla.id


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tracks: [", "not valid YAML"),
        ("nothing: 1", "needs a list 'tracks'"),
        ("tracks:\n- key: Bad Key\n  title: x\n  weeks: []", "'key' is lower-case letters"),
        ("tracks:\n- key: t\n  title: x\n  weeks: []", "needs 1 to 52 weeks"),
        ("tracks:\n- key: t\n  title: x\n  weeks:\n  - tasks:\n    - {key: a, title: A, event: coffee_made}",
         "event 'coffee_made' is not one of"),
        ("tracks:\n- key: t\n  title: x\n  weeks:\n  - tasks:\n    - {key: a, title: A, event: query_done, "
         "condition: {rows: 5}}", "query_done has no fact rows; it has datasets, domains, interface"),
        ("tracks:\n- key: t\n  title: x\n  weeks:\n  - tasks:\n    - {key: a, title: A, event: query_done}\n"
         "    - {key: a, title: B, event: search_done}", "task key 'a' is used twice"),
        ("tracks:\n- key: t\n  title: x\n  weeks:\n  - tasks:\n    - {key: a, title: A, event: query_done, "
         "link: 'https://evil.example'}", "'link' is a path of this platform"),
    ],
)  # fmt: skip
def test_a_bad_tracks_file_is_refused_with_the_place_of_the_mistake(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "tracks.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=re.escape(words)):
        load(f)


def test_an_organisations_own_track_ticks_by_its_own_conditions(any_org: Any, tmp_path: Path) -> None:
    f = tmp_path / "ours.yaml"
    f.write_text(
        "tracks:\n- key: ours\n  title: Our way\n  weeks:\n  - title: Start\n    tasks:\n"
        "    - {key: big-search, title: Find three, event: search_done, condition: {results: 3}}\n"
        "    - {key: cli-query, title: Query from the terminal, event: query_done, condition: {interface: cli}}\n",
        encoding="utf-8",
    )
    p, carla = any_org.platform, any_org.carla
    p.settings.literacy.tracks_file = f
    query(p, f"SELECT plant FROM {KPIS}", user=carla, interface="web")
    search(p, "scrap rate", viewer=carla)  # one dataset: not three
    assert [k for k in _done(any_org, carla) if k in ("big-search", "cli-query")] == []
    query(p, f"SELECT plant FROM {KPIS}", user=carla, interface="cli")
    assert _done(any_org, carla)["cli-query"] == ("query_done", KPIS)
    (path,) = literacy.my_learning(p, carla).paths
    assert (path.track, path.done, path.total) == ("ours", 1, 2)
