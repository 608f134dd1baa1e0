"""Tokens the CLI and Python client keep after `threshold login`, per server, readable only by you."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from threshold.errors import Busy, ThresholdError, Unauthenticated
from threshold.tls import client_context


def credentials_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "threshold" / "credentials.json"


def login(url: str, user: str, password: str, *, days: int = 30) -> Path:
    base = url.rstrip("/")
    try:
        r = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"user": user, "password": password, "days": days},
            timeout=30,
            verify=client_context(),
        )
    except httpx.HTTPError as e:
        raise ThresholdError(f"cannot reach {base}: {type(e).__name__}") from e
    if r.status_code == 401:
        raise Unauthenticated("wrong user name or password")
    if r.status_code == 429:  # throttled after failed sign-ins: the server's sentence says when to try again
        raise Busy(str(r.json().get("detail", "too many failed sign-ins")), float(r.headers.get("retry-after", "1")))
    if r.status_code >= 400:
        raise ThresholdError(f"{r.status_code}: {r.json().get('detail', r.text)}")
    token = r.json()["token"]
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[base] = token
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return path


def stored_token(url: str) -> str | None:
    path = credentials_path()
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get(url.rstrip("/"))
    except (OSError, ValueError):
        return None
