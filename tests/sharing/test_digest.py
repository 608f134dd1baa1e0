"""The shared file's SHA-256 started as early as the command line names the file (`threshold.sharing.digest`):
taken by the share only when it is of that very file, unchanged; a client's finished digest likewise."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from threshold.sharing import digest
from threshold.sharing.digest import SourceDigest, accept, for_source, handed_over, start_early, start_unless_offered


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """No early or offered digest leaks into another test (they are per process)."""
    yield
    early = digest._early
    if early is not None:
        early.cancel()
    digest._early = digest._offered = None


def _file(tmp_path: Path, name: str = "data.csv", body: bytes = b"a,b\n1,2\n" * 1000) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_early_digest_is_the_one_the_share_of_that_file_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)
    monkeypatch.chdir(tmp_path)

    early = start_early(["share", "data.csv", "--domain", "d"])

    assert early is not None and early.path == path
    assert start_early(["share", "data.csv", "--domain", "d"]) is early  # one per process
    taken = for_source(Path("data.csv"))
    assert taken is early and taken.result() == _sha(path)
    assert for_source(path) is not early  # taken once: a second share hashes again


def test_a_file_changed_after_the_early_start_is_hashed_again(tmp_path: Path) -> None:
    path = _file(tmp_path)
    early = start_early(["share", str(path)])
    assert early is not None
    early.result()
    path.write_bytes(b"a,b\n3,4\n")  # other bytes, another size
    os.utime(path, ns=(1, 1))

    taken = for_source(path)

    assert taken is not early and taken.result() == _sha(path) == hashlib.sha256(b"a,b\n3,4\n").hexdigest()


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "{path}"],
        ["share", "--domain", "d", "{path}"],
        ["share", "{path}", "--preview"],
        ["share", "{missing}"],
        ["share", "{folder}"],
        ["share"],
    ],
    ids=["not-share", "options-first", "preview", "missing", "folder", "no-file"],
)
def test_nothing_starts_early_unless_a_share_names_a_file_first(tmp_path: Path, argv: list[str]) -> None:
    path = _file(tmp_path)
    args = [a.format(path=path, missing=tmp_path / "missing.csv", folder=tmp_path) for a in argv]

    assert start_early(args) is None and digest._early is None


def test_a_finished_digest_goes_over_and_is_used_for_that_file_only(tmp_path: Path) -> None:
    path, other = _file(tmp_path), _file(tmp_path, "other.csv")
    early = start_early(["share", str(path)])
    assert early is not None and early.result() == _sha(path)

    offer = handed_over(early)

    assert offer == {"path": str(path), "identity": list(digest.identity(path) or ()), "sha256": _sha(path)}
    assert digest._early is None  # the client's own share would not take it twice
    accept({**offer, "sha256": "0" * 64})  # a value no file has: proves the share takes it without reading
    assert for_source(path).result() == "0" * 64
    accept(offer)
    assert for_source(other).result() == _sha(other)  # another file: hashed itself
    accept(offer)
    path.write_bytes(b"changed\n")
    assert for_source(path).result() == hashlib.sha256(b"changed\n").hexdigest()  # changed since: hashed again


def test_an_unfinished_digest_stops_and_is_not_handed_over(tmp_path: Path) -> None:
    class OneByteAtATime(SourceDigest):
        CHUNK = 1  # a million reads: far from done when handed over

    slow = OneByteAtATime(_file(tmp_path, body=b"x" * (1 << 20)))

    assert handed_over(slow) is None
    assert slow.result() is None  # it stopped


@pytest.mark.parametrize(
    "offer",
    [
        None,
        "abc",
        {"path": "data.csv", "identity": [1, 2, 3, 4], "sha256": "0" * 64},
        {"path": "/x/data.csv", "identity": [1, 2, 3], "sha256": "0" * 64},
        {"path": "/x/data.csv", "identity": [1, 2, 3, True], "sha256": "0" * 64},
        {"path": "/x/data.csv", "identity": [1, 2, 3, 4], "sha256": "0" * 63},
        {"path": "/x/data.csv", "identity": [1, 2, 3, 4], "sha256": "G" * 64},
        {"path": "/x/data.csv", "identity": "1234", "sha256": "0" * 64},
    ],
    ids=["none", "text", "relative", "short-identity", "bool", "short-digest", "not-hex", "identity-text"],
)
def test_an_offer_out_of_shape_is_ignored(offer: object) -> None:
    accept(offer)

    assert digest._offered is None


def test_a_helpers_child_hashes_from_its_start_unless_it_was_handed_a_finished_digest(tmp_path: Path) -> None:
    """A share in a helper's child starts hashing at once (`start_unless_offered`), which the share then takes;
    with the client's finished digest of that very file it hashes nothing and the share takes the client's."""
    path, other = _file(tmp_path), _file(tmp_path, "other.csv")
    started = start_unless_offered(["share", str(path), "--domain", "d"])
    assert started is not None and for_source(path) is started and started.result() == _sha(path)

    accept({"path": str(path), "identity": list(digest.identity(path) or ()), "sha256": "0" * 64})
    assert start_unless_offered(["share", str(path)]) is None and digest._early is None
    assert for_source(path).result() == "0" * 64
    accept({"path": str(path), "identity": list(digest.identity(path) or ()), "sha256": "0" * 64})
    elsewhere = start_unless_offered(["share", str(other)])  # an offer for another file changes nothing here
    assert elsewhere is not None and elsewhere.result() == _sha(other)
