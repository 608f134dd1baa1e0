"""`threshold move-warehouse --bucket B --prefix P`: a warehouse on an object store moves to another bucket
or prefix of the same store.

Every object under the current prefix is copied by the store itself (a server-side copy: no byte passes
through this machine) and checked (same size), then the home claims the new place: its stamp is written
there and the store records it. From then on a process still configured with the old bucket and prefix
is refused at its next write ("... which still exists; ... run `threshold init`"), and the next process
started with the new settings reads and writes there; the catalog's locations are relative, so nothing
of it changes. The old objects stay until the operator removes them. The target must hold no warehouse;
a copy that fails removes what it copied and leaves the home as it was. Stop the servers first: a share
committed while the copy runs would stay behind in the old prefix (expiry, which deletes, waits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from threshold import home, locks
from threshold.errors import InvalidInput, ThresholdError
from threshold.identity.service import Person
from threshold.operations.permissions import must_operate_home
from threshold.platform import Platform
from threshold.settings import StorageSettings
from threshold.storage import S3Files


@dataclass
class MoveResult:
    source: str
    target: str
    objects: int
    bytes: int
    seconds: float


def move_warehouse(
    platform: Platform, person: Person, *, bucket: str | None = None, prefix: str | None = None
) -> MoveResult:
    """Copy the warehouse to `bucket`/`prefix` (unchanged when None) and make it the home's (module docstring)."""
    must_operate_home(person, "move the warehouse")
    started = time.perf_counter()
    files = platform.lake.files
    if not isinstance(files, S3Files):
        raise InvalidInput(
            "this home's warehouse is a local folder: move the folder and point THRESHOLD_WAREHOUSE at it "
            "(docs/operations.md); move-warehouse moves a warehouse on an object store"
        )
    new = {"bucket": files.settings.bucket if bucket is None else bucket}
    new["prefix"] = files.settings.prefix if prefix is None else prefix
    storage = StorageSettings.model_validate(files.settings.model_dump() | new)
    target = S3Files(files.root, storage)
    if target.base == files.base:
        raise InvalidInput(f"the warehouse is at {files.describe()} already; name another bucket or prefix")
    if target.base.startswith(f"{files.base}/") or files.base.startswith(f"{target.base}/"):
        raise InvalidInput(f"{target.describe()} and {files.describe()} overlap; name a prefix outside the warehouse")
    if target.read_small(target.root / home.STAMP) is not None or target.holds_anything():
        raise InvalidInput(f"{target.describe()} already holds a warehouse; move into an empty bucket or prefix")
    me = home.identity(platform.store)
    copied: list[str] = []
    size = 0
    with locks.deletions(platform, exclusive=True):  # nothing is removed from the source while it is copied
        try:
            for path in files.listing(files.root):
                if path.name == home.STAMP and path.parent == files.root:
                    continue
                held = files.stat(path, stored=True)
                if held is None:
                    continue  # a copy only this machine's cache holds: not part of the warehouse
                dest = target.key(path)
                try:
                    files.fs.copy_file(files.key(path), dest)
                except OSError as e:
                    raise files.failed(f"copy {path.relative_to(files.root)} to {target.describe()}", e) from e
                copied.append(dest)
                there = target.stat(path, stored=True)
                if there is None or there[0] != held[0]:
                    raise ThresholdError(
                        f"the copy of {path.relative_to(files.root)} in {target.describe()} is not whole; "
                        "nothing was moved"
                    )
                size += held[0]
            home.write_stamp(target, me.id, home.store_locator(platform.settings))
            home.record_claim(platform.store, me.id, target)
        except BaseException:
            for key in copied:  # the target was empty: everything in it is this attempt's
                try:
                    target.fs.delete_file(key)
                except OSError:
                    pass
            try:
                target.fs.delete_file(target.key(target.root / home.STAMP))
            except OSError:
                pass
            raise
    return MoveResult(files.describe(), target.describe(), len(copied), size, round(time.perf_counter() - started, 3))
