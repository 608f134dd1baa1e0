"""The rules: `may(actor, action, resource)` answers every question of the vocabulary (`actions.py`) with the
rule that decided it, and `require` turns a refusal into the error an interface shows.

One function per action, in one table. An actor of None is the platform itself (a scheduled job), which
may do anything. A refusal about something the actor may not know exists (another domain's restricted
dataset) is `hidden`: `require` then raises exactly the error of a dataset that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from threshold.access.actions import action as declared
from threshold.access.resources import (
    BoardRef,
    DatasetRef,
    DerivationRef,
    DomainRef,
    IncidentRef,
    InsightRef,
    OwnershipRef,
    PersonRef,
    PolicyScope,
    ProductRef,
    SourceRef,
    TargetProposalRef,
    TermLinkRef,
    TermRef,
)
from threshold.access.visibility import knows, no_dataset
from threshold.errors import Denied, NotFound
from threshold.identity.service import Person

if TYPE_CHECKING:
    from threshold.platform import Platform


@dataclass(frozen=True)
class Answer:
    allowed: bool
    rule: str
    """The rule id that decided (shown in refusals, explanations and the audit log)."""
    reason: str
    hidden: bool = False
    """Refused because the actor may not know the resource exists: answer as if it did not."""

    def __bool__(self) -> bool:
        return self.allowed


def _yes(rule: str, reason: str) -> Answer:
    return Answer(True, rule, reason)


def _no(rule: str, reason: str) -> Answer:
    return Answer(False, rule, reason)


def _hidden(ref: DatasetRef) -> Answer:
    return Answer(False, "visibility.restricted", f"no dataset {ref.name!r}", hidden=True)


PLATFORM = _yes("platform", "the platform itself")


def _domain_of(ref: Any) -> str:
    """The domain a resource belongs to: a `DomainRef`'s name, else its `domain` (datasets of any shape)."""
    return ref.name if isinstance(ref, DomainRef) else str(ref.domain)


def _privileged(actor: Person) -> Answer | None:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    return None


# --- datasets -------------------------------------------------------------------------------------


def _know(actor: Person, ref: DatasetRef) -> Answer:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if actor.is_governance:
        return _yes("governance", "member of the governance group")
    if ref.domain in actor.domains:
        return _yes("visibility.member", f"member of {ref.domain}")
    if not knows(actor, ref):
        return _hidden(ref)
    return _yes(f"visibility.{ref.visibility}", f"{ref.name} is {ref.visibility}")


def _read(actor: Person, ref: DatasetRef) -> Answer:
    if ref.domain in actor.domains:
        return _yes("visibility.member", f"member of {ref.domain}")
    if actor.is_admin:
        return _yes("visibility.admin", "platform administrator")
    if ref.visibility == "restricted":
        known = _know(actor, ref)
        if not known:
            return known
        return _no("visibility.restricted", f"{ref.name} is read only by members of {ref.domain}")
    if ref.visibility == "on-request":
        if ref.granted:
            return _yes("grant", f"a live grant on {ref.name}")
        return _no("visibility.on-request", f"{ref.name} is shared on request: ask for access with a purpose")
    return _yes("visibility.open", f"{ref.name} is open to the organisation")


def _read_data(actor: Person, resource: Any) -> Answer:
    """`resource`: a read `Decision` (reading.py), or (Decision, column)."""
    decision, column = resource if isinstance(resource, tuple) else (resource, None)
    if not decision.allowed:
        return _no(decision.rule, decision.reason)
    if decision.row_filters:
        return _no(decision.row_filters[0][0], f"you read {decision.dataset} with rows filtered")
    masked = {c.name: c for c in decision.columns if c.mask}
    if column is not None and column in masked:
        return _no(masked[column].rules[0] if masked[column].rules else "mask", masked[column].why)
    if column is None and masked:
        first = next(iter(masked.values()))
        return _no(first.rules[0] if first.rules else "mask", f"some columns of {decision.dataset} are masked")
    return _yes(decision.rule, "read with no mask and no row filter")


