"""Derived data keeps the scope it was read under, and the sensitive class is protected by default.

The measured case: ben holds a grant with personal data on sales.customers for "dunning letters" (30 days),
derives finance.cust_copy with SELECT *, and claudia (finance, no grant) reads the copy. She must read the
names, e-mails and IBANs masked, as she would at the source; ben reads them while his grant lives, and not
after it expires, in the copy as at the source, now and in every earlier snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select, update

from prepared import on_org
from threshold.access.reading import decide
from threshold.catalog.service import describe
from threshold.errors import Denied
from threshold.gateway.service import query
from threshold.governance import controls, policies
from threshold.governance import requests as access_requests
from threshold.identity.service import add_domain, add_user, get_person, join_domain
from threshold.lineage.derive import derive, refresh
from threshold.quality import dataset_checks as checks
from threshold.quality.kinds import CheckSpec
from threshold.quality.models import CheckRun
from threshold.sharing.service import share
from threshold.store.models import Grant, Tag

CUSTOMERS = pa.table(
    {
        "customer_id": [1, 2, 3],
        "customer_name": ["Ada Lovelace", "Grace Hopper", "Alan Turing"],
        "email": ["ada@example.com", "grace@example.com", "alan@example.com"],
        "iban": ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"],
        "card": ["4111111111111111", "5500000000000004", "340000000000009"],
        "city": ["London", "Arlington", "Wilmslow"],
        "balance": [120.5, -40.0, 310.25],
    }
)
SENSITIVE = {"customer_name", "email", "iban", "card"}
CLEAR = {"Ada Lovelace", "ada@example.com", "DE89370400440532013000", "4111111111111111"}
PURPOSE = "dunning letters"


def _rows(platform: Any, sql: str, who: Any, purpose: str | None = None) -> list[dict[str, Any]]:
    return query(platform, sql, user=who, purpose=purpose).table.to_pylist()


def _values(rows: list[dict[str, Any]]) -> set[str]:
    return {str(v) for r in rows for v in r.values()}


@on_org("copied")
def _build_copied(org: Any, tmp: Any = None) -> Any:
    """sales.customers (on request, sam owns sales), ben's personal grant, and finance.cust_copy derived by ben."""
    p = org.platform
    add_user(p, "sam", password="sam-pass")
    add_user(p, "claudia", domains=("finance",), password="claudia-pass")
    join_domain(p, "sam", "sales", "owner")
    org.sam, org.claudia = get_person(p, "sam"), get_person(p, "claudia")
    share(p, CUSTOMERS, domain="sales", name="customers", user=org.sam)
    controls.tag(p, org.sam, "sales.customers.customer_name", "personal.name")
    controls.tag(p, org.sam, "sales.customers.email", "personal.email")
    controls.set_visibility(p, org.sam, "sales.customers", "on-request")
    req = access_requests.request_access(p, org.ben, "sales.customers", purpose=PURPOSE, days=30)
    org.grant = access_requests.approve(p, org.sam, req.id, allow_personal=True).grant
    derive(p, "cust_copy", domain="finance", sql="SELECT * FROM sales.customers", user=org.ben, purpose=PURPOSE)
    return org


@pytest.fixture
def copied(org: Any, prepared_homes: Any) -> Any:
    """`_build_copied` on the org: a copy of its home built once per session."""
    if not prepared_homes.adopt(org, _build_copied):
        _build_copied(org)
    return org


def test_ibans_and_cards_are_detected_and_in_the_sensitive_class(copied: Any) -> None:
    with copied.platform.store.session() as s:
        tags = {
            (t.column_name, t.tag)
            for t in s.scalars(select(Tag).join(Tag.dataset).where(Tag.column_name.in_(["iban", "card"])))
        }
    assert ("iban", "financial.iban") in tags and ("card", "financial.card") in tags
    (d,) = decide(copied.platform, copied.claudia, ["sales.customers"], None)
    assert d.allowed is False  # on request, no grant: nothing read at all
    controls.set_visibility(copied.platform, copied.sam, "sales.customers", "open")
    rows = _rows(copied.platform, "SELECT * FROM sales.customers", copied.ben, "other")
    assert {r["iban"] for r in rows} == {"***"} and {r["card"] for r in rows} == {"***"}
    assert {r["city"] for r in rows} == {"London", "Arlington", "Wilmslow"}
    own = _rows(copied.platform, "SELECT * FROM sales.customers", copied.carla)  # carla is in sales
    assert "DE89370400440532013000" in _values(own)


def test_a_copy_reads_as_its_source_for_someone_without_the_grant(copied: Any) -> None:
    p = copied.platform
    rows = _rows(p, "SELECT * FROM finance.cust_copy", copied.claudia)
    assert {c for r in rows for c, v in r.items() if v == "***"} == SENSITIVE
    assert not CLEAR & _values(rows), "claudia must not read what she could not read at the source"
    assert {r["city"] for r in rows} == {"London", "Arlington", "Wilmslow"}, "the rest of the copy stays hers"
    (d,) = decide(p, copied.claudia, ["finance.cust_copy"], None)
    why = {c.name: c.why for c in d.columns if c.mask}
    assert set(why) == SENSITIVE and "comes from sales" in why["email"]
    record = describe(p, "finance.cust_copy", viewer=copied.claudia)
    profile = {c.name: (c.min, c.max, c.top_values) for c in record.schema}
    assert profile["customer_name"] == (None, None, []), "no profile values of a column she reads masked"


