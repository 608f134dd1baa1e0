"""A home's identity: one id, stamped in the metadata store and in the warehouse.

A home refuses to write into a warehouse that is not its own. The store's `home_identity` row and
the warehouse's `.threshold-home` file (an object in the bucket when the warehouse is on an object
store, so two homes configured with the same bucket and prefix are told apart) carry the same id; the
stamp also names the store that last claimed the warehouse, so a copy of the store pointed at the
original's warehouse is told apart from a home that was moved (the first is refused, the second claims
the warehouse and carries on).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from threshold.errors import Conflict, ThresholdError
from threshold.settings import Settings
from threshold.storage import S3Files, WarehouseFiles, open_files
from threshold.store.db import Store
from threshold.store.models import HomeIdentity

STAMP = ".threshold-home"
"""The file at the warehouse root that says which home the warehouse belongs to."""


class ForeignWarehouse(Conflict):
    """The warehouse belongs to another home (or is claimed by another copy of this home's store)."""


@dataclass(frozen=True)
class Identity:
    id: str
    created_at: datetime
    restored_from: str | None
    warehouse: str | None


def store_locator(settings: Settings) -> str:
    """Names the metadata store without its credentials: a SQLite file's path, or `postgresql://host:port/db`."""
    url = make_url(settings.db_url)
    if settings.is_sqlite:
        return str(Path(url.database or "").resolve())
    return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"


def identity(store: Store) -> Identity:
    try:
        with store.reader() as s:
            row = s.scalars(select(HomeIdentity).limit(1)).first()
    except (OperationalError, ProgrammingError) as e:
        raise ThresholdError(
            "this home's metadata store has no home identity yet (it predates relocatable homes); "
            "run `threshold init` to upgrade it"
        ) from e
    if row is None:
        raise ThresholdError("this home's metadata store has lost its home identity; run `threshold init`")
    return Identity(row.id, row.created_at, row.restored_from, row.warehouse)


def read_stamp(files: WarehouseFiles) -> dict[str, Any] | None:
    """The stamp of the warehouse `files` reach (in the store itself, not this machine's cache)."""
    where = f"{files.describe()}/{STAMP}"
    try:
        body = files.read_small(files.root / STAMP)
        if body is None:
            return None
        data = json.loads(body)
    except (OSError, ValueError) as e:
        raise ForeignWarehouse(f"the home stamp {where} cannot be read ({e}); restore it from a backup") from e
    if not isinstance(data, dict) or not isinstance(data.get("home_id"), str):
        raise ForeignWarehouse(f"the home stamp {where} is not a Threshold home stamp")
    return data


def write_stamp(files: WarehouseFiles, home_id: str, store: str) -> None:
    """Write the stamp atomically (a crash leaves the old stamp or the new one, never half of one)."""
    body = {"home_id": home_id, "store": store, "claimed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    files.write_small(files.root / STAMP, (json.dumps(body, indent=2) + "\n").encode())


def record_claim(store: Store, home_id: str, files: WarehouseFiles) -> None:
    """Record in the store that `files` is this home's warehouse now."""
    with store.session() as s:
        s.execute(
            update(HomeIdentity)
            .where(HomeIdentity.id == home_id)
            .values(warehouse=files.uri, claimed_at=datetime.now(UTC))
        )


def claim(settings: Settings, store: Store) -> Identity:
    """Make the warehouse this home's own (`threshold init`): stamp an unstamped one, take over one this
    home's store claimed from elsewhere (a move). Never takes the warehouse of another home."""
    me = identity(store)
    files = open_files(settings)
    stamp = read_stamp(files)
    if stamp is not None and stamp["home_id"] != me.id:
        raise _foreign(files, stamp, me)
    write_stamp(files, me.id, store_locator(settings))
    record_claim(store, me.id, files)
    return identity(store)


def verify(settings: Settings, store: Store, *, write: bool) -> None:
    """Refuse a warehouse that is not this home's. Reading needs the ids to match; writing also needs this
    store to be the one that claimed it (claiming it on the way when the home was moved or copied whole)."""
    me = identity(store)
    files = open_files(settings)
    warehouse = files.describe()
    stamp = read_stamp(files)
    here = store_locator(settings)
    if stamp is None and files.remote:
        stamp = _stamp_left_in_cache(files, me)
    if stamp is None:
        if files.holds_anything():
            raise ForeignWarehouse(
                f"the warehouse at {warehouse} holds files but no home stamp ({STAMP}); if it is this home's "
                "warehouse, run `threshold init` to claim it"
            )
        if write:
            write_stamp(files, me.id, here)
            record_claim(store, me.id, files)
        return
    if stamp["home_id"] != me.id:
        raise _foreign(files, stamp, me)
    if not write or (stamp.get("store") == here and me.warehouse == files.uri):
        return
    other = str(stamp.get("store") or "")
    if other != here and _other_store_uses(other, me.id, files.uri):
        raise ForeignWarehouse(
            f"the warehouse at {warehouse} is the warehouse of the metadata store {other}, of which this "
            f"store ({here}) is a copy; a copy needs its own warehouse: copy the warehouse too, or use "
            "`threshold backup` and `threshold restore`"
        )
    if (
        other == here
        and me.warehouse
        and me.warehouse != files.uri
        and _still_claimed(me.warehouse, me.id, here, settings)
    ):
        raise ForeignWarehouse(
            f"this home's metadata store writes to the warehouse at {_shown(me.warehouse)}, which still exists; "
            f"a store has one warehouse: if {warehouse} is its new place, run `threshold init` to claim it"
        )
    write_stamp(files, me.id, here)
    record_claim(store, me.id, files)


def _stamp_left_in_cache(files: WarehouseFiles, me: Identity) -> dict[str, Any] | None:
    """A home on an object store from before the stamp moved into the bucket kept it in this machine's cache
    folder: when it is this home's, it goes into the bucket (once; then the bucket's is the one read)."""
    try:
        stamp = read_stamp(WarehouseFiles(files.root))
    except ForeignWarehouse:
        return None
    if stamp is None or stamp["home_id"] != me.id:
        return None
    write_stamp(files, me.id, str(stamp.get("store") or ""))
    return read_stamp(files)


def _shown(uri: str) -> str:
    return str(_path_of(uri)) if uri.startswith("file:") else uri


def _path_of(uri: str) -> Path:
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))


