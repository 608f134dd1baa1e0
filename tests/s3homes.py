"""The warehouse on the local S3 server for the behaviour tests: the S3 variants of `s3_suite`, and
`THRESHOLD_TEST_WAREHOUSE=s3`.

The files and tests listed as `s3_suite` in pyproject.toml (`[tool.pytest.ini_options]`) run twice in one
pytest run: as they are, and as S3 variants (`test_x[s3]`, `test_x[sqlite-s3]`) whose homes keep their
warehouse on the server named by THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh starts it). The
variants of a file are collected by a second collector of that file, an `S3Module`: module-scoped
fixtures are per collector, so whatever a variant's module builds (a `module_org`, a `governed` org) is
built again for it, with the switch on, and never shared with the local tests of the file. The switch is
on from that module's set-up to its tear-down (module fixtures included) and off everywhere else; it is
one flag of the test process, not of a thread, so the app a test serves in a thread sees it too. Only the
tests on the SQLite store get a variant: where the files are does not depend on which store holds the
metadata (no PostgreSQL x S3). `pytest -o s3_suite=` (`make test S3_SUITE=`) runs without variants.

`THRESHOLD_TEST_WAREHOUSE=s3` (by hand) puts every test home of the run on the server instead, and makes
no variants. Homes opened by a subprocess (CLI tests) do not find their prefix unless the test passes it
on with `subprocess_env`: those tests fail in that mode, which says nothing about the object store.

With the switch on, every test home keeps its warehouse in a prefix of its own, recorded in the home as
`PREFIX_FILE`. A copy of a home (the session's prepared homes are copied per test) gets a new prefix
holding a server-side copy of the original's objects, so a test never touches another's files; opening a
home in-process again finds its prefix.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ENABLED = os.environ.get("THRESHOLD_TEST_WAREHOUSE", "local") == "s3"
"""`THRESHOLD_TEST_WAREHOUSE=s3`: every test home of the run on the S3 server (and no variants)."""
ENDPOINT = os.environ.get("THRESHOLD_TEST_S3_ENDPOINT", "")
BUCKET = "threshold-suite"
KEY_ID, SECRET = "threshold-test-key", "threshold-test-secret-value"
PREFIX_FILE = ".test-s3-prefix"
SUITE_INI = "s3_suite"
"""The pytest ini setting (pyproject.toml) that lists the tests with an S3 variant."""

_on = False
_installed = False


def fs() -> Any:
    from pyarrow.fs import S3FileSystem

    url = urlparse(ENDPOINT)
    return S3FileSystem(
        access_key=KEY_ID,
        secret_key=SECRET,
        endpoint_override=url.netloc,
        scheme=url.scheme,
        allow_bucket_creation=True,
    )


def storage(prefix: str) -> dict[str, Any]:
    return {
        "kind": "s3",
        "endpoint": ENDPOINT,
        "bucket": BUCKET,
        "prefix": prefix,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
    }


def active() -> bool:
    """Whether the homes opened now keep their warehouse on the S3 server."""
    return _on


def switch(on: bool) -> bool:
    """Put the test homes opened from now on on the S3 server (`on`) or on local disk; returns what it was."""
    global _on
    if on:
        install()
    before, _on = _on, on
    return before


def overrides(home: Path, *, copied: bool = False) -> dict[str, Any]:
    """The `storage` setting of `home` (nothing while the switch is off): its own prefix, a new one for a
    new home, and for a `copied` home a new one holding a copy of the original's objects."""
    if not _on:
        return {}
    marker = Path(home) / PREFIX_FILE
    old = marker.read_text().strip() if marker.is_file() else None
    if old is not None and not copied:
        return {"storage": storage(old)}
    prefix = f"suite/{uuid.uuid4().hex[:16]}"
    if old is not None:
        from pyarrow.fs import FileSelector, FileType

        server = fs()
        for info in server.get_file_info(FileSelector(f"{BUCKET}/{old}", recursive=True, allow_not_found=True)):
            if info.type == FileType.File:
                server.copy_file(info.path, f"{BUCKET}/{prefix}/{info.path[len(BUCKET) + len(old) + 2 :]}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(prefix)
    return {"storage": storage(prefix)}


def install() -> None:
    """Once per process: create the bucket, and make `Platform.open` of a test home use its prefix while the
    switch is on (unless told which storage)."""
    global _installed
    if _installed:
        return
    if not ENDPOINT:
        raise RuntimeError("the warehouse on S3 needs THRESHOLD_TEST_S3_ENDPOINT (scripts/test-services.sh)")
    fs().create_dir(BUCKET)
    from threshold.platform import Platform

    plain = Platform.open.__func__  # type: ignore[attr-defined]

    def open_on_s3(cls: type[Platform], home: Any = None, **kwargs: Any) -> Platform:
        if home is not None and "storage" not in kwargs:
            kwargs.update(overrides(Path(home)))
        return plain(cls, home, **kwargs)  # type: ignore[no-any-return]

    Platform.open = classmethod(open_on_s3)  # type: ignore[method-assign, assignment]
    _installed = True


def subprocess_env(settings: Any) -> dict[str, str]:
    """`THRESHOLD_STORAGE__*` for a `threshold` subprocess on a home opened with `settings` (its prefix
    included); nothing for a home on local disk."""
    s = settings.storage
    if s.kind != "s3":
        return {}
    return {
        "THRESHOLD_STORAGE__KIND": "s3",
        "THRESHOLD_STORAGE__ENDPOINT": s.endpoint,
        "THRESHOLD_STORAGE__BUCKET": s.bucket,
        "THRESHOLD_STORAGE__PREFIX": s.prefix,
        "THRESHOLD_STORAGE__ACCESS_KEY_ID": s.access_key_id.get_secret_value(),
        "THRESHOLD_STORAGE__SECRET_ACCESS_KEY": s.secret_access_key.get_secret_value(),
    }


# --- The S3 variants (the hooks in tests/conftest.py call these) -------------------------------------------


def addini(parser: pytest.Parser) -> None:
    parser.addini(
        SUITE_INI,
        type="args",
        default=[],
        help="test files (or file::test) run again with the warehouse on the local S3 server (tests/s3homes.py)",
    )


_SUITE = pytest.StashKey[dict[str, frozenset[str] | None]]()


def configure(config: pytest.Config) -> None:
    """Read `s3_suite` once (a listed file that does not exist stops the run with one line)."""
    config.stash[_SUITE] = _read_suite(config)


def suite(config: pytest.Config) -> dict[str, frozenset[str] | None]:
    """`s3_suite`: file (relative to the rootdir) -> the names of the tests listed in it, or None for all of
    them; nothing under THRESHOLD_TEST_WAREHOUSE=s3 (every test is on S3 already)."""
    if _SUITE not in config.stash:
        configure(config)
    return config.stash[_SUITE]


def _read_suite(config: pytest.Config) -> dict[str, frozenset[str] | None]:
    if ENABLED:
        return {}
    listed: dict[str, set[str] | None] = {}
    for entry in config.getini(SUITE_INI):
        path, _, name = entry.partition("::")
        names = listed.setdefault(path, set())
        if not (config.rootpath / path).is_file():
            raise pytest.UsageError(f"{SUITE_INI} lists {entry}: there is no file {path} under {config.rootpath}")
        if names is not None:
            listed[path] = names | {name} if name else None
    return {path: None if names is None else frozenset(names) for path, names in listed.items()}


class S3Module(pytest.Module):
    """The S3 variants of a file of `s3_suite`: a second collector of the file, collecting the tests listed
    (all of them when the file is listed whole) that do not run on PostgreSQL, each parametrized `s3`;
    the switch is on from its set-up to its tear-down."""

    names: frozenset[str] | None = None
    _before: bool | None = None

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        found: set[str] = set()
        for node in super().collect():
            if not isinstance(node, pytest.Function):
                raise self.CollectError(f"{self.path.name}: the S3 variants are made for module-level test functions")
            if self.names is not None and node.originalname not in self.names:
                continue
            found.add(node.originalname)
            if node.get_closest_marker("postgres") is None:
                yield node
        if self.names is not None and self.names - found:
            raise self.CollectError(
                f"{SUITE_INI} lists {', '.join(sorted(self.names - found))}: not in {self.path.name}"
            )

    def setup(self) -> None:
        if not ENDPOINT:
            pytest.skip("THRESHOLD_TEST_S3_ENDPOINT not set (scripts/test-services.sh starts moto_server)")
        self._before = switch(True)
        super().setup()

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            if self._before is not None:
                switch(self._before)
                self._before = None


def variant_module(file_path: Path, parent: pytest.Collector) -> S3Module | None:
    """The `S3Module` of `file_path` when `s3_suite` lists it."""
    listed = suite(parent.config)
    try:
        key = file_path.relative_to(parent.config.rootpath).as_posix()
    except ValueError:
        return None
    if key not in listed:
        return None
    module = S3Module.from_parent(parent, path=file_path)
    module.names = listed[key]
    return module


def is_variant(item: pytest.Item) -> bool:
    return isinstance(item.getparent(pytest.Module), S3Module)


_VARIANT_ID = re.compile(r"[\[-]s3\]$")


def is_variant_id(nodeid: str) -> bool:
    """Whether `nodeid` names an S3 variant (what xdist's scheduler, which has no items, can tell)."""
    return bool(_VARIANT_ID.search(nodeid))


def keep_apart(items: list[pytest.Item]) -> None:
    """Put the S3 variants of each file after its local tests, in place (each kept in its order). pytest
    groups the tests of a module-scoped parameter (`module_any_org`) by file path, which a file's two
    collectors share: mixed, each switch between them would tear down and build the module's fixtures again."""
    where: dict[Path, list[int]] = {}
    variants: set[Path] = set()
    for i, item in enumerate(items):
        where.setdefault(item.path, []).append(i)
        if is_variant(item):
            variants.add(item.path)
    for path in variants:
        spots = where[path]
        group = [items[i] for i in spots]
        ordered = [t for t in group if not is_variant(t)] + [t for t in group if is_variant(t)]
        for i, item in zip(spots, ordered, strict=True):
            items[i] = item


SHARED = frozenset(
    {"cheap_passwords", "prepared_homes", "serve", "tmp_path_factory", "pytestconfig", "worker_id", "testrun_uid"}
)
"""The session-scoped fixtures an S3 variant may share with the local tests: none of them holds a home
(`prepared_homes` keeps its homes apart by `active()`)."""


def check_shared(items: list[pytest.Item]) -> None:
    """Refuse an S3 variant that uses a package- or session-scoped fixture not known to be the same for
    both warehouses: such a fixture is built once for both, so the variant would read the local one's home."""
    for item in items:
        if not is_variant(item):
            continue
        info = getattr(item, "_fixtureinfo", None)
        for name, defs in info.name2fixturedefs.items() if info is not None else ():
            if defs and defs[-1].scope in ("package", "session") and name not in SHARED:
                raise pytest.UsageError(
                    f"{item.nodeid}: the {defs[-1].scope}-scoped fixture {name!r} would be shared by the S3 variant "
                    f"and the local tests (take it out of {SUITE_INI}, or key it by s3homes.active() and add it "
                    "to s3homes.SHARED)"
                )
