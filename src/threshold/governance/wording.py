"""Policy rules in words: what a rule does and how a changed rule differs, for people who never read YAML."""

from __future__ import annotations

from threshold.access.policy import Rule

_FIELDS = {
    "description": "description",
    "datasets": "datasets",
    "columns": "columns",
    "tags": "tags",
    "mask": "mask",
    "where": "row filter",
    "readers": "readers",
    "purposes": "purposes",
    "personal_columns": "personal columns",
    "domains": "domains",
    "key": "key",
}


def readers_in_words(rule: Rule, domain: str | None) -> str:
    """Who a rule applies to, as `access.reading` decides it: named domains and people, else everyone outside."""
    r = rule.reader_spec()
    if r.everyone:
        return "everyone"
    named = (["members of " + ", ".join(r.domains)] if r.domains else []) + ([", ".join(r.users)] if r.users else [])
    if named:
        return " and ".join(named)
    if r.outside_domain:
        return f"readers outside {domain}" if domain else "readers outside the dataset's domain"
    return "nobody"


def _on(rule: Rule) -> str:
    return f"on {', '.join(rule.datasets)}" if rule.datasets else "on every dataset"


def describe_rule(rule: Rule, domain: str | None) -> str:
    """One sentence fragment: "mask columns energy_kwh with hash for readers outside manufacturing on plant_kpis"."""
    who = readers_in_words(rule, domain)
    if rule.kind == "mask":
        what = " and ".join(
            p
            for p in (
                f"columns {', '.join(rule.columns)}" if rule.columns else "",
                f"columns tagged {', '.join(rule.tags)}" if rule.tags else "",
            )
            if p
        )
        return f"mask {what} with {rule.mask} for {who} {_on(rule)}"
    if rule.kind == "row_filter":
        return f"show {who} only the rows where {rule.where} {_on(rule)}"
    if rule.kind == "auto_approve":
        personal = "including" if rule.personal_columns else "without"
        return f"approve requests for {', '.join(rule.purposes)} at once ({personal} personal columns) {_on(rule)}"
    if rule.kind == "deny_purpose":
        return f"refuse reads for {', '.join(rule.purposes)} {_on(rule)}"
    if rule.kind == "compatible_purposes":
        table = "; ".join(f"{k} → {', '.join(v)}" for k, v in rule.compatible.items())
        return f"{rule.on_incompatible} purposes not compatible with why the data was collected ({table}) {_on(rule)}"
    if rule.kind == "sensitive":
        return f"treat tags {', '.join(rule.tags)} as sensitive"
    return f"agree join key {rule.key} for tags {', '.join(rule.tags)} with {', '.join(rule.domains)}"


def rule_change(old: Rule, new: Rule) -> str:
    """Which fields changed, old value to new: "mask redact → hash; columns energy_kwh → energy_kwh, cost"."""
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    parts = []
    for key, label in _FIELDS.items():
        if a.get(key) != b.get(key):
            parts.append(f"{label} {_value(a.get(key))} → {_value(b.get(key))}")
    return "; ".join(parts) or "no visible change"


def _value(v: object) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "(none)"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_value(x)}" for k, x in v.items() if x not in (None, [], False)) or "(default)"
    return "(none)" if v in (None, "") else str(v)
