"""`make run` is the newcomer's first command: it installs what running needs (the package and the `demo`
extra, never the test and lint tools of `dev`) and serves on the port asked for (`make run PORT=8001`).
Read from make's own dry run (`make -n -B`: every step printed, nothing run)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


def test_make_run_and_make_venv_compile_thresholds_own_modules_ahead() -> None:
    """An editable install's sources are compiled by nobody: where PYTHONDONTWRITEBYTECODE is set, each command
    would compile the modules it imports again. Both set-ups compile them, after installing."""
    for target in ("run", "venv"):
        steps = _dry_run(target)
        [compiling] = [i for i, s in enumerate(steps) if "-m compileall" in s]
        assert steps[compiling].endswith("-m compileall -q -j 0 src/threshold"), steps
        assert compiling > max(i for i, s in enumerate(steps) if "pip install" in s), steps


def test_the_demo_extra_holds_no_test_or_lint_tool() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    demo = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in extras["demo"]}
    tools = {"pytest", "hypothesis", "playwright", "ruff", "mypy", "import-linter", "schemathesis", "threshold"}
    assert demo and not demo & tools


def test_make_run_defaults_to_port_8000_on_this_machine_only() -> None:
    assert _dry_run("run")[-1].endswith("threshold demo --host '127.0.0.1' --port '8000'")


def _s3_suite() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(pyproject["tool"]["pytest"]["ini_options"]["s3_suite"])


def test_make_test_also_runs_the_behaviour_tests_with_the_warehouse_on_the_s3_server() -> None:
    """One pytest run: every test once, and the tests of `s3_suite` (pyproject.toml) again as `[s3]` variants
    with the warehouse on the local S3 server (tests/s3homes.py); `make test S3_SUITE=` runs without them."""
    steps = _dry_run("test")
    [run] = [s for s in steps if "/pytest " in s]  # no second pytest run
    assert "s3_suite" not in run and "THRESHOLD_TEST_WAREHOUSE" not in run and " -m " not in run, run
    listed = _s3_suite()
    files = [a.split("::")[0] for a in listed]
    assert {f.split("/")[1] for f in files} >= {"governance", "sharing", "gateway", "lineage", "erasure"}
    assert all((ROOT / f).is_file() for f in files), files
    for node in (a for a in listed if "::" in a):  # a test named alone still exists
        path, name = node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), node
    [off] = [s for s in _dry_run("test", "S3_SUITE=") if "/pytest " in s]
    assert off.endswith(" -o 's3_suite='"), off


def test_the_tests_of_s3_suite_get_an_s3_variant_on_the_sqlite_store_only() -> None:
    """What pytest collects for a file of `s3_suite` (a real collection, in a process of its own): its tests
    once each under their own ids, then an `[s3]` variant of each listed test on the SQLite store only."""
    erasure = "tests/erasure/test_erasure.py"
    named = [a.split("::")[1] for a in _s3_suite() if a.startswith(f"{erasure}::")]
    env = {k: v for k, v in os.environ.items() if k != "THRESHOLD_TEST_WAREHOUSE"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only", erasure],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if line.startswith(f"{erasure}::")]
    variants = [i for i in ids if i.endswith(("[s3]", "-s3]"))]
    assert named and variants == [f"{erasure}::{name}[sqlite-s3]" for name in named], variants
    local = [i for i in ids if i not in variants]
    assert len(set(local)) == len(local) and ids == local + variants
    for name in named:
        assert {f"{erasure}::{name}[sqlite]", f"{erasure}::{name}[postgres]"} <= set(local)
