"""The demo organisation built once per test run and copied for each module that reads it.

`threshold demo` at scale 0.3 with three weeks of usage takes most of half a minute; tests/demo/test_demo.py
checks what it built and tests/catalog/test_search_quality.py searches its catalogue. The first of them to
ask builds it, at rest, in the run's temporary folder (shared by the xdist workers of one run, so a build
happens once per run, whichever worker asks first; the other waits for it under a file lock); each asker
gets a copy of its own (homes are relocatable), so a module may change its copy freely.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import s3homes
from threshold.demo import build_demo
from threshold.platform import Platform

SCALE = 0.3
WEEKS = 3


@dataclass(frozen=True)
class DemoAtRest:
    home: Path
    summary: str
    """What `build_demo` returned."""
    logged: list[str]
    """What it logged, line by line."""
    built_at: datetime
    """The moment the build began (its timeline ends there)."""

    def copy(self, dest: Path) -> Platform:
        """A copy of the demo's home at `dest`, open."""
        shutil.copytree(self.home, dest, symlinks=True)
        return Platform.open(dest, **s3homes.overrides(dest, copied=True))


def demo_at_rest(tmp_path_factory: pytest.TempPathFactory) -> DemoAtRest:
    """The run's demo home (built here when no module of the run has built it yet)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    name = f"demo-{SCALE}-{WEEKS}w" + ("-s3" if s3homes.active() else "")  # an S3 variant's is on S3
    where = root / name
    done = where / "built.json"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            shutil.rmtree(where, ignore_errors=True)  # a build that died half-way
            logged: list[str] = []
            built_at = datetime.now(UTC).replace(microsecond=0)
            platform = Platform.open(where / "home", must_exist=False)
            try:
                summary = build_demo(platform, scale=SCALE, weeks=WEEKS, log=logged.append)
            finally:
                platform.close()
            done.write_text(json.dumps({"summary": summary, "logged": logged, "built_at": built_at.isoformat()}))
    record = json.loads(done.read_text())
    return DemoAtRest(where / "home", record["summary"], record["logged"], datetime.fromisoformat(record["built_at"]))
