"""`make run` is the newcomer's first command: it installs what running needs (the package and the `demo`
extra, never the test and lint tools of `dev`) and serves on the port asked for (`make run PORT=8001`).
Read from make's own dry run (`make -n -B`: every step printed, nothing run)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is missing")
    done = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return [line for line in done.stdout.splitlines() if line and not line.startswith("make")]


def test_make_run_installs_only_the_demo_extra_and_serves_on_the_port_asked_for() -> None:
    steps = _dry_run("run", "PORT=8001", "HOST=0.0.0.0")
    installs = [s for s in steps if "pip install" in s]
    assert len(installs) == 1 and installs[0].endswith("-e '.[demo]'"), steps
    assert steps[-1].endswith("threshold demo --host '0.0.0.0' --port '8001'")
    assert not any("[dev]" in s for s in steps)


def test_the_demo_extra_holds_no_test_or_lint_tool() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    demo = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in extras["demo"]}
    tools = {"pytest", "hypothesis", "playwright", "ruff", "mypy", "import-linter", "schemathesis", "threshold"}
    assert demo and not demo & tools


def test_make_run_defaults_to_port_8000_on_this_machine_only() -> None:
    assert _dry_run("run")[-1].endswith("threshold demo --host '127.0.0.1' --port '8000'")


def test_make_test_also_runs_the_behaviour_tests_with_the_warehouse_on_the_s3_server() -> None:
    steps = _dry_run("test")
    [s3] = [s for s in steps if "THRESHOLD_TEST_WAREHOUSE=s3" in s]
    files = [a.split("::")[0] for a in s3.split() if a.startswith("tests/")]
    assert {f.split("/")[1] for f in files} >= {"governance", "sharing", "gateway", "lineage", "erasure"}
    assert all((ROOT / f).is_file() for f in files), files
    for node in (a for a in s3.split() if "::" in a):  # a test named alone still exists
        path, name = node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), node
    assert steps.index(s3) > max(i for i, s in enumerate(steps) if "pytest" in s and s != s3)