def _usage_names(actor: Person, ref: DatasetRef | DomainRef, platform: Platform | None) -> Answer:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if actor.is_governance:
        return _yes("governance", "member of the governance group")
    domain = _domain_of(ref)
    if domain in actor.domains:
        if platform is not None and not platform.settings.privacy.producers_see_names:
            return _no("privacy.producers-aggregates", "this organisation shows producers domains and purposes only")
        return _yes("privacy.producer", f"producer: member of {domain}")
    return _no("privacy.aggregates", "people who use it are named only to its producers and the governance group")


def _write(actor: Person, ref: DatasetRef | DomainRef) -> Answer:
    domain = _domain_of(ref)
    if domain in actor.domains:
        return _yes("domain.member", f"member of {domain}")
    return _privileged(actor) or _no("domain.member", f"{actor.name} is not a member of domain {domain!r}")


def _own(actor: Person, ref: DatasetRef | DomainRef) -> Answer:
    domain = _domain_of(ref)
    if domain in actor.owner_of:
        return _yes("domain.owner", f"owner of {domain}")
    return _privileged(actor) or _no("domain.owner", f"{actor.name} does not own domain {domain!r}")


def _own_or_governance(actor: Person, ref: DatasetRef) -> Answer:
    if actor.is_governance and not actor.is_admin and _domain_of(ref) not in actor.owner_of:
        return _yes("governance", "member of the governance group")
    return _own(actor, ref)


def _request(actor: Person, ref: DatasetRef) -> Answer:
    known = _know(actor, ref)
    if not known:
        return known
    if ref.visibility == "restricted" and ref.domain not in actor.domains:
        return _no("visibility.restricted", f"{ref.name} is read only by members of {ref.domain}")
    return _yes("request", "anyone who may know the dataset may ask for it with a purpose")


def _derive_from(actor: Person, resource: tuple[DatasetRef, DomainRef]) -> Answer:
    """Derived data keeps the scope it was read under: a restricted dataset is derived only into its own
    domain (anywhere else its values would reach people who may not know it exists)."""
    source, target = resource
    known = _know(actor, source)
    if not known:
        return known
    if source.visibility == "restricted" and source.domain != target.name:
        return _no(
            "derive.scope",
            f"a restricted dataset of {source.domain} is derived only into {source.domain}, so that its data "
            "keeps the scope it was read under",
        )
    return _yes("derive.scope", f"{target.name} may hold data read from {source.name}")


def _derivation_run(actor: Person, ref: DerivationRef) -> Answer:
    if ref.owner_id == actor.id:
        return _yes("derivation.owner", "the person it runs as")
    answer = _write(actor, ref.dataset)
    if answer:
        return answer
    return _no(
        "derive.refresh",
        f"{actor.name} may not refresh {ref.dataset.name}: only its owner, members of {ref.dataset.domain} and admins",
    )


def _lineage_write(actor: Person, ref: DomainRef) -> Answer:
    """Recording lineage into a lake name (a dataset, or a name in a domain): its domain's members."""
    answer = _write(actor, ref)
    if answer:
        return answer
    return _no("lineage.write", f"only members of {ref.name} write lineage into its datasets")


def _source_register(actor: Person, owner: PersonRef) -> Answer:
    if actor.is_admin or actor.owner_of:
        return _yes("source.add", "domain owners register source systems")
    if actor.name == owner.name:
        return _yes("source.add", "the person who will own it")
    return _no("source.add", f"{actor.name} may not register source systems: it needs a domain owner")


def _source_manage(actor: Person, ref: SourceRef) -> Answer:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if actor.id == ref.owner_id:
        return _yes("source.owner", f"owner of source system {ref.name}")
    return _no("source.owner", f"only the owner of source system {ref.name} and administrators manage its connection")


# --- products -------------------------------------------------------------------------------------


def _product_manage(actor: Person, ref: ProductRef) -> Answer:
    if ref.owner_id == actor.id:
        return _yes("product.owner", "the product's owner")
    answer = _own(actor, ref.dataset)
    if answer:
        return answer
    return _no("products.manage", f"only {ref.dataset.name}'s owner or owners of {ref.dataset.domain} manage it")


def _product_know(actor: Person, ref: ProductRef) -> Answer:
    if ref.owner_id == actor.id:
        return _yes("product.owner", "the product's owner")  # a retired (restricted) product stays its owner's
    return _know(actor, ref.dataset)


