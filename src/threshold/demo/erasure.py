"""The demo's erasure: one customer contact of `sales.customers` asked to be forgotten; the governance
group (the administrator in the demo) erased them everywhere, with a certificate.

The subject is read from the data (the first contact of the published snapshot), never typed here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from threshold.erasure import service
from threshold.erasure.models import ErasureCertificate
from threshold.identity.service import ADMIN, get_person
from threshold.platform import Platform
from threshold.store.models import Dataset, Tag

DATASET = "sales.customers"
REASON = "Demo: a customer contact asked to be forgotten (request DSR-0001, GDPR Art. 17)"


def build_erasure(platform: Platform, log: Callable[[str], None] = print) -> int | None:
    """Erase one contact of `sales.customers` (once: a built demo keeps its certificate). Returns its id."""
    with platform.store.session() as s:
        if s.scalar(select(func.count()).select_from(ErasureCertificate)):
            return None
        column = s.scalar(
            select(Tag.column_name)
            .join(Dataset, Dataset.id == Tag.dataset_id)
            .where(Dataset.full_name == DATASET, Tag.tag == "personal.email", Tag.column_name.is_not(None))
        )
    if column is None or not platform.lake.exists(DATASET):
        log(f"no erasure in the demo: {DATASET} has no personal.email column")
        return None
    rows = platform.lake.load(DATASET).scan(selected_fields=(column,), limit=1).to_arrow().column(0).to_pylist()
    if not rows or rows[0] is None:
        return None
    subject = [f"personal.email={rows[0]}"]
    admin = get_person(platform, ADMIN)
    plan = service.plan(platform, admin, subject)
    cert = service.erase(platform, admin, subject, reason=REASON, confirm=plan.token)
    removed = sum(t["rows_removed"] for t in cert.tables)
    log(f"erasure {cert.id}: one customer contact removed from {len(cert.tables)} datasets ({removed} rows), verified")
    return cert.id
