"""The target picture: validated with one-line errors, changed only by the governance group with who and why,
domains propose their own target, old snapshots compare against the picture in force then (or today's);
self-assessments are versioned and count from their moment; the monthly snapshot is a job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.jobs.service import run_due
from threshold.maturity import assessment, service, snapshots, target
from threshold.maturity.picture import default_document, parse

from .conftest import Measured

STRICT = default_document().replace("default: [20, 40, 60, 80]", "default: [30, 50, 70, 90]")

BAD_PICTURES = [
    ("levels: [", "target picture: not valid YAML at line 1"),
    ("- a list", "target picture: expected a mapping with levels, baseline and targets"),
    ("levels: {names: [A, B]}\nsurprise: 1", "target picture: unknown key 'surprise'"),
    ("levels: {names: [A]}", "levels.names: expected a list of 2 to 10 level names"),
    ("levels: {names: [A, B, C], thresholds: {default: [50]}}", "levels.thresholds.sharing: expected 2 scores"),
    ("levels: {names: [A, B, C], thresholds: {default: [50, 40]}}", "scores must rise from one level to the next"),
    ("levels: {names: [A, B], thresholds: {default: [150]}}", "150 is not a score between 0 and 100"),
    ("levels: {names: [A, B], thresholds: {speed: [10]}}", "levels.thresholds.speed: no such dimension"),
    (
        "levels: {names: [A, B], thresholds: {sharing: [10]}}",
        "levels.thresholds: no value for ownership and no default",
    ),
    (
        "levels: {names: [A, B], thresholds: {default: [10]}}\ntargets: {sales: {default: 3}}",
        "targets.sales.sharing: level 3 is not between 1 and 2",
    ),
    (
        "levels: {names: [A, B], thresholds: {default: [10]}}\nbaseline: {default: 2}\ntargets: {sales: {default: 1}}",
        "targets.sales.sharing: level 1 is below the organisation baseline 2",
    ),
    (
        "levels: {names: [A, B], thresholds: {default: [10]}}\nquestions: [{id: q, dimension: fun, text: x}]",
        "questions[0].dimension: 'fun' is not a dimension",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_PICTURES)
def test_a_bad_target_picture_is_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("(", r"\(")) as e:
        parse(text)
    assert "\n" not in str(e.value)


def test_the_shipped_picture_is_valid_and_complete() -> None:
    p = parse(default_document())
    assert p.names == ("Starting", "Emerging", "Practising", "Embedded", "Leading")
    assert p.level("sharing", 19.9) == 1 and p.level("sharing", 20) == 2 and p.level("literacy", 100) == 5
    assert p.target("anything", "reuse") == 3 and p.baseline["quality"] == 2
    assert [q.dimension for q in p.questions] == ["ownership", "literacy", "documentation"]


def test_a_picture_is_parsed_once_per_text_and_a_changed_text_is_parsed_anew() -> None:
    """Every maturity page reads the picture in force: its parse is kept per text, so a new version (another
    text) is read as it is, and a bad one is still refused every time."""
    shipped = parse(default_document())
    assert parse(default_document()) is shipped
    assert parse(STRICT).thresholds["sharing"] == (30.0, 50.0, 70.0, 90.0) != shipped.thresholds["sharing"]
    for _ in range(2):
        with pytest.raises(InvalidInput, match="unknown key 'surprise'"):
            parse("levels: {names: [A, B]}\nsurprise: 1")


def test_a_changed_picture_keeps_its_history_and_old_snapshots_compare_against_it(any_measured: Measured) -> None:
    m = any_measured
    p = m.platform
    first = snapshots.take(p, m.gov)
    with pytest.raises(Denied, match="anna is not in the governance group"):
        target.set_picture(p, m.anna, STRICT, reason="higher bar")
    with pytest.raises(InvalidInput, match="say why"):
        target.set_picture(p, m.gov, STRICT, reason=" ")
    with pytest.raises(InvalidInput, match="levels.names"):
        target.set_picture(p, m.gov, "levels: {names: [A]}", reason="broken")
    m.clock.at += timedelta(days=1)
    v2 = target.set_picture(p, m.gov, STRICT, reason="the programme's second year raises the bar")
    assert (v2.version, v2.author) == (2, "gov")
    m.clock.at += timedelta(days=30)
    second = snapshots.take(p, m.gov)
    assert (first.picture_version, second.picture_version) == (1, 2)
    hist = target.history(p, m.carla)
    assert [(h.version, h.author, h.reason) for h in hist] == [
        (2, "gov", "the programme's second year raises the bar"),
        (1, None, "the target picture shipped with Threshold"),
    ]
    # The old snapshot against the picture in force then: sharing 48.3 is level 3 (>= 40) ...
    then = service.dashboard(p, m.carla, snapshot=first.id, against="then")
    mfg = {c.dimension: c.level for c in next(r for r in then.rows if r.domain == "manufacturing").cells}
    assert (then.picture_version, mfg["sharing"], mfg["literacy"]) == (1, 3, 3)
    # ... and against today's (30/50/70/90): level 2; literacy 53.8 stays level 3. The stored score is the same.
    now = service.dashboard(p, m.carla, snapshot=first.id, against="now")
    mfg_now = {c.dimension: (c.level, c.score) for c in next(r for r in now.rows if r.domain == "manufacturing").cells}
    assert (now.picture_version, mfg_now["sharing"][0], mfg_now["literacy"][0]) == (2, 2, 3)
    assert mfg_now["sharing"][1] == pytest.approx(48.3, abs=0.05)
    with pytest.raises(InvalidInput, match="against: expected one of then, now"):
        service.dashboard(p, m.carla, against="later")
    with pytest.raises(NotFound, match="no maturity snapshot #999"):
        service.dashboard(p, m.carla, snapshot=999)


def test_a_domain_proposes_its_target_and_someone_else_in_governance_approves_it(measured: Measured) -> None:
    m = measured
    p = m.platform
    with pytest.raises(Denied, match="only owners of manufacturing and the governance group propose its target"):
        target.propose(p, m.carla, "manufacturing", {"reuse": 4}, reason="we want to be read")
    with pytest.raises(InvalidInput, match="sharing: level 1 is below the organisation baseline 2"):
        target.propose(p, m.anna, "manufacturing", {"sharing": 1}, reason="too much")
    with pytest.raises(InvalidInput, match="no dimension 'fun'"):
        target.propose(p, m.anna, "manufacturing", {"fun": 4}, reason="x")
    with pytest.raises(NotFound, match="no domain 'nowhere'"):
        target.propose(p, m.anna, "nowhere", {"reuse": 4}, reason="x")
    prop = target.propose(p, m.anna, "manufacturing", {"reuse": 5, "default": 4}, reason="others build on our KPIs")
    assert (prop.status, prop.proposed_by, prop.levels) == ("pending", "anna", {"reuse": 5, "default": 4})
    with pytest.raises(Conflict, match=f"already has a target proposal waiting \\(#{prop.id}\\)"):
        target.propose(p, m.anna, "manufacturing", {"reuse": 4}, reason="again")
    with pytest.raises(Denied, match="anna proposed this target"):
        target.decide(p, m.anna, prop.id, approve=True)
    with pytest.raises(Denied, match="carla is not in the governance group"):
        target.decide(p, m.carla, prop.id, approve=True)
    own = target.propose(p, m.gov, "sales", {"literacy": 4}, reason="sales learns")
    with pytest.raises(Denied, match="gov proposed this target"):
        target.decide(p, m.gov, own.id, approve=True)
    with pytest.raises(InvalidInput, match="a rejection needs a reason"):
        target.decide(p, m.gina, own.id, approve=False)
    assert target.decide(p, m.gina, own.id, approve=False, note="first the baseline").status == "rejected"
    done = target.decide(p, m.gov, prop.id, approve=True, note="agreed in the data council")
    assert (done.status, done.decided_by) == ("approved", "gov")
    with pytest.raises(Conflict, match="was already approved"):
        target.decide(p, m.gina, prop.id, approve=False, note="no")
    newest = target.history(p, m.ben)[0]
    assert (newest.version, newest.author, newest.proposal_id) == (2, "gov", prop.id)
    assert "target of manufacturing proposed by anna: others build on our KPIs" in newest.reason
    picture = parse(newest.document)
    assert (picture.target("manufacturing", "reuse"), picture.target("manufacturing", "sharing")) == (5, 4)
    assert picture.target("sales", "literacy") == 3  # the rejected proposal changed nothing
    snapshots.take(p, m.gov)
    page = service.standing(p, m.anna, "manufacturing")
    assert {d.dimension: d.target for d in page.dimensions}["reuse"] == 5
    assert page.may_propose and not service.standing(p, m.carla, "manufacturing").may_propose


def test_self_assessments_are_versioned_and_count_from_their_moment(measured: Measured) -> None:
    m = measured
    p = m.platform
    with pytest.raises(Denied, match="ben is not a member of domain 'manufacturing'"):
        assessment.assess(p, m.ben, "manufacturing", {"owners_known": 4})
    with pytest.raises(InvalidInput, match="no question 'mood'"):
        assessment.assess(p, m.anna, "manufacturing", {"mood": 4})
    with pytest.raises(InvalidInput, match="owners_known: answer 5 is not between 0 and 4"):
        assessment.assess(p, m.anna, "manufacturing", {"owners_known": 5})
    first = assessment.assess(p, m.anna, "manufacturing", {"owners_known": 2}, note="first round")
    m.clock.at += timedelta(days=2)
    snapshots.take(p, m.gov)
    m.clock.at += timedelta(days=1)
    second = assessment.assess(p, m.dora, "manufacturing", {"owners_known": 4, "decisions_with_data": 1})
    assert (first.number, second.number, second.answered_by) == (1, 2, "dora")
    assert [(a.number, a.answered_by) for a in assessment.history(p, m.carla, "manufacturing")] == [
        (2, "dora"),
        (1, "anna"),
    ]
    # The snapshot taken between the two counted the first version only.
    page = service.standing(p, m.anna, "manufacturing")
    own = {d.dimension: [s for s in d.signals if s.source == "self-assessment"] for d in page.dimensions}
    assert [(s.name, s.value, s.ratio) for s in own["ownership"]] == [("self.owners_known", 2.0, 0.5)]
    assert own["literacy"] == []
    ownership = next(d for d in page.dimensions if d.dimension == "ownership")
    assert ownership.score == pytest.approx(100 * (0.3333 + 0.5 + 0.5) / 3, abs=0.05)
    assert page.assessment is not None and page.assessment.number == 2  # the form shows the newest answers


def test_the_monthly_snapshot_is_a_job_of_the_jobs_core(measured: Measured) -> None:
    m = measured
    p = m.platform
    snapshots.plan(p)
    assert run_due(p, now=m.clock.at) == []  # planned for the first of next month, 03:00
    m.clock.at = m.clock.at.replace(month=4, day=1, hour=3, minute=0)
    outcomes = run_due(p, now=m.clock.at)
    assert [(o.kind, o.status) for o in outcomes] == [("maturity.snapshot", "ok")]
    hist = snapshots.history(p, m.carla)
    assert [(h.trigger, h.domains, h.at) for h in hist] == [("schedule", 3, m.clock.at)]
    with pytest.raises(Denied, match="carla is not in the governance group"):
        snapshots.take(p, m.carla)


def test_actions_name_only_datasets_the_viewer_may_know(measured: Measured) -> None:
    from threshold.governance.controls import set_visibility

    m = measured
    p = m.platform
    set_visibility(p, m.anna, "manufacturing.scrap", "restricted")
    high = default_document().replace("  default:\n    default: 3", "  default:\n    default: 5")
    target.set_picture(p, m.gov, high, reason="aim high: every dimension below target")
    snapshots.take(p, m.gov)
    inside = {mv.text: mv.datasets for mv in service.standing(p, m.anna, "manufacturing").moves}
    outside = {mv.text: mv.datasets for mv in service.standing(p, m.carla, "manufacturing").moves}
    assert inside["decide the access requests waiting over a day on 1 dataset"] == ["manufacturing.energy"]
    assert "manufacturing.scrap" in inside["describe 1 dataset"]
    assert "describe 1 dataset" not in outside
    assert all("manufacturing.scrap" not in names for names in outside.values())