def _propose_owner(actor: Person, ref: DatasetRef) -> Answer:
    if actor.is_governance and _domain_of(ref) not in actor.owner_of and not actor.is_admin:
        return _yes("governance", "member of the governance group")
    return _own(actor, ref)


def _decide_owner(actor: Person, ref: OwnershipRef) -> Answer:
    if ref.proposed_to == actor.name:
        return _yes("product.owner-decision", "ownership was proposed to them")
    if actor.name in ref.suggested:
        return _yes("product.owner-decision", "a suggested owner")
    if ref.dataset.domain in actor.domains:
        return _yes("product.owner-decision", f"member of {ref.dataset.domain}")
    return _no(
        "products.owner-decision",
        f"ownership of {ref.dataset.name} was not proposed to {actor.name}, who is neither a suggested owner "
        "nor a member of its domain",
    )


# --- policies, people, incidents --------------------------------------------------------------------


def _policy_edit(actor: Person, scope: PolicyScope) -> Answer:
    if scope.domain is None:
        if actor.is_admin or actor.is_governance:
            return _yes("policy.global-author", "the governance group writes the global guardrails")
        return _no("policy.global-author", f"{actor.name} is not in the governance group")
    if scope.domain in actor.owner_of or actor.is_admin:
        return _yes("policy.domain-author", f"owner of {scope.domain}")
    return _no("policy.domain-author", f"{actor.name} does not own domain {scope.domain!r}")


def _person_usage(actor: Person, target: PersonRef) -> Answer:
    if target.id == actor.id:
        return _yes("usage.self", "one's own usage")
    if actor.is_admin or actor.is_governance:
        return _yes("usage.oversight", "the governance group sees anyone's usage")
    return _no("usage.self", f"{actor.name} may see only their own usage")


def _oversee(actor: Person, _: Any = None) -> Answer:
    if actor.is_admin or actor.is_governance:
        return _yes("governance", "the governance group and administrators")
    return _no("governance", f"{actor.name} is not in the governance group")


def _admin(actor: Person, _: Any = None) -> Answer:
    return _privileged(actor) or _no("admin", f"{actor.name} is not a platform administrator")


def _jobs(actor: Person, _: Any = None) -> Answer:
    if actor.is_admin:
        return _yes("jobs.admin", "platform administrator")
    return _no("jobs.admin", f"{actor.name} may not see or run the platform's jobs: only an admin can")


def _explain_others(actor: Person, ref: DatasetRef) -> Answer:
    if actor.is_governance:
        return _yes("governance", "member of the governance group")
    answer = _own(actor, ref)
    return answer if answer else _no("explain.self", f"{actor.name} may explain only their own access to {ref.name}")


def _incident_see(actor: Person, inc: IncidentRef) -> Answer:
    if actor.is_admin or actor.is_governance:
        return _yes("governance", "the governance group and administrators see every incident")
    if actor.id in (inc.reporter_id, inc.assignee_id):
        return _yes("incident.reporter", "its reporter or assignee")
    if inc.routed_domain is not None and inc.routed_domain in actor.domains:
        return _yes("incident.routed-domain", f"member of {inc.routed_domain}, where it is routed")
    if inc.seen_in is not None and _know(actor, inc.seen_in):
        return _yes("incident.dataset", f"may know {inc.seen_in.name}")
    return Answer(False, "incident.hidden", f"no incident #{inc.id}", hidden=True)


def _incident_work(actor: Person, inc: IncidentRef) -> Answer:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if inc.routed_domain is not None and inc.routed_domain in actor.domains:
        return _yes("incident.routed-domain", f"member of {inc.routed_domain}, where it is routed")
    return _no(
        "incident.routed-domain",
        f"only members of {inc.routed_domain or 'its domain'}, where it is routed, or an admin",
    )


def _incident_close(actor: Person, inc: IncidentRef) -> Answer:
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if inc.reporter_id is not None:
        if actor.id == inc.reporter_id:
            return _yes("incident.reporter", "the person who reported it")
        return _no("incident.reporter", "only the person who reported it or an admin")
    if inc.seen_in is not None and inc.seen_in.domain in actor.owner_of:
        return _yes("incident.dataset-owner", f"owner of {inc.seen_in.domain}")
    return _no("incident.dataset-owner", "only the owners of the dataset's domain or an admin")


