"""Joinable, not reversible: the keyed `hash` mask.

With the guardrail set to `hash`, outsiders can join and count personal columns without reading them. The
key of a hash is derived per scope (the domain the values come from and the column's tag; the grant, for
values a grantee derived), so nobody can obtain the hash of values of their choosing under the key of
someone else's data — the dictionary attack. Domains that want outsiders to join across them agree on a
join key, each in its own policy file.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from prepared import on_org
from threshold.gateway.service import query
from threshold.governance import controls, policies
from threshold.governance import requests as access_requests
from threshold.identity.service import add_domain, add_user, get_person, join_domain
from threshold.lineage.derive import derive
from threshold.sharing.service import share

EMAILS = ["ada@example.com", "grace@example.com", "alan@example.com"]
ORDERS_ONLY = "bob@example.com"
"""A customer's e-mail that is in sales.orders and not in sales.customers."""


def _share_emails(p: Any, who: Any, domain: str, name: str, emails: list[str]) -> None:
    share(p, pa.table({"email": emails, "n": list(range(len(emails)))}), domain=domain, name=name, user=who)
    controls.tag(p, who, f"{domain}.{name}.email", "personal.email")


def _hashes(p: Any, who: Any, sql: str, purpose: str | None = None) -> list[str]:
    return [r["email"] for r in query(p, sql, user=who, purpose=purpose).table.to_pylist()]


@on_org("hashed")
def _build_hashed(org: Any, tmp: Any = None) -> Any:
    p = org.platform
    p.settings.guardrail_personal_mask = "hash"
    for name in ("sam", "dora", "claudia"):
        add_user(p, name)
    join_domain(p, "sam", "sales", "owner")
    join_domain(p, "claudia", "finance")
    add_domain(p, "marketing", owners=("dora",))
    org.sam, org.dora, org.claudia = (get_person(p, n) for n in ("sam", "dora", "claudia"))
    _share_emails(p, org.sam, "sales", "customers", EMAILS)
    _share_emails(p, org.sam, "sales", "orders", [EMAILS[0], ORDERS_ONLY])
    return org


@pytest.fixture
def hashed(org: Any, prepared_homes: Any) -> Any:
    """`_build_hashed` on the org: a copy of its home built once per session."""
    if not prepared_homes.adopt(org, _build_hashed):
        _build_hashed(org)
    org.platform.settings.guardrail_personal_mask = "hash"  # a setting of the open platform, not of the home
    return org


def test_outsiders_join_hashed_columns_of_one_domain(hashed: Any) -> None:
    p, ben = hashed.platform, hashed.ben
    customers = _hashes(p, ben, "SELECT email FROM sales.customers ORDER BY n")
    orders = _hashes(p, ben, "SELECT email FROM sales.orders ORDER BY n")
    assert all(h.startswith("h_") for h in customers) and not set(EMAILS) & set(customers)
    assert customers[0] == orders[0], "the same customer has the same hash in both: joinable"
    joined = query(
        p, "SELECT count(*) AS n FROM sales.customers c JOIN sales.orders o ON c.email = o.email", user=ben
    ).table.to_pylist()
    assert joined == [{"n": 1}]


def test_sharing_values_of_ones_choice_gives_no_dictionary(hashed: Any) -> None:
    """dora shares every e-mail she can guess into marketing; what anyone outside sees of them is hashed under
    marketing's key: no hash matches one of sales'."""
    p = hashed.platform
    _share_emails(p, hashed.dora, "marketing", "guesses", [*EMAILS, ORDERS_ONLY, "nobody@example.com"])
    guesses = set(_hashes(p, hashed.ben, "SELECT email FROM marketing.guesses"))
    sales = set(_hashes(p, hashed.ben, "SELECT email FROM sales.customers"))
    sales |= set(_hashes(p, hashed.ben, "SELECT email FROM sales.orders"))
    assert guesses and sales and not guesses & sales


