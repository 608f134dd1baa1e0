"""The right to erasure, proven: a subject's rows are removed from every tagged and derived dataset, every
snapshot that held them expired and its files removed; what remains is decoded and holds no value; other
subjects' rows are intact; a dry run changes nothing; a failure between tables leaves a clear state.
On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from prepared import on_org
from threshold.erasure import service as erasure
from threshold.erasure import values
from threshold.erasure.subjects import parse
from threshold.errors import Denied, InvalidInput, NotFound, ThresholdError
from threshold.gateway.service import query
from threshold.identity.service import add_user, get_person
from threshold.lakefiles import held_files
from threshold.lineage.derive import derive
from threshold.operations import record
from threshold.sharing.service import share

ADA = "ada.lovelace@example.org"
CUSTOMERS = "email,name,amount\n" + "\n".join(
    [f"{ADA},Ada,{i * 10 + 5}" for i in range(3)] + [f"person{i}@example.org,Person {i},{i}" for i in range(40)]
)
ORDERS = "order_id,customer_email,total\n" + "\n".join(
    [f"{i},{ADA if i % 7 == 0 else f'person{i % 40}@example.org'},{i}.5" for i in range(60)]
)


def _write_sources(tmp_path: Path) -> tuple[Path, Path]:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    return customers, orders


def _build(org: Any, tmp_path: Path) -> Any:
    p = org.platform
    add_user(p, "greta", governance=True, password="greta-pass")
    customers, orders = _write_sources(tmp_path)
    share(p, customers, domain="sales", user=org.carla, purpose="invoicing")
    share(p, customers, domain="sales", user=org.carla, mode="append")  # a second snapshot holding Ada
    share(p, orders, domain="finance", user=org.ben, purpose="bookkeeping")
    # Carla reads the emails in clear (her domain's data): the derived copy holds them too.
    derive(
        p,
        "big_customers",
        domain="sales",
        user=org.carla,
        sql="SELECT email, amount FROM sales.customers WHERE amount > 2",
    )
    return get_person(p, "greta")


@on_org("greta")
def _prepare_greta(org: Any, tmp: Path) -> Any:
    """The org with greta (governance) and Ada's rows in three datasets: built once per session and backend."""
    _build(org, tmp)
    return org


@pytest.fixture
def greta(request: pytest.FixtureRequest, tmp_path: Path, prepared_homes: Any) -> Any:
    """`_build` on the test's `org` or `any_org` (a copy of `_prepare_greta`'s home when the test uses only
    this one registered fixture); its source files in `tmp_path` either way; greta herself."""
    org = request.getfixturevalue("any_org" if "any_org" in request.fixturenames else "org")
    if prepared_homes.adopt(org, _prepare_greta):
        _write_sources(tmp_path)
        return get_person(org.platform, "greta")
    return _build(org, tmp_path)


READ = (
    ("sales.customers", "email", "carla"),
    ("finance.orders", "customer_email", "ben"),
    ("sales.big_customers", "email", "carla"),
)
"""Each dataset, its email column, and a reader who sees the emails in clear."""


