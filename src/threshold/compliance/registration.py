"""Compliance's part in the platform: the register recorded with each share, personal columns kept out of
Iceberg's column statistics, and the retention job."""

from __future__ import annotations

from typing import Any

from threshold import events
from threshold.events import DatasetPublished, Phase, TagAdded
from threshold.platform import Platform


def _record(platform: Platform, e: DatasetPublished) -> None:
    from threshold.compliance.register import record_at_share

    collection: Any = e.source_info.get("collection")
    record_at_share(platform, e.session, e.dataset, e.user, collection)


def _published_statistics(platform: Platform, e: DatasetPublished) -> None:
    """After the share's publication (its writer lock still held): columns the profile found personal that
    the share's first rows did not show get no statistics in later writes."""
    from threshold.sharing.statistics import tagged_personal, withhold_later

    withhold_later(platform, e.dataset.full_name, tagged_personal(platform, e.dataset.id), locked=True)


def _tagged_statistics(platform: Platform, e: TagAdded) -> None:
    from threshold.sharing.statistics import is_personal, withhold_later

    if e.column and is_personal(e.tag):
        withhold_later(platform, e.dataset, [e.column])


def _collected_for(s: Any, ids: list[int]) -> dict[int, str]:
    from sqlalchemy import select

    from threshold.compliance.models import RegisterEntry

    rows = s.execute(select(RegisterEntry.dataset_id, RegisterEntry.purpose).where(RegisterEntry.dataset_id.in_(ids)))
    return {int(i): str(p) for i, p in rows if p}


def _legal_basis(s: Any, dataset_id: int) -> str | None:
    """For erasure's subject access report: the legal basis recorded for a dataset, with its article."""
    from threshold.compliance.register import record_of

    record = record_of(s, dataset_id)
    if record is None or not record.legal_basis_label:
        return None
    return (
        f"{record.legal_basis_label}; {record.special_condition_label}"
        if record.special_condition_label
        else record.legal_basis_label
    )


def _contract_properties(s: Any, dataset_id: int) -> list[dict[str, Any]]:
    from threshold.compliance.register import contract_properties, record_of

    return contract_properties(record_of(s, dataset_id))


def register() -> None:
    from threshold.access.reading import add_collection_purposes
    from threshold.erasure.legal_basis import register_lookup

    register_lookup(_legal_basis)  # the subject access report names each dataset's legal basis
    from threshold.products.collected import add_collection_properties

    add_collection_properties(_contract_properties)  # the ODCS contract carries the register

    add_collection_purposes(_collected_for)  # the compatible_purposes guardrail asks why data was collected
    from threshold.compliance import retention
    from threshold.jobs.kinds import JobKind, declare

    declare(JobKind(retention.KIND, retention.LABEL, run=retention.retention_jobs, retries=1, lease_seconds=6 * 3600.0))
    events.subscribe(DatasetPublished, _record)
    events.subscribe(DatasetPublished, _published_statistics, phase=Phase.AFTER_COMMIT)
    events.subscribe(TagAdded, _tagged_statistics, phase=Phase.AFTER_COMMIT)