def test_deriving_values_of_ones_choice_gives_no_dictionary(hashed: Any) -> None:
    """dora derives from sales.customers, slipping chosen values in beside it; she read the e-mails masked, so
    her copy is in marketing's scope: its hashes are not sales'."""
    p = hashed.platform
    sql = f"SELECT email FROM sales.customers UNION ALL SELECT '{EMAILS[0]}' AS email UNION ALL SELECT '{ORDERS_ONLY}'"
    derive(p, "copy", domain="marketing", sql=sql, user=hashed.dora)
    copy = set(_hashes(p, hashed.ben, "SELECT email FROM marketing.copy"))
    sales = set(_hashes(p, hashed.ben, "SELECT email FROM sales.customers"))
    sales |= set(_hashes(p, hashed.ben, "SELECT email FROM sales.orders"))
    assert copy and not copy & sales


def test_a_grantee_cannot_turn_a_grant_into_a_dictionary(hashed: Any) -> None:
    """ben may read sales.customers in clear (a grant with personal data); he derives it with a chosen e-mail
    that is only in sales.orders. What claudia sees of his copy is hashed under a key of that grant, so it
    does not open sales.orders, which ben was never granted."""
    p = hashed.platform
    req = access_requests.request_access(p, hashed.ben, "sales.customers", purpose="dunning")
    access_requests.approve(p, hashed.sam, req.id, allow_personal=True)
    sql = f"SELECT email FROM sales.customers UNION ALL SELECT '{ORDERS_ONLY}' AS email"
    derive(p, "probe", domain="finance", sql=sql, user=hashed.ben, purpose="dunning")
    probe = set(_hashes(p, hashed.claudia, "SELECT email FROM finance.probe"))
    orders = set(_hashes(p, hashed.claudia, "SELECT email FROM sales.orders"))
    assert probe and orders and not probe & orders
    assert ORDERS_ONLY in _hashes(p, hashed.ben, "SELECT email FROM finance.probe", "dunning"), "ben reads his own"


def test_a_join_key_holds_once_both_domains_agree(hashed: Any) -> None:
    p = hashed.platform
    _share_emails(p, hashed.ben, "finance", "invoices", [EMAILS[0]])
    key = (
        "  - {id: shared-customers, kind: join_key, key: customers, tags: [personal.email], domains: [sales, finance]}"
    )
    policies.apply(p, hashed.sam, f"domain: sales\npolicies:\n{key}\n")
    before = _hashes(p, hashed.dora, "SELECT email FROM finance.invoices")
    assert before[0] != _hashes(p, hashed.dora, "SELECT email FROM sales.customers ORDER BY n")[0], "one side only"
    policies.apply(p, hashed.ben, f"domain: finance\npolicies:\n{key}\n")
    after = _hashes(p, hashed.dora, "SELECT email FROM finance.invoices")
    assert after[0] == _hashes(p, hashed.dora, "SELECT email FROM sales.customers ORDER BY n")[0], "both agreed"


def test_a_join_key_is_agreed_by_domains_not_imposed(hashed: Any) -> None:
    p = hashed.platform
    gina = add_user(p, "gina", governance=True)
    key = "  - {id: k, kind: join_key, key: k, tags: [personal.email], domains: [sales, finance]}"
    with pytest.raises(Exception, match="agreed by the owners of each domain"):
        policies.apply(p, gina, f"scope: global\nguardrails:\n{key}\n")
    with pytest.raises(Exception, match="lists marketing among its domains"):
        policies.apply(p, hashed.dora, f"domain: marketing\npolicies:\n{key}\n")


def test_members_masked_by_their_own_domain_never_see_the_outsiders_hash(hashed: Any) -> None:
    p = hashed.platform
    rule = "  - {id: pseudonyms, kind: mask, tags: [personal.email], mask: hash, readers: everyone}"
    policies.apply(p, hashed.sam, f"domain: sales\npolicies:\n{rule}\n")
    inside = _hashes(p, hashed.sam, "SELECT email FROM sales.customers ORDER BY n")
    outside = _hashes(p, hashed.ben, "SELECT email FROM sales.customers ORDER BY n")
    assert all(h.startswith("h_") for h in inside) and not set(inside) & set(outside)
