"""The Python client against a real server (uvicorn on 127.0.0.1 in a thread) and embedded: same answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import threshold
from threshold.api.app import create_app
from threshold.client import LocalClient, RemoteClient
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import create_token, revoke_token

KPIS = "manufacturing.plant_kpis"
SQL = f"SELECT plant, scrap_rate, day FROM {KPIS} ORDER BY day, plant"


@pytest.fixture(scope="module")
def server(module_org: Any, serve: Any) -> Iterator[str]:
    """A real HTTP server for module_org; stopped when the module is done."""
    with serve(create_app(module_org.platform), lifespan="off", ws="none") as url:
        yield url


@pytest.fixture(scope="module")
def remote(server: str, module_org: Any) -> Iterator[Any]:
    _, token = create_token(module_org.platform, "carla")
    client = threshold.connect(url=server, token=token)
    yield client
    client.close()


@pytest.fixture(scope="module")
def local(module_org: Any) -> Iterator[Any]:
    client = threshold.connect(module_org.platform.settings.home_dir, user="carla")
    yield client
    client.close()


def test_connect_picks_the_client(remote: Any, local: Any) -> None:
    assert isinstance(remote, RemoteClient)
    assert isinstance(local, LocalClient)
    assert local.user.name == "carla"


def test_sql_returns_an_arrow_table(remote: Any, local: Any) -> None:
    table = remote.sql(SQL, purpose="client test")
    assert isinstance(table, pa.Table)
    assert table.schema.names == ["plant", "scrap_rate", "day"]
    assert table.schema.types == [pa.string(), pa.float64(), pa.date32()]
    assert table["plant"].to_pylist() == ["Berlin", "Lyon", "Berlin", "Porto", "Lyon"]
    assert table["scrap_rate"].to_pylist() == [0.12, 0.08, 0.15, 0.05, 0.11]
    assert table["day"].to_pylist()[0] == dt.date(2026, 1, 3)
    assert table.equals(local.sql(SQL))


def test_results_convert_to_pandas_and_polars(remote: Any) -> None:
    table = remote.sql(
        f"SELECT plant, avg(scrap_rate) AS scrap, count(*) AS n FROM {KPIS} GROUP BY plant ORDER BY plant"
    )
    frame = table.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert frame["plant"].tolist() == ["Berlin", "Lyon", "Porto"]
    assert frame["scrap"].round(3).tolist() == [0.135, 0.095, 0.05]
    assert frame["n"].tolist() == [2, 2, 1]
    polars_frame = pl.from_arrow(table)
    assert isinstance(polars_frame, pl.DataFrame)
    assert polars_frame.shape == (3, 3)
    assert polars_frame.filter(pl.col("plant") == "Lyon")["n"].to_list() == [2]
    days = pl.from_arrow(remote.sql(f"SELECT day FROM {KPIS} ORDER BY day LIMIT 1"))
    assert days.schema["day"] == pl.Date
    assert days["day"][0] == dt.date(2026, 1, 3)


def test_share_a_file_remotely(remote: Any, local: Any, tmp_path: Path) -> None:
    path = tmp_path / "Store Visits.csv"
    path.write_text("Store,Visits,Day\nHamburg,120,2026-03-01\nMunich,80,2026-03-01\nHamburg,95,2026-03-02\n")
    [result] = remote.share(path, domain="sales", description="Footfall per store")
    assert (result["dataset"], result["rows_added"], result["columns"]) == (
        "sales.store_visits",
        3,
        ["store", "visits", "day"],
    )
    assert remote.dataset("sales.store_visits") == local.dataset("sales.store_visits")
    assert remote.dataset("sales.store_visits")["description"] == "Footfall per store"
    totals = remote.sql("SELECT store, sum(visits) AS v FROM sales.store_visits GROUP BY store ORDER BY store")
    assert totals.to_pylist() == [{"store": "Hamburg", "v": 215}, {"store": "Munich", "v": 80}]


def test_share_a_pandas_frame_remotely_and_locally(remote: Any, local: Any) -> None:
    frame = pd.DataFrame({"sku": ["A-1", "B-2", "C-3"], "price": [9.99, 19.5, 4.25], "in_stock": [True, False, True]})
    [r] = remote.share(frame, domain="sales", name="prices_remote")
    [loc] = local.share(frame, domain="sales", name="prices_local")
    assert (r["dataset"], r["rows_added"]) == ("sales.prices_remote", 3)
    assert (loc["dataset"], loc["rows_added"]) == ("sales.prices_local", 3)
    assert r["columns"] == loc["columns"] == ["sku", "price", "in_stock"]
    schema_of = {
        name: [(c["name"], c["type"]) for c in remote.dataset(name)["schema"]]
        for name in ("sales.prices_remote", "sales.prices_local")
    }
    assert (
        schema_of["sales.prices_remote"]
        == schema_of["sales.prices_local"]
        == [
            ("sku", "VARCHAR"),
            ("price", "DOUBLE"),
            ("in_stock", "BOOLEAN"),
        ]
    )
    back = remote.sql("SELECT * FROM sales.prices_remote ORDER BY sku").to_pandas()
    pd.testing.assert_frame_equal(back, frame)
    assert remote.sql("SELECT * FROM sales.prices_remote ORDER BY sku").equals(
        local.sql("SELECT * FROM sales.prices_local ORDER BY sku")
    )


def test_share_a_polars_frame_remotely(remote: Any) -> None:
    frame = pl.DataFrame({"code": ["x", "y"], "qty": [1, 2]})
    [r] = remote.share(frame, domain="sales", name="polars_frame")
    assert r["rows_added"] == 2
    assert pl.from_arrow(remote.sql("SELECT * FROM sales.polars_frame ORDER BY code")).equals(frame)


def test_datasets_search_and_usage_match_the_local_client(remote: Any, local: Any) -> None:
    found = remote.datasets(search="scrap")
    assert [d["name"] for d in found] == [KPIS]
    assert found == local.datasets(search="scrap")
    everything = remote.datasets()
    assert KPIS in [d["name"] for d in everything]
    assert everything == local.datasets()
    assert remote.datasets(search="nothing like this") == []
    assert remote.usage(KPIS) == local.usage(KPIS)
    assert remote.usage(KPIS)["queries"] >= 1
    assert remote.usage() == local.usage()


def test_errors_come_back_as_threshold_errors(remote: Any, local: Any) -> None:
    with pytest.raises(ThresholdError, match=r"^422: table functions are not allowed \(read_csv\)"):
        remote.sql("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(InvalidInput, match="table functions are not allowed"):
        local.sql("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ThresholdError, match="^404: no dataset 'sales.nope'"):
        remote.dataset("sales.nope")
    with pytest.raises(ThresholdError, match="^403: carla is not a member of domain 'finance'"):
        remote.share(pd.DataFrame({"a": [1]}), domain="finance", name="not_hers")


def test_a_token_is_required_and_must_be_valid(server: str, module_org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THRESHOLD_TOKEN", raising=False)
    with pytest.raises(InvalidInput, match="a token is needed"):
        threshold.connect(url=server)
    token_id, token = create_token(module_org.platform, "ben")
    monkeypatch.setenv("THRESHOLD_TOKEN", token)
    client = threshold.connect(url=server)
    try:
        assert client.sql("SELECT 42 AS answer").to_pylist() == [{"answer": 42}]
        revoke_token(module_org.platform, token_id)
        with pytest.raises(ThresholdError, match="^401: invalid or revoked API token"):
            client.sql("SELECT 42 AS answer")
    finally:
        client.close()


# --------------------------------------------------------------------------------- limits, remotely


def test_the_remote_client_hears_why_a_result_was_cut(remote: Any) -> None:
    from threshold.client import notes

    table = remote.sql(SQL, max_rows=2)
    assert table.num_rows == 2 and notes(table) == ["showing the first 2 rows"]


def test_a_busy_server_answers_in_words_with_when_to_try_again(remote: Any, module_org: Any) -> None:
    from threshold.errors import Busy
    from threshold.gateway.service import open_query

    carla = module_org.carla  # the remote client acts as carla
    held = [open_query(module_org.platform, SQL, user=carla) for _ in range(2)]
    try:
        with pytest.raises(Busy) as busy:
            remote.sql(SQL)
        assert "carla already has 2 queries running" in str(busy.value) and "try again in" in str(busy.value)
        assert busy.value.retry_after >= 1
    finally:
        for s in held:
            s.close()
    assert remote.sql(SQL).num_rows == 5


def test_the_cli_queries_a_server_with_its_limits(server: str, module_org: Any, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    token = create_token(module_org.platform, "ben")[1]
    env = os.environ | {"THRESHOLD_TOKEN": token, "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "threshold.cli", "query", SQL, "--url", server, "--format", "json", "--max-rows", "2"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert len(__import__("json").loads(done.stdout)) == 2
    assert done.stderr.strip() == "showing the first 2 rows"


def test_cli_login_says_in_words_when_sign_in_is_slowed_down(
    server: str, module_org: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from threshold.credentials import login
    from threshold.errors import Busy, Unauthenticated

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    # The wait after the free failures outlasts any slow request: on a loaded machine the sixth attempt
    # came more than the default second after the fifth and was (rightly) let through.
    monkeypatch.setattr(module_org.platform.settings.limits, "signin_delay_seconds", 600.0)
    for _ in range(5):
        with pytest.raises(Unauthenticated, match="wrong user name or password"):
            login(server, "no-such-person", "guess")
    with pytest.raises(Busy) as slowed:
        login(server, "no-such-person", "guess")
    assert "too many failed sign-ins" in str(slowed.value) and slowed.value.retry_after >= 1


def test_preview_then_publish_remotely(remote: Any, local: Any, tmp_path: Path) -> None:
    """carla (sales) previews an export with a title line and a total, corrects a column, publishes by id."""
    path = tmp_path / "Leads.csv"
    path.write_text("Lead export\n\nRegion,Leads,Won\nnorth,12,3\nsouth,30,9\nTotal,42,12\n")
    proposal = remote.share(path, domain="sales", preview=True)
    assert proposal["ready"] and proposal["preview_id"]
    [table] = proposal["tables"]
    assert [c["name"] for c in table["columns"]] == ["region", "leads", "won"]
    assert [s["reason"] for s in table["skipped"]] == ["title", "total"]
    assert local.preview_share(path, domain="sales")["tables"][0]["rows"] == [["north", 12, 3], ["south", 30, 9]]

    [result] = remote.share(preview_id=proposal["preview_id"], columns={"won": {"name": "deals_won", "type": "number"}})
    assert (result["dataset"], result["rows_added"], result["columns"]) == (
        "sales.leads",
        2,
        ["region", "leads", "deals_won"],
    )
    assert [(c["name"], c["type"]) for c in local.dataset("sales.leads")["schema"]][-1] == ("deals_won", "DOUBLE")


def test_share_with_layout_options_remotely(remote: Any, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Orders\nRegion,Orders\nnorth,12\nsouth,30\nTotal,42\n")
    [result] = remote.share(path, domain="sales", name="orders_kept", header_row=2, keep_totals=True)
    assert result["rows_added"] == 3
    with pytest.raises(ThresholdError, match="422: header row 'x' is not a row number"):
        remote.share(path, domain="sales", name="orders_bad", header_row="x")


def test_cancel_a_remote_preview(remote: Any, tmp_path: Path) -> None:
    path = tmp_path / "cancelled.csv"
    path.write_text("a,b\n1,2\n")
    preview_id = remote.preview_share(path, domain="sales")["preview_id"]
    remote.cancel_preview(preview_id)
    with pytest.raises(ThresholdError, match="404: no preview"):
        remote.share(preview_id=preview_id)