def _checksum(p: Any, person: Any, sql: str) -> tuple[int, str]:
    rows = query(p, sql, user=person, purpose="audit").table.to_pylist()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_an_erasure_removes_the_subject_everywhere_and_proves_it(any_org: Any, tmp_path: Path, greta: Any) -> None:
    p = any_org.platform
    admin = any_org.admin
    others = {
        name: _checksum(p, get_person(p, who), f"SELECT * FROM {name} WHERE {col} <> '{ADA}' ORDER BY ALL")
        for name, col, who in READ
    }
    assert all(n > 0 for n, _ in others.values())
    before_snapshots = {s.snapshot_id for s in p.lake.snapshots("sales.customers")}
    subject = [f"personal.email={ADA}"]

    shown = erasure.plan(p, greta, subject)
    found = {i.dataset: (i.rows, i.via, i.columns) for i in shown.to_erase}
    assert found == {
        "sales.customers": (6, "tag", ["email"]),
        "finance.orders": (9, "tag", ["customer_email"]),
        "sales.big_customers": (6, "tag", ["email"]),
    }
    assert shown.subjects == ["personal.email"] and ADA not in repr(shown)
    # The plan is a dry run: nothing changed.
    assert {s.snapshot_id for s in p.lake.snapshots("sales.customers")} == before_snapshots

    cert = erasure.erase(p, greta, subject, reason="request 2026-117", confirm=shown.token)
    assert cert.status == "completed" and cert.remaining == [] and cert.error is None
    assert {t["dataset"]: t["rows_removed"] for t in cert.tables} == {k: v[0] for k, v in found.items()}
    assert all(t["bytes_rewritten"] > 0 and t["snapshot_after"] != t["snapshot_before"] for t in cert.tables)
    # The subject's identifier only as a keyed hash.
    assert cert.subjects == [{"tag": "personal.email", "hash": parse(subject)[0].keyed(p.settings)}]
    assert ADA not in repr(cert.as_dict())
    assert erasure.matches(p, greta, cert.id, subject[0]) and not erasure.matches(
        p, greta, cert.id, "personal.email=x@y.z"
    )

    for name in found:
        # One snapshot left: time travel to before the erasure is gone, and the history says why.
        snaps = p.lake.snapshots(name)
        assert len(snaps) == 1
        # Every file left is decoded: no data file holds the value in any column.
        for path in held_files(p.lake, name):
            if path.suffix == ".parquet":
                assert values.tables_hold(pq.read_table(path), parse(subject)) == []
        with p.store.session() as s:
            from threshold.store.models import Dataset

            ds_id = s.query(Dataset.id).filter(Dataset.full_name == name).scalar()
        assert any(
            h.kind == "erasure" and h.detail["summary"] == f"erasure {cert.id}" for h in record.history(p, ds_id)
        )
    # The dataset page's history lists the erasure where its snapshots are listed.
    from threshold.catalog.service import describe

    timeline = describe(p, "sales.customers", viewer=admin).history
    assert (timeline[0].mode, timeline[0].notes) == ("erasure", [f"erasure {cert.id}"])
    old = next(iter(before_snapshots))
    with pytest.raises(NotFound, match="has no snapshot"):
        query(p, f"SELECT count(*) FROM sales.customers FOR VERSION AS OF {old}", user=admin)
    # The subject is gone from every read, the others' rows intact (counts and checksums).
    for name, col, who in READ:
        reader = get_person(p, who)
        assert query(p, f"SELECT count(*) AS n FROM {name} WHERE {col} = '{ADA}'", user=reader).table.to_pylist() == [
            {"n": 0}
        ]
        assert _checksum(p, reader, f"SELECT * FROM {name} WHERE {col} <> '{ADA}' ORDER BY ALL") == others[name]
    assert any("manifests" in line for line in cert.verification["checked"])
    assert cert.verification["found"] == []
    # A second look finds nothing to remove.
    assert erasure.plan(p, greta, subject).to_erase == []


def test_only_the_governance_group_erases_and_bad_subjects_are_refused(
    any_org: Any, tmp_path: Path, greta: Any
) -> None:
    p = any_org.platform
    with pytest.raises(Denied):
        erasure.plan(p, any_org.anna, [f"personal.email={ADA}"])
    for bad, message in (
        ([], "name the subject"),
        (["email"], "a subject is TAG=VALUE"),
        (["Personal Email=x"], "a subject is TAG=VALUE"),
        (["personal.email= "], "must be 1 to 500"),
    ):
        with pytest.raises(InvalidInput, match=message):
            erasure.plan(p, greta, bad)
    with pytest.raises(InvalidInput, match="needs a reason"):
        erasure.erase(p, greta, [f"personal.email={ADA}"], reason=" ")
    shown = erasure.plan(p, greta, [f"personal.email={ADA}"])
    share(p, tmp_path / "customers.csv", domain="sales", user=any_org.admin, mode="append")
    from threshold.errors import Conflict

    with pytest.raises(Conflict, match="changed since the plan"):
        erasure.erase(p, greta, [f"personal.email={ADA}"], reason="r", confirm=shown.token)
    with pytest.raises(NotFound, match="no erasure certificate 999"):
        erasure.certificate(p, greta, 999)