# --- insights and boards --------------------------------------------------------------------------------


def _insight_view(actor: Person, ref: InsightRef) -> Answer:
    """An insight on data the actor may not know exists does not exist for them (as the dataset does not)."""
    if actor.is_admin or actor.is_governance:
        return _yes("insight.view.oversight", "the governance group and administrators see every insight")
    if not all(knows(actor, d) for d in ref.datasets):
        return Answer(False, "insight.view.datasets", f"no insight {ref.id}", hidden=True)
    if actor.id == ref.owner_id or ref.audience == "everyone":
        return _yes("insight.view", "shared with everyone who may know its data")
    if ref.audience == "domain" and ref.domain in actor.domains:
        return _yes("insight.view.domain", f"member of {ref.domain}, its home")
    return Answer(False, f"insight.view.{ref.audience}", f"no insight {ref.id}", hidden=True)


def _insight_edit(actor: Person, ref: InsightRef | BoardRef) -> Answer:
    if actor.id == ref.owner_id:
        return _yes("insight.edit.owner", "its owner")
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if ref.domain is not None and ref.domain in actor.owner_of:
        return _yes("insight.edit.domain-owner", f"owner of {ref.domain}, its home")
    return _no("insight.edit", "only its owner, its domain's owners and administrators change it")


def _insight_schedule(actor: Person, ref: InsightRef) -> Answer:
    if actor.id == ref.owner_id or actor.is_admin:
        return _yes("insight.schedule", "its owner")
    return _no("insight.schedule", "scheduled runs use the owner's rights: only the owner schedules it")


# --- the glossary ----------------------------------------------------------------------------------------


def _term_review(actor: Person, ref: TermRef) -> Answer:
    if ref.author_id is not None and ref.author_id == actor.id:
        return _no("glossary.four-eyes", f"{actor.name} wrote this revision: someone else reviews it")
    if actor.is_admin:
        return _yes("admin", "platform administrator")
    if actor.is_governance:
        return _yes("governance", "member of the governance group")
    if ref.domain in actor.owner_of:
        return _yes("glossary.domain-owner", f"owner of {ref.domain}, the term's domain")
    return _no("glossary.review", f"only owners of {ref.domain} and the governance group review its terms")


def _term_link(actor: Person, ref: TermLinkRef) -> Answer:
    if ref.dataset is not None and not knows(actor, ref.dataset):
        return _hidden(ref.dataset)
    if actor.is_admin or actor.is_governance:
        return _yes("governance", "the governance group and administrators")
    if ref.term.domain in actor.domains:
        return _yes("glossary.link.term-domain", f"member of {ref.term.domain}, the term's domain")
    if ref.dataset is not None and ref.dataset.domain in actor.domains:
        return _yes("glossary.link.dataset-domain", f"member of {ref.dataset.domain}, the dataset's domain")
    return _no("glossary.link", f"only members of {ref.term.domain} or of the linked data's domain link the term")


# --- learning and the personal report ----------------------------------------------------------------


def _own_report(actor: Person, target: PersonRef) -> Answer:
    if target.id == actor.id:
        return _yes("report.self", "one's own report")
    # Hidden: whether someone has a report is itself not for anyone else to learn.
    return Answer(False, "report.self", f"no report of {target.name!r}", hidden=True)


def _team_report(actor: Person, ref: DomainRef, platform: Platform | None) -> Answer:
    if platform is None or not platform.settings.literacy.team_view:
        return Answer(False, "privacy.team-view-off", f"no team report of {ref.name!r}", hidden=True)
    if ref.name in actor.owner_of:
        return _yes("report.team.owner", f"owner of {ref.name}")
    return Answer(False, "report.team", f"no team report of {ref.name!r}", hidden=True)


# --- the maturity model -----------------------------------------------------------------------------------


def _target_propose(actor: Person, ref: DomainRef) -> Answer:
    if actor.is_governance and not actor.is_admin and ref.name not in actor.owner_of:
        return _yes("governance", "member of the governance group")
    if ref.name in actor.owner_of:
        return _yes("maturity.domain-owner", f"owner of {ref.name}")
    return _privileged(actor) or _no(
        "maturity.target.propose", f"only owners of {ref.name} and the governance group propose its target"
    )