def _still_claimed(uri: str, home_id: str, locator: str, settings: Settings) -> bool:
    """Whether the warehouse at `uri` still carries this home's stamp, claimed by this very store (a
    bucket and prefix are asked with this home's endpoint and keys)."""
    if uri.startswith("file:"):
        files = WarehouseFiles(_path_of(uri))
    elif uri.startswith("s3://") and settings.storage.kind == "s3":
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        files = S3Files(
            settings.warehouse_dir, settings.storage.model_copy(update={"bucket": bucket, "prefix": prefix})
        )
    else:
        return False
    try:
        stamp = read_stamp(files)
    except ThresholdError:
        return False  # gone, or unreachable: it cannot be written to either
    return stamp is not None and stamp.get("home_id") == home_id and stamp.get("store") == locator


def _other_store_uses(locator: str, home_id: str, warehouse: str) -> bool:
    """Whether the store `locator` (last to claim this warehouse) still exists and still uses it."""
    if not locator.startswith("/"):
        # Another PostgreSQL database (or host): it cannot be asked from here, so only an operator can say
        # it is gone. `threshold init` claims the warehouse.
        return True
    path = Path(locator)
    if not path.is_file():
        return False  # the home was moved: its old store is gone
    try:
        # immutable=1: read without locks or journals, so the other home's files are not touched at all.
        con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            row = con.execute("SELECT id, warehouse FROM home_identity LIMIT 1").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return bool(row) and row[0] == home_id and row[1] == warehouse


def _foreign(files: WarehouseFiles, stamp: dict[str, Any], me: Identity) -> ForeignWarehouse:
    setting = "THRESHOLD_STORAGE__BUCKET or THRESHOLD_STORAGE__PREFIX" if files.remote else "THRESHOLD_WAREHOUSE"
    return ForeignWarehouse(
        f"the warehouse at {files.describe()} belongs to another Threshold home ({stamp['home_id']}, store "
        f"{stamp.get('store') or 'unknown'}), not to this one ({me.id}); point {setting} at this "
        "home's own warehouse"
    )