def test_a_failure_between_tables_keeps_what_was_erased_and_says_what_remains(
    any_org: Any, tmp_path: Path, greta: Any
) -> None:
    p = any_org.platform
    subject = [f"personal.email={ADA}"]
    order = [i.dataset for i in erasure.plan(p, greta, subject).to_erase]

    def fault(dataset: str) -> None:
        if dataset == order[1]:
            raise ThresholdError("the disk went away")

    with pytest.raises(ThresholdError, match=f"stopped at {order[1]}.*still to erase: {order[1]}, {order[2]}"):
        erasure.erase(p, greta, subject, reason="request 7", before_table=fault)
    cert = erasure.certificates(p, greta)[0]
    assert cert.status == "incomplete" and cert.remaining == order[1:]
    assert [t["done"] for t in cert.tables] == [True, False, False]
    left = {i.dataset: i.rows for i in erasure.plan(p, greta, subject).to_erase}
    assert order[0] not in left and set(left) == set(order[1:])
    # Running it again finishes the rest.
    again = erasure.erase(p, greta, subject, reason="request 7, resumed")
    assert again.status == "completed" and {t["dataset"] for t in again.tables} == set(order[1:])


def test_a_subject_access_report_lists_every_holding_with_purpose_and_legal_basis(
    any_org: Any, tmp_path: Path, greta: Any
) -> None:
    from threshold.erasure import legal_basis, subject_access

    p = any_org.platform
    subject = [f"personal.email={ADA}"]
    with pytest.raises(Denied):
        subject_access.report(p, any_org.carla, subject)
    got = subject_access.report(p, greta, subject)
    by = {h.dataset: h for h in got.holdings}
    assert {d: (h.rows, h.legal_basis) for d, h in by.items()} == {
        "sales.customers": (6, "not recorded"),
        "finance.orders": (9, "not recorded"),
        "sales.big_customers": (6, "not recorded"),
    }
    assert by["sales.customers"].purpose == "invoicing" and by["finance.orders"].purpose == "bookkeeping"
    assert {r["email"] for r in by["sales.customers"].values} == {ADA}
    assert sorted(r["amount"] for r in by["sales.customers"].values) == [5, 5, 15, 15, 25, 25]

    def basis(session: Any, dataset_id: int) -> str | None:
        return "contract (Art. 6(1)(b))" if dataset_id == by_id["finance.orders"] else None

    from threshold.store.models import Dataset

    with p.store.session() as s:
        by_id = {d.full_name: d.id for d in s.query(Dataset)}
    legal_basis.register_lookup(basis)
    try:
        again = subject_access.report(p, greta, subject)
    finally:
        legal_basis.unregister_lookup(basis)
    assert {h.dataset: h.legal_basis for h in again.holdings}["finance.orders"] == "contract (Art. 6(1)(b))"
    lines = again.as_csv().splitlines()
    assert lines[0] == "dataset,purpose,legal_basis,row,column,value"
    assert f"finance.orders,bookkeeping,contract (Art. 6(1)(b)),1,customer_email,{ADA}" in lines
    assert '"rows": 9' in again.as_json()


