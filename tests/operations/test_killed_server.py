"""A server killed with SIGKILL during an upload leaves its upload folder; the restart removes it.

Both servers are real processes running `threshold serve` (forked with the code imported, `tests/killed.py`)
on a socket the test bound beforehand
(so a request waits in the socket's backlog instead of the test waiting for the server). The first
kills itself the moment the uploaded file is in its upload folder, before it shares it: exactly
where a killed server leaves a large file behind. The second is the restart: once it answers, the
folder of the dead one is gone and the home is unchanged.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import killed
import plainhttp
from threshold.identity.service import create_token
from threshold.platform import Platform

from .small_lake import count, put


@contextmanager
def _server(home: Path, *, kill: bool) -> Iterator[tuple[str, killed.Child]]:
    """`threshold serve` in a process of its own (`tests/killed.py`) on a listening socket the test bound
    (in place of the one `bind` takes); with `kill`, it dies by SIGKILL once an upload is in its folder,
    before it shares it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    proc = killed.threshold(
        "serve",
        "--home",
        str(home),
        env={**os.environ, "THRESHOLD_JOBS__SCHEDULER": "false"},
        kill_at="threshold.interface.uploads:run_share" if kill else None,
        replacements={"threshold.commands.serving:bind": functools.partial(killed.inherited, listener)},
    )
    listener.close()  # the server holds its own copy; requests queue in the backlog until it accepts
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def _uploads(platform: Platform) -> list[Path]:
    return sorted(platform.settings.staging_dir.glob("upload-*"))


def test_a_server_killed_during_an_upload_leaves_a_folder_that_the_restart_removes(
    lake_home: Platform, tmp_path: Path
) -> None:
    put(lake_home, "d.kept", 0, 10, mode="create")
    _, token = create_token(lake_home, "anna")
    headers = {"Authorization": f"Bearer {token}"}
    upload = tmp_path / "big.csv"
    upload.write_text("id,label\n" + "".join(f"{i},row {i}\n" for i in range(50_000)))
    home = lake_home.settings.home_dir

    with _server(home, kill=True) as (url, proc):
        with pytest.raises(httpx.TransportError):
            with upload.open("rb") as f:
                plainhttp.post(
                    f"{url}/api/v1/shares",
                    headers=headers,
                    files={"file": ("big.csv", f, "text/csv")},
                    data={"domain": "d", "name": "big"},
                    timeout=120,
                )
        assert proc.wait(timeout=60) == -signal.SIGKILL
    [left] = _uploads(lake_home)
    assert (left / "big.csv").stat().st_size == upload.stat().st_size, "the killed server left the whole upload"

    with _server(home, kill=False) as (url, proc):
        answer = plainhttp.get(f"{url}/api/v1/datasets/d.kept", headers=headers, timeout=120)
        assert answer.status_code == 200, answer.text
        assert _uploads(lake_home) == [], "the restart removed the dead server's upload folder"
    assert count(lake_home, "d.kept") == 10
    assert not lake_home.lake.exists("d.big")