def _target_approve(actor: Person, ref: TargetProposalRef) -> Answer:
    if ref.proposed_by_id is not None and ref.proposed_by_id == actor.id:
        return _no("maturity.four-eyes", f"{actor.name} proposed this target: someone else in governance decides")
    return _oversee(actor)


Rule = Callable[..., Answer]

RULES: dict[str, Rule] = {
    "platform.public": lambda actor, _=None: _yes("public", "anyone"),
    "platform.use": lambda actor, _=None: _yes("signed-in", "signed in"),
    "platform.admin": _admin,
    "governance.oversee": _oversee,
    "subject.erase": _oversee,
    "subject.access": _oversee,
    "jobs.operate": _jobs,
    "dataset.know": _know,
    "dataset.read": _read,
    "dataset.read_data": _read_data,
    "dataset.usage.counts": _know,
    "dataset.usage.names": _usage_names,
    "dataset.write": _write,
    "dataset.manage": _own_or_governance,
    "dataset.grant": _own,
    "dataset.operate": _own,
    "dataset.request": _request,
    "dataset.explain.others": _explain_others,
    "dataset.audit": _explain_others,
    "dataset.derive_from": _derive_from,
    "derivation.run": _derivation_run,
    "lineage.write": _lineage_write,
    "source.register": _source_register,
    "source.manage": _source_manage,
    "domain.member": _write,
    "domain.own": _own,
    "domain.usage.names": _usage_names,
    "product.promote": _own,
    "product.manage": _product_manage,
    "product.know": _product_know,
    "product.propose_owner": _propose_owner,
    "product.decide_owner": _decide_owner,
    "policy.edit": _policy_edit,
    "usage.person.read": _person_usage,
    "incident.see": _incident_see,
    "incident.work": _incident_work,
    "incident.close": _incident_close,
    "insight.view": _insight_view,
    "insight.comment": _insight_view,
    "insight.fork": _insight_view,
    "insight.edit": _insight_edit,
    "insight.schedule": _insight_schedule,
    "board.edit": _insight_edit,
    "compliance.register.edit": _own_or_governance,
    "compliance.retention.run": _oversee,
    "glossary.propose": lambda actor, _=None: _yes("signed-in", "signed in"),
    "glossary.review": _term_review,
    "glossary.link": _term_link,
    "cohort.organise": _oversee,
    "report.person.read": _own_report,
    "report.team.read": _team_report,
    "maturity.view": lambda actor, _=None: _yes("signed-in", "signed in"),
    "maturity.snapshot": _oversee,
    "maturity.target.set": _oversee,
    "maturity.target.propose": _target_propose,
    "maturity.target.approve": _target_approve,
    "maturity.assess": _write,
}
"""Action -> its rule: f(actor, resource) (and the platform's settings for the privacy rules)."""

_NEEDS_PLATFORM = {"dataset.usage.names", "domain.usage.names", "report.team.read"}


def may(actor: Person | None, action: str, resource: Any = None, *, platform: Platform | None = None) -> Answer:
    """May `actor` take `action` on `resource`? The answer names the rule that decided."""
    declared(action)  # an action outside the vocabulary is a programming error
    if actor is None:
        return PLATFORM
    rule = RULES[action]
    if action in _NEEDS_PLATFORM:
        return rule(actor, resource, platform)
    return rule(actor, resource)


def require(actor: Person | None, action: str, resource: Any = None, *, platform: Platform | None = None) -> Answer:
    """`may`, or the error to show: `NotFound` (as for something that does not exist) when the resource is
    hidden from the actor, `Denied` naming the rule otherwise."""
    answer = may(actor, action, resource, platform=platform)
    if answer:
        return answer
    if answer.hidden:
        if isinstance(resource, DatasetRef):
            raise no_dataset(resource.name)
        raise NotFound(answer.reason)
    assert actor is not None
    reason = answer.reason if answer.reason.startswith(actor.name) else f"{actor.name}: {answer.reason}"
    raise Denied(f"{reason} (rule: {answer.rule})")
