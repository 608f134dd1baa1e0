"""A real JDBC client (pgjdbc, the driver DBeaver and Metabase use) through the front door: its metadata
calls list what the person may know, a prepared statement binds its parameter, a DELETE is refused.

Needs Java and Debian's `libpostgresql-jdbc-java` (`/usr/share/java/postgresql.jar`); skipped without them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JAR = Path("/usr/share/java/postgresql.jar")
PROBE = Path(__file__).parent.parent / "fixtures" / "pgwire" / "JdbcProbe.java"


@pytest.mark.skipif(shutil.which("java") is None or not JAR.exists(), reason="needs java and libpostgresql-jdbc-java")
def test_pgjdbc_browses_reads_with_a_parameter_and_is_refused_a_write(front) -> None:
    def run(user: str) -> list[str]:
        url = f"jdbc:postgresql://127.0.0.1:{front.port}/threshold?sslmode=disable"
        done = subprocess.run(
            ["java", "-cp", str(JAR), str(PROBE), url, user, f"{user}-pass"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.splitlines()

    carla = run("carla")
    assert carla[0].startswith("product PostgreSQL")
    assert [line for line in carla if line.startswith("table ")] == ["table manufacturing.plant_kpis"]
    assert "column operator_name varchar" in carla
    assert [line for line in carla if line.startswith("row ")] == ["row Lyon 0.08", "row Lyon 0.11"]
    assert "refused 0A000" in carla
    ben = run("ben")
    assert "table finance.budget" in ben
