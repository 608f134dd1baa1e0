"""An Access file (.mdb, read with Debian's mdbtools) as a source: its tables are listed, a table arrives with
its types (whole numbers, dates as timestamps, yes/no as booleans, text in any script), and a missing table is
one clear line.

The file is `examples/node-adodb.mdb` from the npm package node-adodb 5.0.3 (MIT licence): no Debian or PyPI
package ships an Access file and nothing here can write one. scripts/test-services.sh fetches it once, checks
the tarball's published SHA-1 and exports its path as THRESHOLD_TEST_ACCESS_FILE."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from threshold.connectors import service as sources
from threshold.errors import InvalidInput, NotFound

SAMPLE = os.environ.get("THRESHOLD_TEST_ACCESS_FILE", "")

pytestmark = [
    pytest.mark.skipif(
        shutil.which("mdb-export") is None, reason="mdbtools is not installed (run scripts/test-services.sh)"
    ),
    pytest.mark.skipif(
        not SAMPLE or not Path(SAMPLE).is_file(),
        reason="no Access test file: scripts/test-services.sh fetches it (THRESHOLD_TEST_ACCESS_FILE)",
    ),
]


def test_an_access_table_arrives_with_its_types(org: Any, tmp_path: Path) -> None:
    p, anna = org.platform, org.anna
    copy = tmp_path / "people.mdb"
    shutil.copy(SAMPLE, copy)
    added = sources.add(p, "people_db", str(copy), owner="anna", user=anna)
    assert added.dialect == "access"
    assert sources.test(p, "people_db", user=anna).tables == ["Users"]
    sources.configure(p, "people_db", dataset="manufacturing.people", user=anna, table="Users")
    r = sources.run(p, "manufacturing.people", user=anna)
    table = p.lake.load("manufacturing.people").scan(snapshot_id=r.snapshot_id).to_arrow()
    assert (r.rows_read, r.rows_total) == (3, 3)
    types = {f.name: f.type for f in table.schema}
    assert types == {
        "userid": pa.int64(),
        "username": pa.string(),
        "usersex": pa.string(),
        "userbirthday": pa.timestamp("us"),
        "usermarried": pa.bool_(),
    }
    rows = table.sort_by("userid").to_pylist()
    assert [(x["userid"], x["username"], x["usersex"], str(x["userbirthday"]), x["usermarried"]) for x in rows] == [
        (1, "Nuintun", "Male", "1989-01-25 00:00:00", True),
        (2, "Angela", "Female", "1988-12-18 00:00:00", False),
        (3, "张三", "男", "1986-12-18 00:00:00", True),
    ]
    with pytest.raises(NotFound, match="source people_db has no table 'Assets'"):
        sources.configure(p, "people_db", dataset="manufacturing.other", user=anna, table="Assets")
        sources.run(p, "manufacturing.other", user=anna)
    with pytest.raises(InvalidInput, match="takes no password"):
        sources.add(p, "people_db", f"access://{copy}", owner="anna", user=anna, password="x", replace=True)
    not_access = tmp_path / "fake.mdb"
    not_access.write_text("not an access file")
    sources.add(p, "fake_db", str(not_access), owner="anna", user=anna)
    with pytest.raises(InvalidInput, match="listing the tables of fake.mdb failed"):
        sources.test(p, "fake_db", user=anna)
