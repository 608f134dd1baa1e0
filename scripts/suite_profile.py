"""Where a test run's time goes, per file: summed set-up, call and tear-down from pytest's `--durations=0`.

    set -a; . ./.test-env; set +a
    .venv/bin/pytest -q -p no:cacheprovider --durations=0 --durations-min=0 tests/api > /tmp/api.log
    .venv/bin/python scripts/suite_profile.py /tmp/api.log [more logs...] [--top 30]

Under `pytest -n auto --dist loadfile` a file runs whole on one worker, so the longest file bounds the wall
time, and the sum over files divided by the workers is the least it can be: the report prints both. Reads
the "slowest durations" lines (`0.52s setup tests/x.py::test_y[postgres]`) of every log given. A file's S3
variants (`test_y[s3]`, `test_y[sqlite-s3]`: tests/s3homes.py) are a unit of their own, `tests/x.py[s3]`, as
the workers hand them out.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S+?)::(\S.*)$")
S3_VARIANT = re.compile(r"[\[-]s3\]$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=30, help="files to list (longest first)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    per_file: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    tests: dict[str, set[str]] = defaultdict(set)
    for log in args.logs:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            m = LINE.match(line)
            if m:
                seconds, phase, path, test = float(m[1]), m[2], m[3], m[4]
                if S3_VARIANT.search(test):
                    path += "[s3]"
                per_file[path][phase] += seconds
                tests[path].add(test)
    rows = sorted(per_file.items(), key=lambda kv: -sum(kv[1].values()))
    total = sum(sum(p.values()) for p in per_file.values())
    print(f"{'file':<60} {'tests':>5} {'setup':>8} {'call':>8} {'teardown':>8} {'total':>8}")
    for path, phases in rows[: args.top]:
        print(
            f"{path:<60} {len(tests[path]):>5} {phases['setup']:>8.1f} {phases['call']:>8.1f}"
            f" {phases['teardown']:>8.1f} {sum(phases.values()):>8.1f}"
        )
    by_phase = {p: sum(f[p] for f in per_file.values()) for p in ("setup", "call", "teardown")}
    print(
        f"{len(per_file)} files, {sum(len(t) for t in tests.values())} tests: {total:.1f} s summed "
        f"(setup {by_phase['setup']:.1f}, call {by_phase['call']:.1f}, teardown {by_phase['teardown']:.1f}); "
        f"longest file {max((sum(p.values()) for p in per_file.values()), default=0):.1f} s; "
        f"sum / {args.workers} workers {total / args.workers:.1f} s"
    )


if __name__ == "__main__":
    main()
