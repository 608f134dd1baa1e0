"""An ODCS v3 contract as a document: parse and validate it, dump it, read the datasets it describes and
its freshness SLO, and compare two versions. Pure functions on the document, no store: the contract
service (`contracts.py`) and the lifecycle read contracts through them. What its rules mean as checks is
quality's (`quality.contract_rules`), and so is the naming of the dataset an object describes."""

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
from threshold.jobs.schedule import parse_duration
from threshold.quality.contract_rules import dataset_of

API_VERSION = "v3.1.0"
"""The ODCS version written (v3.1 has the `timestamp` logical type); v3.x documents are read."""
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")


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
        name = dataset_of({"physicalName": obj.physicalName, "name": obj.name}, contract.domain)
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
            unit = (p.unit or "h").strip().lower()
            try:
                seconds = parse_duration(f"{float(p.value)}{unit}")
            except InvalidInput:
                raise InvalidInput(f"unknown unit {p.unit!r} of the {p.property} SLA (use h or d)") from None
            return max(1, round(seconds / 3600))
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
