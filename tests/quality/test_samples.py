"""Failing-row samples are stored as the owner read them and shown as each viewer may read the data:
a viewer outside the domain never sees a raw personal value, whichever interface shows the sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threshold.governance import controls
from threshold.governance.policies import apply
from threshold.quality import dataset_checks, incidents
from threshold.quality.incident_records import get_incident, list_incidents

from .conftest import BATCHES, RAW_EMAILS, Batches


@pytest.fixture
def failing(batches: Batches) -> Batches:
    """Two failing row checks whose samples hold personal e-mails, and a failing custom SQL check."""
    batches.add("range", column="weight_kg", min=0, max=100)  # rows of ana.silva and max.mueller
    batches.add("unique", column="batch_id")  # rows of jean.dupont and ana.silva
    batches.add("sql", sql=f"SELECT inspector_email AS who FROM {BATCHES} WHERE plant = 'Porto'")
    dataset_checks.run(batches.platform, batches.anna, BATCHES)
    return batches


def _raw_in(data: Any) -> list[str]:
    text = json.dumps(data)
    return [e for e in RAW_EMAILS if e in text]


def test_the_owner_sees_the_failing_rows(failing: Batches) -> None:
    data = dataset_checks.dataset_checks(failing.platform, failing.anna, BATCHES).to_json()
    samples = {c["kind"]: c["last"]["sample"] for c in data["checks"]}
    emails = [row[-1] for row in samples["range"]["rows"]]
    assert emails == ["ana.silva@example.pt", "max.mueller@example.de"] and samples["range"]["masked"] == {}
    assert [r[0] for r in samples["unique"]["rows"]] == ["3", "3"]
    assert samples["sql"]["rows"] == [["ana.silva@example.pt"]]


def test_a_viewer_outside_the_domain_sees_them_masked(failing: Batches) -> None:
    data = dataset_checks.dataset_checks(failing.platform, failing.ben, BATCHES).to_json()

    assert _raw_in(data) == []
    samples = {c["kind"]: c["last"]["sample"] for c in data["checks"]}
    assert [row[-1] for row in samples["range"]["rows"]] == ["***", "***"]
    assert "guardrail.personal-data" in samples["range"]["masked"]["inspector_email"]
    assert [row[1] for row in samples["range"]["rows"]] == ["Porto", None]  # unmasked columns stay readable
    assert samples["sql"]["rows"] == [] and "unmasked" in samples["sql"]["hidden"]


def test_the_viewers_own_masks_and_row_filters_apply(failing: Batches) -> None:
    apply(
        failing.platform,
        failing.anna,
        """\
domain: manufacturing
policies:
  - id: finance-sees-lyon
    kind: row_filter
    datasets: [batches]
    where: "plant = 'Lyon'"
    readers: {domains: [finance]}
  - id: weights-hidden
    kind: mask
    datasets: [batches]
    columns: [weight_kg]
    mask: "null"
    readers: {domains: [finance]}
""",
    )
    data = dataset_checks.dataset_checks(failing.platform, failing.ben, BATCHES).to_json()
    unique = next(c["last"]["sample"] for c in data["checks"] if c["kind"] == "unique")
    assert [(r[1], r[3]) for r in unique["rows"]] == [("Lyon", None)] and unique["filtered"] == 1
    assert _raw_in(data) == []


def test_a_viewer_who_may_not_read_the_dataset_sees_no_rows(failing: Batches) -> None:
    controls.set_visibility(failing.platform, failing.anna, BATCHES, "on-request")
    data = dataset_checks.dataset_checks(failing.platform, failing.ben, BATCHES).to_json()
    for c in data["checks"]:
        assert c["last"]["sample"]["rows"] == [] and "may not read" in c["last"]["sample"]["hidden"]
    assert _raw_in(data) == []


def test_an_incidents_sample_is_masked_for_the_viewer(failing: Batches) -> None:
    incident = next(i for i in list_incidents(failing.platform, failing.ben) if "weight_kg" in i.title)
    seen = get_incident(failing.platform, failing.ben, incident.id)
    assert seen.run is not None and seen.run.sample["rows"] and _raw_in(seen.to_json()) == []
    assert "max.mueller@example.de" in json.dumps(get_incident(failing.platform, failing.anna, incident.id).to_json())


def test_a_report_by_an_outsider_never_echoes_protected_values(failing: Batches) -> None:
    incident_id = incidents.report(
        failing.platform, failing.ben, f"{BATCHES}.inspector_email", description="Inspector missing on batch 2"
    )
    assert _raw_in(get_incident(failing.platform, failing.ben, incident_id).to_json()) == []


def test_samples_are_viewed_in_a_private_duckdb_that_reaches_no_file_and_cannot_be_reopened(tmp_path: Path) -> None:
    """One in-memory database per process for every sample shown (a cursor each): a cursor's rows are its
    own, no file can be read, and no query can switch that back on."""
    import duckdb
    import pyarrow as pa

    from threshold.quality.samples import _private_cursor

    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    one, two = _private_cursor(), _private_cursor()
    try:
        one.register("sample_raw", pa.table({"a": ["x"]}))
        assert one.sql("SELECT a FROM sample_raw").fetchall() == [("x",)]
        with pytest.raises(duckdb.CatalogException):
            two.sql("SELECT a FROM sample_raw").fetchall()
        with pytest.raises(duckdb.Error, match="disabled"):
            two.sql(f"SELECT * FROM read_csv('{secret}')").fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            two.execute("SET enable_external_access = true")
    finally:
        one.close()
        two.close()
