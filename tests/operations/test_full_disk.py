"""A full disk is said plainly: which folder, how much is free and needed; and it leaves nothing behind.

The home lives on a real 4 MB tmpfs, mounted in a private mount namespace of a child process
(`unshare`), and a CSV of about 9 MB is shared into it: a create and an append of a dataset that
was shared before the disk filled up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import duckdb
import pytest

from threshold.errors import OutOfSpace

SCRIPT = r"""
import json, sys
from pathlib import Path
from threshold.platform import Platform
from threshold.identity.service import ensure_admin, add_domain, get_person, ADMIN
from threshold.sharing.service import share
from threshold.errors import ThresholdError

home, big, small = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
p = Platform.open(home, must_exist=False)
p.init()
ensure_admin(p)
add_domain(p, "d")
admin = get_person(p, ADMIN)
share(p, small, domain="d", name="kept", user=admin)
out = {}
for mode, name in (("create", "big"), ("append", "kept")):
    try:
        share(p, big, domain="d", name=name, mode=mode, user=admin, evolve=True)
        out[mode] = {"ok": True}
    except ThresholdError as e:
        out[mode] = {"error": type(e).__name__, "message": str(e), "code": e.exit_code}
files = {str(f.relative_to(home)): f.stat().st_size for f in home.rglob("*") if f.is_file()}
out["empty_files"] = sorted(f for f, size in files.items() if size == 0 and not f.startswith("locks/"))
out["staging"] = sorted(str(f.relative_to(home)) for f in (home / "staging").rglob("*"))
out["tables"] = p.lake.identifiers()
from threshold.gateway.service import query
out["kept_rows"] = query(p, "SELECT count(*) AS n FROM d.kept", user=admin).table.to_pylist()[0]["n"]
out["data_files"] = sorted(f for f in files if f.endswith(".parquet"))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def on_a_full_disk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare to mount a private tmpfs")
    tmp = tmp_path_factory.mktemp("full")
    big, small = tmp / "big.csv", tmp / "small.csv"
    duckdb.sql(
        f"COPY (SELECT i AS id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS note FROM range(120000) t(i)) "
        f"TO '{big}' (HEADER)"
    )
    small.write_text("id,note\n1,a\n2,b\n")
    disk = tmp / "disk"
    disk.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private mount namespace here: {probe.stderr.decode().strip()}")
    command = f'mount -t tmpfs -o size=4m tmpfs "{disk}" && exec "{sys.executable}" -c "$0" "$@"'
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command, SCRIPT, str(disk / "home"), str(big), str(small)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_share_that_fills_the_disk_names_the_warehouse_and_the_space_it_needs(on_a_full_disk: dict) -> None:
    for mode in ("create", "append"):
        failed = on_a_full_disk[mode]
        assert failed["error"] == "OutOfSpace" and failed["code"] == OutOfSpace.exit_code == 9
        message = failed["message"]
        assert "the disk holding the warehouse" in message and "/home/warehouse" in message
        assert " free, about " in message and "MB is needed" in message
        assert "staging/" not in message, "the message names the place, not a scratch file"


def test_it_leaves_no_empty_file_no_staging_and_no_half_dataset(on_a_full_disk: dict) -> None:
    assert on_a_full_disk["empty_files"] == []
    assert on_a_full_disk["staging"] == []
    assert on_a_full_disk["tables"] == ["d.kept"]
    assert on_a_full_disk["kept_rows"] == 2
    assert len(on_a_full_disk["data_files"]) == 1
