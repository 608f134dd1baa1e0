"""The vocabulary of the decision point: every action a person may be allowed or refused, in one table.

An action is named `<resource>.<verb>` and says, in one line, who may take it. `audience` is the most a
route can check before it knows its target (a web page or API route declares an action with
`Requires(...)`, interface/permissions.py): `public` and `signed_in` routes are open to those callers, a
`governance` or `admin` route refuses everyone else at once, and for the domain-scoped levels (`member`,
`owner`, `owner_or_governance`) the decision is taken on the target (the dataset in the path, or the
domain, dataset or product the service is asked about). The rules themselves live in `rules.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["public", "signed_in", "member", "owner", "owner_or_governance", "governance", "admin"]
LEVELS: tuple[Level, ...] = ("public", "signed_in", "member", "owner", "owner_or_governance", "governance", "admin")


@dataclass(frozen=True)
class Action:
    name: str
    audience: Level
    who: str
    """Who may take it, as a sentence for people (docs, explanations, refusals)."""


_ACTIONS = (
    # Using the platform at all.
    Action("platform.public", "public", "anyone, signed in or not"),
    Action("platform.use", "signed_in", "anyone signed in"),
    Action("platform.admin", "admin", "platform administrators"),
    Action("governance.oversee", "governance", "the governance group and administrators"),
    Action("jobs.operate", "admin", "platform administrators (jobs name every dataset: the platform's machinery)"),
    # Datasets.
    Action(
        "dataset.know",
        "signed_in",
        "anyone for an open or on-request dataset; for a restricted one its domain's members, the governance "
        "group and administrators",
    ),
    Action(
        "dataset.read",
        "signed_in",
        "its domain's members and administrators; others when it is open, or on request with a live grant "
        "(purposes, masks and row filters then apply)",
    ),
    Action(
        "dataset.read_data",
        "signed_in",
        "whoever reads the dataset (or the column) with no mask and no row filter: values shown outside a "
        "query (profile values, failing-row samples, reporters' queries)",
    ),
    Action("dataset.usage.counts", "signed_in", "anyone who may know the dataset: counts per domain and purpose"),
    Action(
        "dataset.usage.names",
        "signed_in",
        "its producers (members of its domain, unless the organisation shows producers domains and purposes "
        "only), the governance group and administrators",
    ),
    Action("dataset.write", "member", "its domain's members and administrators"),
    Action("dataset.manage", "owner_or_governance", "its domain's owners, the governance group and administrators"),
    Action("dataset.grant", "owner", "its domain's owners and administrators"),
    Action("dataset.operate", "owner", "its domain's owners and administrators (repair, compaction, snapshot expiry)"),
    Action("dataset.request", "signed_in", "anyone who may know it and is not in its domain, unless it is restricted"),
    Action(
        "dataset.explain.others",
        "signed_in",
        "its domain's owners, the governance group and administrators (anyone may ask about themselves)",
    ),
    Action("dataset.audit", "signed_in", "its domain's owners, the governance group and administrators"),
    Action(
        "dataset.derive_from",
        "member",
        "its domain's members, into any domain for an open or on-request dataset, into its own for a restricted one",
    ),
    Action("derivation.run", "member", "the person it runs as, members of its domain and administrators"),
    Action("lineage.write", "signed_in", "anyone for external datasets; into a lake dataset, its domain's members"),
    # Domains.
    Action("domain.member", "member", "the domain's members and administrators"),
    Action("domain.own", "owner", "the domain's owners and administrators"),
    Action(
        "domain.usage.names",
        "signed_in",
        "the domain's producers (members, unless the organisation shows producers domains and purposes only), "
        "the governance group and administrators",
    ),
    # Data products.
    Action("product.promote", "owner", "owners of the dataset's domain and administrators"),
    Action("product.manage", "signed_in", "the product's owner, owners of its domain and administrators"),
    Action("product.know", "signed_in", "the product's owner, and anyone who may know its dataset"),
    Action("product.propose_owner", "owner", "owners of the dataset's domain, the governance group and administrators"),
    Action(
        "product.decide_owner",
        "signed_in",
        "the person ownership is proposed to, a suggested owner, and members of the dataset's domain",
    ),
    Action("source.register", "owner", "owners of any domain, administrators, and the person who will own it"),
    Action(
        "source.manage",
        "signed_in",
        "a source system's owner and administrators (its connection, tests and syncs; a sync also needs membership "
        "of the domain it shares into)",
    ),
    # Policies.
    Action(
        "policy.edit",
        "owner",
        "global guardrails: the governance group and administrators; a domain's policies: its owners and "
        "administrators",
    ),
    # Insights and boards.
    Action(
        "insight.view",
        "signed_in",
        "anyone who may know every dataset it reads and is in its audience (everyone, its home domain's members, "
        "or its owner alone); the governance group and administrators",
    ),
    Action("insight.comment", "signed_in", "whoever may view it"),
    Action("insight.fork", "signed_in", "whoever may view it"),
    Action("insight.edit", "signed_in", "its owner, owners of its home domain and administrators"),
    Action("insight.schedule", "signed_in", "its owner and administrators (scheduled reruns use the owner's rights)"),
    Action("board.edit", "signed_in", "its owner, owners of its home domain and administrators"),
    # The glossary.
    Action("glossary.propose", "signed_in", "anyone signed in: a new term or an edit, reviewed before it is in force"),
    Action(
        "glossary.review",
        "signed_in",
        "owners of the term's domain, the governance group and administrators; never the revision's own author",
    ),
    Action(
        "glossary.link",
        "signed_in",
        "members of the term's domain or of the dataset's domain, the governance group and administrators; "
        "only to what they may know exists",
    ),
    # The right to erasure and subject access (threshold.erasure).
    Action(
        "subject.erase",
        "governance",
        "the governance group and administrators: plan, run and read erasures and their certificates",
    ),
    Action(
        "subject.access",
        "governance",
        "the governance group and administrators: everything held about one data subject, values included",
    ),
    # Learning and the personal report.
    Action("cohort.organise", "governance", "the governance group and administrators: cohorts and their progress"),
    Action("report.person.read", "signed_in", "the person themselves, and nobody else (not the governance group)"),
    Action(
        "report.team.read",
        "signed_in",
        "owners of the domain, when the organisation has switched the team view on (literacy.team_view): totals only",
    ),
    # The collection register and retention.
    Action(
        "compliance.register.edit",
        "owner_or_governance",
        "its domain's owners, the governance group and administrators",
    ),
    Action(
        "compliance.retention.run",
        "governance",
        "the governance group and administrators (each dataset's owners are told before and after)",
    ),
    # The maturity model.
    Action(
        "maturity.view", "signed_in", "anyone signed in: scores per domain (actions name only datasets they may know)"
    ),
    Action(
        "maturity.snapshot",
        "governance",
        "the governance group and administrators (the monthly job runs as the platform)",
    ),
    Action(
        "maturity.target.set", "governance", "the governance group and administrators: every change is a new version"
    ),
    Action(
        "maturity.target.propose",
        "owner_or_governance",
        "owners of the domain, the governance group and administrators",
    ),
    Action(
        "maturity.target.approve",
        "governance",
        "the governance group and administrators; never the proposal's own author",
    ),
    Action("maturity.assess", "member", "members of the domain and administrators"),
    # Usage of people.
    Action("usage.person.read", "signed_in", "the person themselves, the governance group and administrators"),
    # Incidents.
    Action(
        "incident.see",
        "signed_in",
        "its reporter and assignee, members of the domain it is routed to, anyone who may know the dataset it "
        "was seen in, the governance group and administrators",
    ),
    Action(
        "incident.work", "signed_in", "members of the domain it is routed to (they make the data) and administrators"
    ),
    Action(
        "incident.close",
        "signed_in",
        "its reporter; for an incident a check opened, owners of the dataset's domain; administrators",
    ),
)

ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}
"""Action name -> its declaration."""


def action(name: str) -> Action:
    """The declared action `name` (a typo in a route or a service fails at import, not at a request)."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"no action {name!r} in the vocabulary (threshold/access/actions.py)") from None
