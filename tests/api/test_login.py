"""`threshold login` against a real server (uvicorn on 127.0.0.1), then `threshold.connect(url=...)` with the
token it kept: no token passed, none in the environment."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import plainhttp
import threshold
from threshold.api.app import create_app
from threshold.errors import ThresholdError

KPIS = "manufacturing.plant_kpis"


@pytest.fixture(scope="module")
def server(module_org: Any, serve: Any) -> Iterator[str]:
    """A real HTTP server for module_org; stopped when the module is done."""
    with serve(create_app(module_org.platform), lifespan="off", ws="none") as url:
        yield url


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials go to a temporary XDG_CONFIG_HOME, for this process and the CLI processes it starts."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("THRESHOLD_TOKEN", raising=False)
    return home


def login(config_home: Path, url: str, user: str, password: str) -> subprocess.CompletedProcess[str]:
    """`threshold login` in a fresh process, as a person runs it."""
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "80", "XDG_CONFIG_HOME": str(config_home), "NO_PROXY": "*"}
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", "login", "--url", url, "--user", user, "--password", password],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_login_keeps_a_token_that_connect_uses(server: str, config_home: Path) -> None:
    done = login(config_home, server + "/", "carla", "carla-pass")
    assert done.returncode == 0, done.stderr
    stored = config_home / "threshold" / "credentials.json"
    assert f"signed in to {server}/ as carla" in " ".join(done.stdout.split())
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    token = json.loads(stored.read_text())[server]
    assert token.startswith("thr_")
    client = threshold.connect(url=server)
    try:
        table = client.sql(f"SELECT plant, e_mail FROM {KPIS} ORDER BY day, plant")
        assert table.column("plant").to_pylist()[:2] == ["Berlin", "Lyon"]
        assert "anna.schmidt@example.com" not in table.column("e_mail").to_pylist()  # masked for carla
        assert [d["name"] for d in client.datasets()] == [KPIS]
    finally:
        client.close()
    me = plainhttp.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.json()["name"] == "carla"


def test_a_revoked_login_token_no_longer_connects(server: str, config_home: Path) -> None:
    assert login(config_home, server, "carla", "carla-pass").returncode == 0
    token = json.loads((config_home / "threshold" / "credentials.json").read_text())[server]
    headers = {"Authorization": f"Bearer {token}"}
    mine = plainhttp.get(f"{server}/api/v1/tokens", headers=headers, timeout=30).json()
    newest = max(t["id"] for t in mine)
    assert plainhttp.delete(f"{server}/api/v1/tokens/{newest}", headers=headers, timeout=30).status_code == 200
    client = threshold.connect(url=server)
    try:
        with pytest.raises(ThresholdError, match="401: invalid or revoked API token"):
            client.sql(f"SELECT plant FROM {KPIS}")
    finally:
        client.close()


def test_login_with_a_wrong_password_says_so_and_keeps_nothing(server: str, config_home: Path) -> None:
    done = login(config_home, server, "carla", "not-her-password")
    assert done.returncode == 4
    assert done.stderr.strip() == "error: wrong user name or password"
    assert not (config_home / "threshold" / "credentials.json").exists()
