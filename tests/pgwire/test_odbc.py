"""psqlODBC, the driver Excel uses on Windows, through the front door (unixODBC's `isql`): its table
listing (SQLTables) shows what the person may know, and a query reads governed rows.

Needs Debian's `unixodbc` and `odbc-postgresql`; skipped without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DRIVERS = [
    Path(p) for p in ("/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so", "/usr/lib/aarch64-linux-gnu/odbc/psqlodbcw.so")
]
DRIVER = next((d for d in DRIVERS if d.exists()), None)


@pytest.mark.skipif(shutil.which("isql") is None or DRIVER is None, reason="needs unixodbc and odbc-postgresql")
def test_psqlodbc_lists_and_reads_what_the_person_may(front, tmp_path: Path) -> None:
    (tmp_path / "odbcinst.ini").write_text(f"[PostgreSQL Unicode]\nDriver={DRIVER}\n")
    (tmp_path / "odbc.ini").write_text(
        f"[threshold]\nDriver=PostgreSQL Unicode\nServername=127.0.0.1\nPort={front.port}\n"
        "Database=threshold\nSSLmode=disable\n"
    )
    env = dict(os.environ, ODBCSYSINI=str(tmp_path), ODBCINI=str(tmp_path / "odbc.ini"))

    def run(user: str, commands: str) -> str:
        done = subprocess.run(
            ["isql", "-v", "-b", "threshold", user, f"{user}-pass"],
            input=commands,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    carla = run("carla", "help\nSELECT plant, operator_name FROM manufacturing.plant_kpis ORDER BY day\n")
    assert "plant_kpis" in carla and "budget" not in carla
    assert "Berlin" in carla and "Anna Schmidt" not in carla
    assert "5 rows fetched" in carla
    assert "budget" in run("ben", "help\n")
