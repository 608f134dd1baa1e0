"""Operating a home from the CLI and the REST API (in-process over ASGI).

The CLI runs its entry point in this process (`inprocess.threshold`), a restore as a real `threshold` process
(forked with the code imported, `tests/killed.py`).

The interfaces only translate: the same services as the other tests, their errors one line each,
their permissions those the routes declare (doctor: admins; repair and maintenance: owners).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import inprocess
import killed
from threshold.api.app import create_app
from threshold.errors import ThresholdError
from threshold.identity.service import create_token
from threshold.platform import Platform

from .small_lake import added_file, count, put


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=200)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def _three_shares(platform: Platform) -> tuple[int, int]:
    """d.t with three shares of 10 rows; the first two's snapshot ids."""
    first = put(platform, "d.t", 0, 10, mode="create").snapshot_id
    second = put(platform, "d.t", 100, 10).snapshot_id
    put(platform, "d.t", 200, 10)
    return first, second


@pytest.fixture
def damaged(lake_home_with: Any) -> Platform:
    """d.t with three shares (built once per session, copied), the second one's file deleted."""
    platform, (first, second) = lake_home_with(_three_shares)
    added_file(platform, "d.t", second, first).unlink()
    return platform


def test_cli_doctor_exits_1_on_trouble_and_0_after_the_repair(damaged: Platform) -> None:
    home = damaged.settings.home_dir
    sick = threshold(home, "doctor", "--format", "json")
    assert sick.returncode == 1, sick.stderr
    report = json.loads(sick.stdout)
    assert report["healthy"] is False and report["counts"]["error"] == 1
    assert [f["kind"] for f in report["findings"]] == ["dataset.lost-files"]

    shown = threshold(home, "repair", "d.t", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    damage = json.loads(shown.stdout)
    assert damage["rows_after_drop"] == 20 and len(damage["lost"]) == 1

    done = threshold(home, "repair", "d.t", "--how", "drop-lost", "--as", "anna")
    assert done.returncode == 0, done.stderr
    assert "repaired d.t (drop-lost): 20 rows (was 30)" in done.stdout and "1 owner(s) told" in done.stdout
    assert count(damaged, "d.t") == 20
    again = threshold(home, "doctor")
    assert again.returncode == 1  # the older snapshots still name the lost file: said, not hidden
    assert "d.t" in again.stdout


def test_cli_errors_are_one_line(damaged: Platform, tmp_path: Path) -> None:
    home = damaged.settings.home_dir
    assert "does not own domain 'd' (rule: domain.owner)" in _one_line_error(
        threshold(home, "repair", "d.t", "--as", "carla")
    )
    assert "unknown repair" in _one_line_error(threshold(home, "repair", "d.t", "--how", "undo"))
    assert "is not a platform administrator (rule: admin)" in _one_line_error(threshold(home, "doctor", "--as", "anna"))
    assert "name a dataset, or give --all" in _one_line_error(threshold(home, "maintenance", "compact"))
    assert "no complete Threshold backup" in _one_line_error(threshold(tmp_path / "new", "restore", str(tmp_path)))


def test_cli_backup_restore_and_compact(lake_home: Platform, tmp_path: Path) -> None:
    for k in range(5):
        put(lake_home, "d.t", 100 * k, 10, mode="create" if k == 0 else "append")
    home = lake_home.settings.home_dir
    compacted = threshold(home, "maintenance", "compact", "d.t", "--format", "json")
    assert compacted.returncode == 0, compacted.stderr
    assert [(r["files_before"], r["files_after"]) for r in json.loads(compacted.stdout)] == [(5, 1)]

    made = threshold(home, "backup", str(tmp_path / "b"), "--format", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["datasets"] == 1
    restored = killed.threshold("restore", tmp_path / "b", "--home", tmp_path / "r")
    out, err = restored.communicate(timeout=300)
    assert restored.returncode == 0, err
    assert "1 of 1 datasets verified" in out
    history = threshold(tmp_path / "r", "maintenance", "history", "d.t", "--format", "json")
    assert [e["kind"] for e in json.loads(history.stdout)] == ["compact"]


class Api:
    def __init__(self, platform: Platform) -> None:
        self.app = create_app(platform)
        self.tokens = {name: create_token(platform, name)[1] for name in ("admin", "anna", "ben", "carla")}

    def call(self, method: str, url: str, as_: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
                headers = {"Authorization": f"Bearer {self.tokens[as_]}"}
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())


def test_api_doctor_is_for_admins(damaged: Platform) -> None:
    api = Api(damaged)
    r = api.call("GET", "/api/v1/admin/doctor", "admin")
    assert r.status_code == 200 and r.json()["counts"]["error"] == 1
    assert api.call("GET", "/api/v1/admin/doctor", "anna").status_code == 403
    fixed = api.call("POST", "/api/v1/admin/doctor/fix", "admin")
    assert fixed.status_code == 200 and fixed.json()["counts"]["error"] == 1


def test_api_repair_and_maintenance_are_for_owners(damaged: Platform) -> None:
    api = Api(damaged)
    damage = api.call("GET", "/api/v1/datasets/d.t/damage", "anna")
    assert damage.status_code == 200 and damage.json()["rows_after_drop"] == 20
    refused = api.call("POST", "/api/v1/datasets/d.t/repair", "carla", json={"how": "rollback"})
    assert refused.status_code == 403 and "rule: domain.owner" in refused.json()["detail"]
    bad = api.call("POST", "/api/v1/datasets/d.t/repair", "anna", json={"how": "undo"})
    assert bad.status_code == 422
    done = api.call("POST", "/api/v1/datasets/d.t/repair", "anna", json={"how": "rollback"})
    assert done.status_code == 200 and done.json()["rows_after"] == 10
    assert count(damaged, "d.t") == 10
    put(damaged, "d.t", 500, 3)
    compacted = api.call("POST", "/api/v1/datasets/d.t/compact", "anna", json={})
    assert compacted.status_code == 200 and compacted.json()["files_after"] == 1
    expired = api.call("POST", "/api/v1/datasets/d.t/expire", "anna", json={"older_than_days": 3})
    assert expired.status_code == 422 and "for ever" in expired.json()["detail"]
    history = api.call("GET", "/api/v1/datasets/d.t/maintenance", "anna").json()
    assert [h["kind"] for h in history] == ["compact", "rollback"]
    assert api.call("GET", "/api/v1/datasets/d.t/maintenance", "ben").status_code == 403


@pytest.fixture
def server(damaged: Platform, serve: Any) -> Iterator[str]:
    """A real HTTP server (uvicorn on 127.0.0.1, in a thread) for the damaged home."""
    with serve(create_app(damaged), lifespan="off", ws="none") as url:
        yield url


def test_python_client_embedded_and_remote_give_the_same_answers(
    damaged: Platform, server: str, tmp_path: Path
) -> None:
    import threshold

    remote = threshold.connect(url=server, token=create_token(damaged, "anna")[1])
    local = threshold.connect(damaged.settings.home_dir, user="anna")
    try:
        assert remote.repair("d.t")["rows_after_drop"] == local.repair("d.t")["rows_after_drop"] == 20
        assert remote.repair("d.t", "drop-lost")["rows_after"] == 20
        assert local.compact("d.t")["files_after"] == 1
        with pytest.raises(ThresholdError, match="is not a platform administrator .rule: admin."):
            remote.doctor()
    finally:
        remote.close()
        local.close()
    admin = threshold.connect(damaged.settings.home_dir)
    try:
        assert admin.doctor()["counts"]["error"] == 1  # older snapshots still name the lost file
        assert admin.backup(tmp_path / "b")["datasets"] == 1
    finally:
        admin.close()
