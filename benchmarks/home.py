"""Fresh Threshold homes for the benchmarks, set up through the `threshold` CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def threshold_cli() -> str:
    """The `threshold` command next to this interpreter (the venv's)."""
    cli = Path(sys.executable).parent / "threshold"
    if not cli.exists():
        sys.exit(f"{cli} not found: .venv/bin/pip install -e . --no-deps")
    return str(cli)


def run_threshold(*args: str, env: dict[str, str] | None = None) -> None:
    """Run one `threshold` command; on failure show its output and stop."""
    done = subprocess.run([threshold_cli(), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"`threshold {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def fresh_home(home: Path, domain: str) -> Path:
    """An empty home at ``home`` (anything there before is removed) with ``domain`` added.

    The admin (whom `threshold.connect` acts as) owns the domain: readers outside it see personal
    columns such as `c_phone` masked by the personal-data guardrail, and the gateway's answers would
    then differ from plain DuckDB's.
    """
    shutil.rmtree(home, ignore_errors=True)
    run_threshold("init", "--home", str(home))
    run_threshold("domain", "add", domain, "--owner", "admin", "--home", str(home))
    return home


def data_files(home: Path, domain: str, name: str) -> list[Path]:
    """The Parquet data files of the Iceberg table ``domain.name`` (in a fresh home, all are current)."""
    files = sorted((home / "warehouse" / domain / name / "data").glob("*.parquet"))
    if not files:
        sys.exit(f"no data files for {domain}.{name} under {home}/warehouse")
    return files
