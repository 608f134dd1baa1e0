"""An ODCS v3 contract as a document: parse and validate it, dump it, read the datasets it describes and
its freshness SLO, and compare two versions. Pure functions on the document, no store: the contract
service (`contracts.py`) and the contract checks (`checks.py`) both read contracts through them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import ValidationError

from threshold.errors import InvalidInput

API_VERSION = "v3.1.0"
"""The ODCS version written (v3.1 has the `timestamp` logical type); v3.x documents are read."""
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
_HOURS = {
    "h": 1,
    "hr": 1,
    "hour": 1,
    "hours": 1,
    "d": 24,
    "day": 24,
    "days": 24,
    "w": 168,
    "week": 168,
    "weeks": 168,
    "m": 1 / 60,
    "min": 1 / 60,
    "minutes": 1 / 60,
}


def logical_type(lake_type: str) -> str:
    """The ODCS logical type of a lake (DuckDB) column type."""
    t = lake_type.upper()
    if t.endswith("[]") or t.startswith("LIST"):
        return "array"
    if t.startswith(("STRUCT", "MAP")):
        return "object"
    if t.startswith(("DECIMAL", "NUMERIC")) or t in ("DOUBLE", "FLOAT", "REAL"):
        return "number"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "integer"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t.startswith("TIME"):
        return "time"
    return "string"


def semver(version: str | None) -> tuple[int, int, int]:
    m = SEMVER.match(str(version or "").strip())
    if m is None:
        raise InvalidInput(f"contract version {version!r} is not a semantic version such as 1.0.0")
    return int(m[1]), int(m[2]), int(m[3])


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def parse(text: str) -> OpenDataContractStandard:
    """An ODCS v3 document, validated; the first problem otherwise (InvalidInput)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"the contract is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise InvalidInput("the contract must be a YAML mapping (apiVersion, kind, id, version, schema...)")
    if not str(data.get("apiVersion", "")).startswith("v3"):
        raise InvalidInput(f"only ODCS v3 contracts are read (apiVersion v3.x), not {data.get('apiVersion')!r}")
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(document)"
        raise InvalidInput(f"the contract does not follow ODCS v3 at {where}: {first.message[:200]}")
    try:
        return OpenDataContractStandard(**data)
    except ValidationError as e:
        first = e.errors()[0]
        raise InvalidInput(f"the contract is not valid at {'.'.join(map(str, first['loc']))}: {first['msg']}") from e


def dump(contract: OpenDataContractStandard) -> str:
    return contract.to_yaml()


def datasets_of(contract: OpenDataContractStandard) -> list[str]:
    """The lake datasets a contract describes, in its order (`physicalName`, or `domain` + object name)."""
    out = []
    for obj in contract.schema_ or []:
        name = (obj.physicalName or "").strip().lower()
        if not name and obj.name and contract.domain:
            name = f"{contract.domain}.{obj.name}".lower()
        if not name:
            raise InvalidInput("every schema object needs physicalName: domain.dataset (the dataset it describes)")
        out.append(name)
    if not out:
        raise InvalidInput("the contract has no schema: list the dataset(s) it describes under `schema`")
    return list(dict.fromkeys(out))


def freshness_hours(contract: OpenDataContractStandard) -> int | None:
    """The freshness SLO in hours: the `latency` (or `freshness`) SLA property."""
    for p in contract.slaProperties or []:
        if (p.property or "").lower() in ("latency", "freshness") and isinstance(p.value, (int, float)):
            factor = _HOURS.get((p.unit or "h").strip().lower())
            if factor is None:
                raise InvalidInput(f"unknown unit {p.unit!r} of the {p.property} SLA (use h or d)")
            return max(1, round(float(p.value) * factor))
    return None


@dataclass(frozen=True)
class Change:
    breaking: bool
    text: str


def compare(old: OpenDataContractStandard, new: OpenDataContractStandard) -> list[Change]:
    """What changes between two contracts for their consumers, breaking changes first."""
    changes: list[Change] = []
    before = dict(zip(datasets_of(old), old.schema_ or [], strict=False))
    after = dict(zip(datasets_of(new), new.schema_ or [], strict=False))
    for name in before.keys() - after.keys():
        changes.append(Change(True, f"dataset {name} removed"))
    for name in after.keys() - before.keys():
        changes.append(Change(False, f"dataset {name} added"))
    for name in before.keys() & after.keys():
        old_props = {p.name: p for p in before[name].properties or []}
        new_props = {p.name: p for p in after[name].properties or []}
        for col in sorted(old_props.keys() - new_props.keys(), key=str):
            changes.append(Change(True, f"{name}.{col} removed"))
        for col in sorted(new_props.keys() - old_props.keys(), key=str):
            changes.append(Change(False, f"{name}.{col} added"))
        for col in sorted(old_props.keys() & new_props.keys(), key=str):
            a, b = old_props[col], new_props[col]
            if (a.logicalType or "") != (b.logicalType or "") or _norm(a.physicalType) != _norm(b.physicalType):
                changes.append(Change(True, f"{name}.{col} changes type {_type(a)} -> {_type(b)}"))
            if a.required and not b.required:
                changes.append(Change(True, f"{name}.{col} may now be empty (required dropped)"))
            if a.unique and not b.unique:
                changes.append(Change(True, f"{name}.{col} may now repeat (unique dropped)"))
            if not a.required and b.required:
                changes.append(Change(False, f"{name}.{col} is now required"))
    return sorted(changes, key=lambda c: (not c.breaking, c.text))


def same_contract(a: OpenDataContractStandard, b: OpenDataContractStandard) -> bool:
    """The same contract, whatever the product's status says (exports carry the status of the day)."""
    skip = {"status", "contractCreatedTs"}
    return a.model_dump(exclude=skip, exclude_none=True) == b.model_dump(exclude=skip, exclude_none=True)


def _norm(t: str | None) -> str:
    return re.sub(r"\s+", "", (t or "").upper())


def _type(p: Any) -> str:
    return p.physicalType or p.logicalType or "?"