def test_the_grantee_reads_the_copy_while_the_grant_lives(copied: Any) -> None:
    p = copied.platform
    assert CLEAR <= _values(_rows(p, "SELECT * FROM finance.cust_copy", copied.ben, PURPOSE))
    with p.store.session() as s:
        s.execute(
            update(Grant).where(Grant.id == copied.grant).values(expires_at=datetime.now(UTC) - timedelta(days=1))
        )
    assert not CLEAR & _values(_rows(p, "SELECT * FROM finance.cust_copy", copied.ben, PURPOSE))
    first = _rows(p, "SELECT * FROM finance.cust_copy", copied.ben)
    with pytest.raises(Exception, match="shared on request"):
        _rows(p, "SELECT * FROM sales.customers", copied.ben, PURPOSE)
    assert not CLEAR & _values(first)


def test_earlier_snapshots_of_the_copy_keep_the_scope(copied: Any) -> None:
    p = copied.platform
    from threshold.store.models import Dataset, Share

    with p.store.session() as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.full_name == "finance.cust_copy"))
        first = s.scalar(select(Share.snapshot_id).where(Share.dataset_id == ds_id).order_by(Share.id))
    refresh(p, "finance.cust_copy", user=copied.ben)
    rows = _rows(p, f"SELECT * FROM finance.cust_copy FOR VERSION AS OF {first}", copied.claudia)
    assert rows and not CLEAR & _values(rows)


def test_the_copys_domain_cannot_untag_what_it_inherited(copied: Any) -> None:
    """finance may remove its own classification of the copy (the tag detected when it was shared), not the one
    the values carry from sales."""
    controls.untag(copied.platform, copied.ben, "finance.cust_copy.email", "personal.email")
    with pytest.raises(Denied, match=r"rule: guardrail\.origin"):
        controls.untag(copied.platform, copied.ben, "finance.cust_copy.email", "personal.email")
    assert not CLEAR & _values(_rows(copied.platform, "SELECT * FROM finance.cust_copy", copied.claudia))


def test_a_copy_of_what_its_owner_read_masked_is_theirs(copied: Any) -> None:
    """claudia derives from the copy: she read the names masked, so her copy holds masked values, in her scope."""
    p = copied.platform
    derive(
        p, "cust_seen", domain="finance", sql="SELECT customer_name, city FROM finance.cust_copy", user=copied.claudia
    )
    rows = _rows(p, "SELECT * FROM finance.cust_seen", copied.claudia)
    assert {r["customer_name"] for r in rows} == {"***"}
    with p.store.session() as s:
        scoped = s.scalars(
            select(Tag).join(Tag.dataset).where(Tag.column_name == "customer_name", Tag.origin == "lineage")
        )
        assert {(t.dataset.full_name, t.scope_domain_id is None) for t in scoped} >= {("finance.cust_seen", True)}


def test_a_restricted_dataset_is_derived_only_into_its_own_domain(copied: Any) -> None:
    p = copied.platform
    add_domain(p, "hr", owners=("ben",))
    hr = get_person(p, "ben")
    share(p, pa.table({"staff": ["a"], "grade": ["E9"]}), domain="hr", name="grades", user=hr)
    controls.set_visibility(p, hr, "hr.grades", "restricted")
    with pytest.raises(Denied, match=r"a restricted dataset of hr is derived only into hr, .*rule: derive\.scope"):
        derive(p, "grades_copy", domain="finance", sql="SELECT * FROM hr.grades", user=hr)
    derive(p, "grades_copy", domain="hr", sql="SELECT * FROM hr.grades", user=hr)


def test_the_governance_group_adds_tags_to_the_class_and_domains_only_tighten(copied: Any) -> None:
    p = copied.platform
    controls.set_visibility(p, copied.sam, "sales.customers", "open")
    controls.tag(p, copied.sam, "sales.customers.balance", "financial.balance")
    assert {r["balance"] for r in _rows(p, "SELECT balance FROM sales.customers", copied.ben, "x")} != {None}
    gina = add_user(p, "gina", governance=True)
    policies.apply(
        p, gina, "scope: global\nguardrails:\n  - {id: balances, kind: sensitive, tags: [financial.balance]}\n"
    )
    assert {r["balance"] for r in _rows(p, "SELECT balance FROM sales.customers", copied.ben, "x")} == {None}
    # a domain's own addition holds for data coming from it
    controls.tag(p, copied.sam, "sales.customers.city", "location.city")
    sales = "domain: sales\npolicies:\n  - {id: cities, kind: sensitive, tags: [location.city]}\n"
    policies.apply(p, copied.sam, sales)
    assert {r["city"] for r in _rows(p, "SELECT city FROM sales.customers", copied.ben, "x")} == {"***"}
    with pytest.raises(Exception, match="built in"):
        policies.apply(p, gina, "scope: global\nguardrails:\n  - {id: personal-data, kind: mask, tags: [x]}\n")


def test_failing_rows_are_kept_as_the_checks_author_may_see_them(copied: Any) -> None:
    """claudia's check on the copy fails on every row: its sample holds no name, e-mail or IBAN in clear,
    even though the check runs as finance's owner, who holds the grant."""
    p = copied.platform
    checks.add(p, copied.claudia, "finance.cust_copy", CheckSpec("range", {"column": "balance", "min": 1000}))
    checks.run(p, copied.claudia, "finance.cust_copy")
    with p.store.session() as s:
        stored = [r.sample for r in s.scalars(select(CheckRun))]
    assert stored and any(x.get("rows") for x in stored)
    assert not [v for v in CLEAR if v in json.dumps(stored)]
