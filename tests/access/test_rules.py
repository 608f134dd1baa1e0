"""The decision point answers every case of tests/fixtures/access/decisions.txt, naming the rule that decided;
`require` turns a hidden refusal into the error of something that does not exist; and the SQL form of
`dataset.know` (what every listing filters with) agrees with the rule for every person and dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from threshold.access import (
    ACTIONS,
    DatasetRef,
    DomainRef,
    IncidentRef,
    PersonRef,
    PolicyScope,
    ProductRef,
    TargetProposalRef,
    knowable,
    knows,
    may,
    no_dataset,
    refs,
    require,
)
from threshold.access.rules import RULES
from threshold.errors import Denied, NotFound
from threshold.identity.service import Person
from threshold.store.models import Dataset

from .conftest import ON_REQUEST, OPEN, RESTRICTED, World

CASES = Path(__file__).parents[1] / "fixtures" / "access" / "decisions.txt"
_ids = iter(range(100, 10_000))


def actor(spec: str) -> Person:
    """`name[:domain,...][/owner-of,...][+admin][+governance]`."""
    flags = spec.split("+")
    head, admin, governance = flags[0], "admin" in flags[1:], "governance" in flags[1:]
    head, _, owned = head.partition("/")
    name, _, domains = head.partition(":")
    return Person(
        id=sum(map(ord, name)),
        name=name,
        display_name=name,
        is_admin=admin,
        domains=tuple(d for d in domains.split(",") if d),
        owner_of=tuple(d for d in owned.split(",") if d),
        is_governance=governance,
    )


def resource(spec: str) -> Any:
    if "->" in spec:
        source, target = spec.split("->")
        return resource(source.strip()), DomainRef(target.strip())
    kind, *words = spec.split()
    if kind == "dataset":
        domain, visibility, *rest = words
        return DatasetRef(next(_ids), f"{domain}.data", domain, visibility, granted="granted" in rest)
    if kind == "domain":
        return DomainRef(words[0])
    if kind == "product":
        domain, visibility, owner = words
        return ProductRef(DatasetRef(next(_ids), f"{domain}.data", domain, visibility), actor(owner[6:]).id)
    if kind == "policy":
        return PolicyScope(None if words[0] == "global" else words[0])
    if kind == "person":
        return PersonRef(actor(words[0]).id, words[0])
    if kind == "incident":
        fields = dict(w.split("=") for w in words[:3])
        reporter = None if fields["reporter"] == "-" else actor(fields["reporter"]).id
        seen = DatasetRef(next(_ids), f"{fields['seen']}.data", fields["seen"], words[3])
        return IncidentRef(1, reporter, None, fields["routed"], seen)
    if kind == "proposal":
        return TargetProposalRef(words[0], actor(words[1][3:]).id)
    raise ValueError(f"unknown resource {spec!r}")


def _cases() -> list[tuple[str, str, str, str]]:
    out = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            a, action, r, answer = (part.strip() for part in line.split("|"))
            out.append((a, action, r, answer))
    return out


@pytest.mark.parametrize(("who", "action", "what", "answer"), _cases())
def test_the_decision_point_answers_each_case(who: str, action: str, what: str, answer: str) -> None:
    got = may(actor(who), action, resource(what))
    verdict, _, rule = answer.partition(" ")
    if verdict == "hidden":
        assert (got.allowed, got.hidden) == (False, True), got
    else:
        assert (got.allowed, got.hidden, got.rule) == (verdict == "allowed", False, rule), got


def test_every_action_has_a_rule_and_every_rule_an_action() -> None:
    assert set(RULES) == set(ACTIONS)


def test_the_platform_itself_may_do_anything() -> None:
    assert all(may(None, a).allowed for a in ACTIONS)


def test_an_action_outside_the_vocabulary_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="no action 'dataset.peek'"):
        may(actor("carla:sales"), "dataset.peek")


def test_a_hidden_refusal_reads_like_a_missing_dataset() -> None:
    hidden = DatasetRef(7, "hr.employees", "hr", "restricted")
    with pytest.raises(NotFound) as refused:
        require(actor("carla:sales"), "dataset.know", hidden)
    assert str(refused.value) == str(no_dataset("hr.employees"))
    with pytest.raises(Denied, match=r"rule: visibility.restricted"):
        require(actor("gina+governance"), "dataset.read", hidden)


def test_the_sql_filter_of_known_datasets_is_the_rule(world: World) -> None:
    """For every person of the world and every dataset, a listing filtered with `knowable` holds exactly
    the datasets `dataset.know` allows (one rule, two forms)."""
    with world.platform.store.session() as s:
        every = refs(s, None, None)
        for name, person in world.people.items():
            listed = set(s.scalars(select(Dataset.id).where(knowable(person))))
            allowed = {i for i, ref in every.items() if knows(person, ref)}
            assert listed == allowed, name
    assert {RESTRICTED, OPEN, ON_REQUEST} <= {r.name for r in every.values()}


def test_the_sql_filter_of_visible_incidents_is_the_rule(world: World) -> None:
    from threshold.quality.incident_records import list_incidents
    from threshold.quality.models import Incident
    from threshold.quality.transitions import incident_ref

    with world.platform.store.session() as s:
        every = {i.id: incident_ref(s, i) for i in s.scalars(select(Incident))}
    assert len(every) >= 3
    for name, person in world.people.items():
        listed = {i.id for i in list_incidents(world.platform, person)}
        assert listed == {i for i, ref in every.items() if may(person, "incident.see", ref)}, name
    hidden = world.ids[RESTRICTED]["incident"]
    assert hidden not in {i.id for i in list_incidents(world.platform, world.people["carla"])}


def test_free_text_is_scrubbed_of_names_the_reader_may_not_know() -> None:
    from threshold.access import scrub

    text = "Built on it: hr.staff, finance.x. HR.STAFF.pay_grade changed; xhr.staff is another name"
    assert scrub(text, ["hr.staff"]) == (
        "Built on it: (a dataset you may not see), finance.x. (a dataset you may not see) changed; "
        "xhr.staff is another name"
    )
    assert scrub(text, []) == text and scrub(None, ["hr.staff"]) is None
