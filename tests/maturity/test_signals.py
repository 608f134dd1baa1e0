"""Every signal of the model against numbers computed by hand from the fixture (conftest.py explains it),
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from threshold.maturity import service, snapshots
from threshold.maturity.service import DimensionScore

from .conftest import Measured

# dimension -> signal -> (value, of, ratio), computed by hand for manufacturing at 2026-03-31 12:00:
# 3 datasets count (plant_kpis, scrap, energy; `old` is deprecated, `future` was created after).
MANUFACTURING = {
    "sharing": {"datasets": (3, None, 0.3), "kept_current": (2, 3, 0.6667)},
    "ownership": {"owned": (1, 3, 0.3333), "acknowledged": (1, 2, 0.5)},
    "documentation": {"described": (2, 3, 0.6667), "contract": (1, 3, 0.3333)},
    "quality": {"checked": (2, 3, 0.6667), "passing": (1, 2, 0.5), "fresh": (0, 1, 0.0), "fixed": (1, 2, 0.5)},
    "reuse": {"read_outside": (1, 3, 0.3333), "consumer_domains": (2, None, 0.6667)},
    "access_speed": {"within_a_day": (1, 3, 0.3333), "hours": (38.0, None, None)},
    "literacy": {"active": (1, 2, 0.5), "authors": (1, 2, 0.5), "viewed": (1, 1, 1.0), "learning": (0.3, 2, 0.15)},
}
SCORES = {
    "sharing": 48.3,
    "ownership": 41.7,
    "documentation": 50.0,
    "quality": 41.7,
    "reuse": 50.0,
    "access_speed": 33.3,
    "literacy": 53.8,  # (0.5 + 0.5 + 1.0 + 0.15) / 4
}


def _by_dimension(dims: list[DimensionScore]) -> dict[str, DimensionScore]:
    return {d.dimension: d for d in dims}


def test_each_signal_has_the_hand_computed_numbers(any_measured: Measured) -> None:
    m = any_measured
    taken = snapshots.take(m.platform, m.gov)
    assert (taken.domains, taken.trigger, taken.picture_version) == (3, "demand", 1)
    page = service.standing(m.platform, m.anna, "manufacturing")
    dims = _by_dimension(page.dimensions)
    got = {d: {s.name: (s.value, s.of, s.ratio) for s in dims[d].signals} for d in MANUFACTURING}
    assert got == MANUFACTURING
    assert {d: dims[d].score for d in SCORES} == pytest.approx(SCORES, abs=0.051)
    # Default picture: thresholds 20/40/60/80, target 3 everywhere.
    assert {d: dims[d].level for d in SCORES} == {
        "sharing": 3, "ownership": 3, "documentation": 3, "quality": 3, "reuse": 3, "access_speed": 2, "literacy": 3,
    }  # fmt: skip
    assert [(n.dimension, n.to_level, n.needs) for n in page.next_steps] == [("access_speed", 3, 40.0)]
    assert all(s.formula for d in dims.values() for s in d.signals)


def test_a_domain_with_nothing_shared_scores_what_it_can(measured: Measured) -> None:
    m = measured
    snapshots.take(m.platform, m.gov)
    dims = _by_dimension(service.standing(m.platform, m.ben, "finance").dimensions)
    assert [(s.name, s.value, s.ratio) for s in dims["sharing"].signals] == [
        ("datasets", 0.0, 0.0),
        ("kept_current", 0.0, None),
    ]
    assert dims["sharing"].score == 0.0 and dims["sharing"].level == 1
    assert dims["documentation"].score == 0.0  # nothing to measure: no evidence, level 1
    # ben read manufacturing's data in the window; he wrote no insight.
    assert {s.name: s.ratio for s in dims["literacy"].signals} == {
        "active": 1.0, "authors": 0.0, "viewed": None, "learning": 0.0,
    }  # fmt: skip
    assert dims["literacy"].score == 33.3


def test_the_dashboard_reads_the_snapshot_and_the_trend(measured: Measured) -> None:
    m = measured
    empty = service.dashboard(m.platform, m.carla)
    assert (empty.snapshot_id, empty.rows, empty.may_snapshot) == (None, [], False)
    first = snapshots.take(m.platform, m.gov)
    board = service.dashboard(m.platform, m.carla)
    assert [r.domain for r in board.rows] == ["finance", "manufacturing", "sales"]
    mfg = next(r for r in board.rows if r.domain == "manufacturing")
    assert [(c.dimension, c.level) for c in mfg.cells][:2] == [("sharing", 3), ("ownership", 3)]
    assert [t.snapshot_id for t in board.trend] == [first.id]
    assert board.trend[0].scores["sharing"] == pytest.approx((48.3 + 0.0 + 0.0) / 3, abs=0.05)


def test_a_reader_is_outside_a_domain_even_when_their_own_domain_shares(measured: Measured) -> None:
    """ben (finance) and carla (sales) read plant_kpis: they stay outsiders of manufacturing once their own
    domains share too (the correlated query once asked "is the reader in any domain that shares")."""
    from sqlalchemy import select

    from threshold.store.models import Dataset, Domain
    from threshold.usage.service import UsageRecord, record

    from .conftest import _t

    m = measured
    with m.platform.store.session() as s:
        ids = dict(s.execute(select(Domain.name, Domain.id)).all())
        made = {}
        for domain, name in (("finance", "budget"), ("sales", "pipeline")):
            d = Dataset(domain_id=ids[domain], name=name, full_name=f"{domain}.{name}", description="x",
                        stage="shared", snapshot_id=1, created_at=_t(1, 15))  # fmt: skip
            s.add(d)
            s.flush()
            made[domain] = d.id
    for who, ds, day in (("carla", made["finance"], 27), ("ben", made["finance"], 27), ("ben", made["sales"], 2)):
        uid = {"carla": m.carla.id, "ben": m.ben.id}[who]
        at = _t(3, day)
        record(m.platform, UsageRecord(uid, "sql", None, f"g{ds}{who}", "select 1", 1, 1.0, "ok", [(ds, [], 1)], at=at))
    snapshots.take(m.platform, m.gov)

    def reuse(domain: str) -> dict[str, tuple[float, float | None]]:
        dims = _by_dimension(service.standing(m.platform, m.gov, domain).dimensions)
        return {s.name: (s.value, s.of) for s in dims["reuse"].signals}

    assert reuse("manufacturing") == {"read_outside": (1, 3), "consumer_domains": (2, None)}
    # carla (sales) read finance.budget in the window, ben is finance's own; ben's read of sales.pipeline
    # on March 2nd is in the week of March 2nd, the window's first (30 days back from March 31st: March 2nd).
    assert reuse("finance") == {"read_outside": (1, 1), "consumer_domains": (1, None)}
    assert reuse("sales") == {"read_outside": (1, 1), "consumer_domains": (1, None)}
