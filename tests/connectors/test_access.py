"""An Access file (.accdb, read with Debian's mdbtools) as a source: its tables are listed, a table arrives with
its types (currency exact, dates as timestamps, whole numbers), and a missing table is one clear line."""

from __future__ import annotations

import decimal
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from threshold.connectors import service as sources
from threshold.errors import InvalidInput, NotFound

SAMPLE = Path(__file__).parent.parent / "fixtures" / "access" / "ASampleDatabase.accdb"

pytestmark = pytest.mark.skipif(
    shutil.which("mdb-export") is None, reason="mdbtools is not installed (run scripts/test-services.sh)"
)


def test_an_access_table_arrives_with_its_types(org: Any, tmp_path: Path) -> None:
    p, anna = org.platform, org.anna
    copy = tmp_path / "assets.accdb"
    shutil.copy(SAMPLE, copy)
    added = sources.add(p, "assets_db", str(copy), owner="anna", user=anna)
    assert added.dialect == "access"
    assert sources.test(p, "assets_db", user=anna).tables == ["Asset Items"]
    sources.configure(p, "assets_db", dataset="manufacturing.assets", user=anna, table="Asset Items")
    r = sources.run(p, "manufacturing.assets", user=anna)
    assert (r.rows_read, r.rows_total) == (65, 65)
    table = p.lake.load("manufacturing.assets").scan(snapshot_id=r.snapshot_id).to_arrow()
    types = {f.name: f.type for f in table.schema}
    assert types["cost"] == pa.decimal128(15, 2)
    assert types["acquired"] == pa.timestamp("us")
    assert types["warranty"] == pa.int64()
    assert types["asset_no"] == pa.string()
    first = table.sort_by("asset_no").slice(0, 1).to_pylist()[0]
    assert (first["asset_no"], first["cost"], str(first["acquired"])) == (
        "30050",
        decimal.Decimal("1995.50"),
        "1997-09-02 00:00:00",
    )
    with pytest.raises(NotFound, match="source assets_db has no table 'Assets'"):
        sources.configure(p, "assets_db", dataset="manufacturing.other", user=anna, table="Assets")
        sources.run(p, "manufacturing.other", user=anna)
    with pytest.raises(InvalidInput, match="takes no password"):
        sources.add(p, "assets_db", f"access://{copy}", owner="anna", user=anna, password="x", replace=True)
    not_access = tmp_path / "fake.mdb"
    not_access.write_text("not an access file")
    sources.add(p, "fake_db", str(not_access), owner="anna", user=anna)
    with pytest.raises(InvalidInput, match="listing the tables of fake.mdb failed"):
        sources.test(p, "fake_db", user=anna)
