"""`threshold doctor` on a home with 10,000 datasets.

    .venv/bin/python benchmarks/bench_doctor.py [--datasets 10000] [--runs 3]

The home (built once, cached under benchmarks/.data/homes/) has `--datasets` datasets in 50
domains, each a real Iceberg table of two snapshots (two small appends) published in the metadata
store. Times `threshold doctor` (reads every table's metadata, manifest lists and manifests,
stats every data file, lists every table folder) and, in the same run, a baseline child that only
walks the warehouse and stats every file. Prints medians and the cost per dataset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DATA_DIR  # noqa: E402
from home import threshold_cli  # noqa: E402
from measure import run_child  # noqa: E402

DOMAINS = 50
WALK = (
    "import os, sys\n"
    "for root, dirs, files in os.walk(sys.argv[1]):\n"
    "    for f in files:\n"
    "        os.stat(os.path.join(root, f))\n"
)


def build(home: Path, datasets: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from threshold.identity.service import ADMIN, add_domain, ensure_admin, get_person
    from threshold.platform import Platform
    from threshold.store.models import Dataset, Domain, Share

    shutil.rmtree(home, ignore_errors=True)
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    admin = get_person(platform, ADMIN)
    for d in range(DOMAINS):
        add_domain(platform, f"dom{d:02d}", owners=(ADMIN,))
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), metadata={"PARQUET:field_id": "1"}),
            pa.field("note", pa.string(), metadata={"PARQUET:field_id": "2"}),
        ]
    )
    lake = platform.lake
    started = time.perf_counter()
    with platform.store.session() as s:
        domains = {d.name: d.id for d in s.query(Domain)}
    rows = []
    for i in range(datasets):
        ident = f"dom{i % DOMAINS:02d}.t{i:05d}"
        table = lake.create(ident, schema)
        snapshots = []
        for k in range(2):
            data = lake.table_dir(ident) / "data" / f"part-{k}.parquet"
            data.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"id": [i * 10 + k], "note": [f"row {k}"]}, schema=schema), data)
            snapshots.append(lake.commit(table.transaction(), table, [data], replace=False, properties={}))
            table = table.refresh()
        rows.append((ident, snapshots))
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} tables, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    with platform.store.session() as s:
        for ident, snapshots in rows:
            domain, name = ident.split(".")
            ds = Dataset(
                domain_id=domains[domain],
                name=name,
                full_name=ident,
                title=name,
                snapshot_id=snapshots[-1],
                row_count=2,
            )
            s.add(ds)
            s.flush()
            for k, sid in enumerate(snapshots):
                s.add(Share(dataset_id=ds.id, snapshot_id=sid, mode="create" if k == 0 else "append", user_id=admin.id))
    platform.close()
    print(f"built {datasets} datasets in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = DATA_DIR / "homes" / f"doctor-{args.datasets}"
    if not (home / "threshold.db").exists() or not (home / ".built").exists():
        build(home, args.datasets)
        (home / ".built").write_text("ok")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    files = sum(len(f) for _, _, f in os.walk(home / "warehouse"))
    print(f"{args.datasets:,} datasets, {files:,} files in the warehouse")
    doctor, walk = [], []
    for i in range(args.runs):
        steps = ("doctor", "walk") if i % 2 == 0 else ("walk", "doctor")
        for step in steps:
            if step == "doctor":
                doctor.append(run_child([threshold_cli(), "doctor", "--home", str(home), "--format", "json"]))
            else:
                walk.append(run_child([sys.executable, "-c", WALK, str(home / "warehouse")]))
    d = statistics.median(r.seconds for r in doctor)
    dc = statistics.median(r.cpu_seconds for r in doctor)
    w = statistics.median(r.seconds for r in walk)
    print(f"{'':<24}{'wall s':>9}{'CPU s':>8}")
    print(f"{'threshold doctor':<24}{d:>9.2f}{dc:>8.2f}")
    print(f"{'walk + stat (baseline)':<24}{w:>9.2f}{statistics.median(r.cpu_seconds for r in walk):>8.2f}")
    print(f"doctor: {d / args.datasets * 1000:.2f} ms per dataset; {d / w:.1f}x the bare walk")
    print(f"peak RSS of doctor: {max(r.peak_rss_bytes for r in doctor) / 2**20:,.0f} MiB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
