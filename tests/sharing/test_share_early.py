"""A plain CSV's conversion started before the share's imports (`threshold.sharing.early`): the share takes it
only when its own planned COPY is the same statement, stores exactly what a share without it stores, and
every refusal, change or exit leaves nothing of it behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import killed
from threshold.errors import Denied, NotFound
from threshold.gateway.service import query
from threshold.platform import Platform
from threshold.sharing import early
from threshold.sharing.readers.source import ReadOptions
from threshold.sharing.service import share

CSV = """id,name,amount,day,ok
1,Anna,12.5,2026-01-03,true
2,Jean,,2026-01-04,false
3,Max Müller,7.25,2026-01-05,true
"""


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """No early conversion leaks into another test (one per process)."""
    yield
    early.discard_all()


def _start(platform: Platform, path: Path, *more: str) -> early.Early:
    started = early.start(
        ["share", str(path), "--domain", "manufacturing", "--home", str(platform.settings.home), *more]
    )
    assert started is not None
    return started


def _ours(platform: Platform) -> list[Path]:
    """Staging folders of shares (previews aside)."""
    root = platform.settings.staging_dir
    return sorted(p for p in root.iterdir() if p != platform.settings.previews_dir) if root.is_dir() else []


def _stored(platform: Platform, org, dataset: str) -> tuple[list[tuple[str, str, int]], list[dict]]:
    """(name, type, field id) of each column as the lake holds it, and the rows through the gateway."""
    table = platform.lake.load(dataset)
    fields = [(f.name, str(f.field_type), f.field_id) for f in table.schema().fields]
    return fields, query(platform, f"SELECT * FROM {dataset} ORDER BY id", user=org.anna).table.to_pylist()


def test_a_plain_csv_converted_early_is_stored_as_a_share_without_it_stores(org, tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    path.write_text(CSV, encoding="utf-8")
    other = tmp_path / "later" / "payments.csv"
    other.parent.mkdir()
    other.write_text(CSV, encoding="utf-8")

    started = _start(org.platform, path)
    [with_early] = share(org.platform, path, domain="manufacturing", user=org.anna)
    [without] = share(org.platform, other, domain="manufacturing", user=org.anna, name="payments_again")

    assert started.used
    assert with_early.rows_added == without.rows_added == 3
    assert with_early.columns == without.columns == ["id", "name", "amount", "day", "ok"]
    assert with_early.notes == without.notes
    assert _stored(org.platform, org, "manufacturing.payments") == _stored(
        org.platform, org, "manufacturing.payments_again"
    )
    assert _ours(org.platform) == []  # the early folder went with the share


@pytest.mark.parametrize(
    "more",
    [
        ["--header-row", "2"],
        ["--mode", "append"],
        ["--mode=replace"],
        ["--rename", "id=key"],
        ["--type", "id=text"],
        ["--encoding", "cp1252"],
        ["--delimiter", ";"],
        ["--keep-totals"],
        ["--preview"],
        ["--unknown", "x"],
    ],
)
def test_only_a_plain_csv_shared_as_a_new_dataset_starts_early(tmp_path: Path, more: list[str]) -> None:
    path = tmp_path / "payments.csv"
    path.write_text(CSV, encoding="utf-8")

    assert early.plain_csv(["share", str(path), "--domain", "d", *more]) is None
    assert early.plain_csv(["share", str(path), "--domain", "d", "--mode", "create", "--as", "anna"]) is not None
    assert early.plain_csv(["share", str(tmp_path / "book.xlsx"), "--domain", "d"]) is None
    assert early.plain_csv(["share", "--domain", "d", str(path)]) is None


def test_a_refused_share_leaves_nothing_of_the_early_conversion(org, tmp_path: Path, state_of) -> None:
    path = tmp_path / "payments.csv"
    path.write_text(CSV, encoding="utf-8")
    before = state_of(org.platform)

    started = _start(org.platform, path)
    with pytest.raises(Denied, match="not a member of domain 'manufacturing'"):
        share(org.platform, path, domain="manufacturing", user=org.carla)
    assert not started.used
    assert _ours(org.platform) == []

    started = _start(org.platform, path)
    with pytest.raises(NotFound, match="no domain 'nowhere'"):
        share(org.platform, path, domain="nowhere", user=org.anna)
    assert _ours(org.platform) == []
    assert state_of(org.platform) == before


def test_a_file_changed_after_the_early_start_is_read_again(org, tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    path.write_text(CSV, encoding="utf-8")
    started = _start(org.platform, path)
    started._read.wait()
    path.write_text(CSV + "4,Ana,1.5,2026-01-06,false\n", encoding="utf-8")

    [result] = share(org.platform, path, domain="manufacturing", user=org.anna)

    assert not started.used
    assert result.rows_added == 4
    assert _ours(org.platform) == []


def test_other_options_or_another_home_discard_the_early_read(org, tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    path.write_text(CSV, encoding="utf-8")
    settings = org.platform.settings

    _start(org.platform, path)
    assert early.take(path, ReadOptions(limits=settings.limits, delimiter=";"), settings) is None
    assert _ours(org.platform) == []

    _start(org.platform, path)
    assert early.take(tmp_path / "other.csv", ReadOptions(limits=settings.limits), settings) is None
    assert _ours(org.platform) == []

    taken = None
    try:
        _start(org.platform, path)
        taken = early.take(path, ReadOptions(limits=settings.limits), settings)
        assert taken is not None and taken.staging is not None and taken.staging.parent == settings.staging_dir
    finally:
        if taken is not None:
            early.release(taken)
            taken.discard()
    assert _ours(org.platform) == []


def test_a_late_byte_of_another_encoding_falls_back_as_without_it(org, tmp_path: Path) -> None:
    """The early COPY meets the cp1252 byte past the ASCII megabyte: the share falls back to cp1252 once."""
    from threshold.sharing.readers.csv import SNIFF_BYTES

    rows = "".join(f"{i},plain\n" for i in range(SNIFF_BYTES // 8))
    path = tmp_path / "late.csv"
    path.write_bytes(("id,name\n" + rows + "999999,Müller\n").encode("cp1252"))

    started = _start(org.platform, path)
    [result] = share(org.platform, path, domain="manufacturing", user=org.anna)

    assert started.used
    assert "encoding cp1252" in result.notes
    assert result.rows_added == SNIFF_BYTES // 8 + 1
    rows_back = query(org.platform, "SELECT name FROM manufacturing.late WHERE id = 999999", user=org.anna)
    assert rows_back.table.to_pylist() == [{"name": "Müller"}]
    assert _ours(org.platform) == []


def test_a_process_that_ends_without_sharing_leaves_nothing(org, tmp_path: Path) -> None:
    """The command failed before the share (or never reached it): the exit removes the early folder."""
    path = tmp_path / "payments.csv"
    path.write_text(CSV * 2000, encoding="utf-8")
    home = str(org.platform.settings.home)
    script = (
        "import sys; from threshold.sharing import early; "
        f"e = early.start(['share', {str(path)!r}, '--domain', 'm', '--home', {home!r}]); "
        "e._read.wait(); sys.exit(0 if e.staging is not None and e.staging.is_dir() else 3)"
    )

    done = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert _ours(org.platform) == []


def test_an_interrupted_command_leaves_nothing_of_the_early_conversion(org, tmp_path: Path) -> None:
    """Ctrl-C while the early COPY writes (the command still importing, or the share waiting for it): no
    dataset, no staging folder, and the name can be shared afterwards."""
    import signal

    import duckdb

    big = tmp_path / "big.csv"
    duckdb.sql(
        "COPY (SELECT i AS id, 'Plant ' || (i % 97) AS plant, md5(i::VARCHAR) AS batch, (i % 1000) / 1000.0 AS rate"
        f" FROM range(2000000) t(i)) TO '{big}' (HEADER, DELIMITER ',')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")} | {"THRESHOLD_RESIDENT": "0"}
    home = org.platform.settings.home_dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "threshold.cli", "share", str(big), "--domain", "manufacturing", "--home", str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not ignored, whatever started the tests
    )
    killed.while_converting(home, proc)

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    # Wherever the interrupt lands (the command's imports, the wait for the COPY): one line and 130, as any
    # interrupted command; nothing of the early conversion is left, and no half dataset.
    assert (proc.returncode, out, err) == (130, "", "interrupted\n")
    assert _ours(org.platform) == []
    assert not org.platform.lake.exists("manufacturing.big")
    [result] = share(org.platform, big, domain="manufacturing", user=org.anna)
    assert result.rows_added == 2_000_000
