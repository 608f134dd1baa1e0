"""TPC-H benchmark data, generated once with tpchgen-cli and cached under benchmarks/.data/.

    .venv/bin/python benchmarks/data.py [--sf 1]

writes ``benchmarks/.data/tpch-sf{SF}/{csv,parquet}/<table>.{csv,parquet}``; a format whose folder
already holds all eight tables is skipped.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"
TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
FORMATS = ("csv", "parquet")


def tpchgen() -> str:
    """The tpchgen-cli next to this interpreter (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / "tpchgen-cli"
    found = str(local) if local.exists() else shutil.which("tpchgen-cli")
    if not found:
        sys.exit("tpchgen-cli not found: pip install tpchgen-cli")
    return found


def sf_label(sf: float) -> str:
    return f"{sf:g}"


def tpch_dir(sf: float, fmt: str) -> Path:
    """The folder holding ``<table>.<fmt>`` for scale factor ``sf``."""
    return DATA_DIR / f"tpch-sf{sf_label(sf)}" / fmt


def table_path(sf: float, fmt: str, table: str) -> Path:
    return tpch_dir(sf, fmt) / f"{table}.{fmt}"


def ensure_tpch(sf: float = 1, formats: tuple[str, ...] = FORMATS) -> Path:
    """Generate the missing formats of TPC-H at ``sf``; return the scale factor's folder."""
    for fmt in formats:
        out = tpch_dir(sf, fmt)
        if all(table_path(sf, fmt, t).exists() for t in TABLES):
            continue
        # Generate into a scratch folder and rename, so an interrupted run leaves no half cache.
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        print(f"generating TPC-H SF {sf_label(sf)} {fmt} into {out} ...", file=sys.stderr, flush=True)
        subprocess.run([tpchgen(), fmt, "-s", sf_label(sf), "-o", str(tmp), "--quiet"], check=True)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return DATA_DIR / f"tpch-sf{sf_label(sf)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1, help="TPC-H scale factor (default 1)")
    parser.add_argument("--format", choices=FORMATS, action="append", help="only this format (repeatable)")
    args = parser.parse_args()
    print(ensure_tpch(args.sf, tuple(args.format or FORMATS)))


if __name__ == "__main__":
    main()