def test_samples_and_kept_results_lose_the_subject_and_an_untagged_copy_fails_loudly(
    any_org: Any, tmp_path: Path, greta: Any
) -> None:
    from sqlalchemy import select

    from threshold.governance.controls import untag
    from threshold.insights import service as insights
    from threshold.insights.models import InsightResult
    from threshold.insights.results import _table
    from threshold.quality import dataset_checks
    from threshold.quality.kinds.base import CheckSpec
    from threshold.quality.models import CheckRun

    p = any_org.platform
    carla = any_org.carla
    subject = [f"personal.email={ADA}"]
    # A failing-row sample holding Ada's rows (amounts 5, 15, 25 are over 4), and a kept insight result.
    dataset_checks.add(p, carla, "sales.customers", CheckSpec("range", {"column": "amount", "max": 4}))
    dataset_checks.run(p, carla, "sales.customers")
    with p.store.session() as s:
        (sample,) = [r.sample for r in s.scalars(select(CheckRun))]
    assert any(ADA in row for row in sample["rows"])
    saved = insights.save(
        p, carla, title="Big spenders", sql="SELECT email, amount FROM sales.customers WHERE amount > 4"
    )
    insights.page(p, carla, saved.id)
    with p.store.session() as s:
        assert any(values.tables_hold(_table(r.arrow), parse(subject)) for r in s.scalars(select(InsightResult)))

    cert = erasure.erase(p, greta, subject, reason="request 8")
    assert cert.status == "completed"
    cleared = " | ".join(cert.verification["cleared"])
    assert "failing-row sample rows" in cleared and "kept result of insight" in cleared
    with p.store.session() as s:
        assert not any(ADA in row for r in s.scalars(select(CheckRun)) for row in r.sample.get("rows", []))
        assert not any(values.tables_hold(_table(r.arrow), parse(subject)) for r in s.scalars(select(InsightResult)))

    # A copy nothing leads to (its tag removed, no lineage): the erasure says where the value still is.
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "mail,city\n" + "\n".join([f"{ADA},London"] * 5 + [f"p{i}@example.org,Paris" for i in range(9)])
    )
    share(p, contacts, domain="sales", user=carla)
    untag(p, any_org.admin, "sales.contacts.mail", "personal.email")
    share(p, tmp_path / "customers.csv", domain="sales", user=carla, mode="append")  # Ada is back in customers
    with pytest.raises(ThresholdError, match=r"could not be verified: .*sales\.contacts\.mail.*no tag or lineage"):
        erasure.erase(p, greta, subject, reason="request 8, again")
    failed = erasure.certificates(p, greta)[0]
    assert failed.status == "failed" and any("sales.contacts.mail" in f for f in failed.verification["found"])
    assert [t["done"] for t in failed.tables] == [True] * len(failed.tables)  # what it could erase, it erased


def test_a_derived_dataset_without_column_lineage_is_searched_in_every_column_of_the_type(
    org: Any, tmp_path: Path, greta: Any
) -> None:
    from threshold.governance.controls import untag
    from threshold.lineage.openlineage_in import ingest

    p = org.platform
    # An external job (no column lineage) wrote sales.mailing from sales.customers; its column is untagged.
    mailing = tmp_path / "mailing.csv"
    mailing.write_text("recipient,note\n" + "\n".join([f"{ADA},vip"] + [f"p{i}@example.org,x" for i in range(9)]))
    share(p, mailing, domain="sales", user=org.carla)
    untag(p, org.admin, "sales.mailing.recipient", "personal.email")
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-10T10:00:00Z",
        "producer": "https://example.com/crm-export",
        "run": {"runId": "3f5e2b1e-6f1b-4c39-9a43-6b4b8c1d2e07"},
        "job": {"namespace": "crm", "name": "mailing_export"},
        "inputs": [{"namespace": "threshold://local", "name": "sales.customers"}],
        "outputs": [{"namespace": "threshold://local", "name": "sales.mailing"}],
    }
    ingest(p, [event], user=org.admin)
    found = {i.dataset: (i.via, i.columns, i.rows) for i in erasure.plan(p, greta, [f"personal.email={ADA}"]).items}
    assert found["sales.mailing"] == ("same type", ["note", "recipient"], 1)
    cert = erasure.erase(p, greta, [f"personal.email={ADA}"], reason="request 9")
    assert cert.status == "completed" and "sales.mailing" in {t["dataset"] for t in cert.tables}


def test_rows_replaced_since_are_still_erased_from_the_snapshots_that_hold_them(
    org: Any, tmp_path: Path, greta: Any
) -> None:
    p = org.platform
    # Finance replaced its orders without Ada: time travel still reads her rows in the earlier snapshot.
    without = tmp_path / "orders.csv"
    without.write_text("\n".join(line for line in ORDERS.splitlines() if ADA not in line))
    share(p, without, domain="finance", name="orders", user=org.ben, mode="replace")
    assert len(p.lake.snapshots("finance.orders")) == 2
    shown = {i.dataset: i for i in erasure.plan(p, greta, [f"personal.email={ADA}"]).items}
    assert (shown["finance.orders"].rows, shown["finance.orders"].in_history) == (0, True)
    cert = erasure.erase(p, greta, [f"personal.email={ADA}"], reason="request 10")
    orders = {t["dataset"]: t for t in cert.tables}["finance.orders"]
    assert orders["rows_removed"] == 0 and len(orders["expired"]) == 1 and orders["done"]
    assert len(p.lake.snapshots("finance.orders")) == 1 and cert.verification["found"] == []
