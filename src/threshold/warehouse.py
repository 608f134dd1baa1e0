"""Where the lake's files live, named so that a home can be moved, copied and restored.

Every location Threshold stores — the catalog's metadata pointer, the table location inside Iceberg
metadata, manifest lists, manifests and the data file paths inside them — is written relative to
the warehouse root as `warehouse://<domain>/<name>/...`. Only this module turns such a location
into a real one, against the warehouse of the home that is open: a home copied with `cp -a` or
restored to another path reads and writes its own files, and can never reach the original's.

pyiceberg loads `WarehouseFileIO` through the catalog property `py-io-impl`; it resolves relative
locations and refuses to write or delete anything outside the warehouse (tables created before
homes were relocatable hold absolute `file://` paths: inside the warehouse they keep working).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from threshold.errors import Conflict

SCHEME = "warehouse"
PREFIX = f"{SCHEME}://"
ROOT_PROPERTY = "threshold.warehouse-root"
"""Catalog property holding the absolute URI of the open home's warehouse (e.g. `file:///srv/home/warehouse`,
or `s3://bucket/prefix` when the warehouse is on an object store, `threshold.storage`)."""


def relative(path: str) -> str:
    """The stored form of a path relative to the warehouse root: `warehouse://sales/orders/data/x.parquet`."""
    return PREFIX + path.strip("/")


def is_relative(location: str) -> bool:
    return location.startswith(PREFIX)


def resolve(location: str, root: str) -> str:
    """The real URI of a stored location, against the warehouse root URI `root`."""
    if is_relative(location):
        return root.rstrip("/") + "/" + location[len(PREFIX) :]
    return location


def local_path(location: str, root: Path) -> Path:
    """The file a stored location names on this machine (relative, `file://` or a plain path)."""
    if is_relative(location):
        return root / unquote(location[len(PREFIX) :])
    if location.startswith("file:"):
        return Path(unquote(urlparse(location).path))
    return Path(location)


def relative_to_root(location: str, root: Path) -> str | None:
    """The path of `location` inside the warehouse (`sales/orders/data/x.parquet`), or None when outside."""
    if is_relative(location):
        return location[len(PREFIX) :]
    try:
        return str(local_path(location, root).resolve().relative_to(root))
    except (ValueError, OSError):
        return None


class OutsideWarehouse(Conflict):
    """A location that is not in the open home's warehouse: most often a table created before homes were
    relocatable, in a home that was since copied or moved."""


def _file_io_class() -> type[Any]:
    """`WarehouseFileIO`, defined on first use: pyiceberg (and the pyarrow.dataset and pandas it pulls in) is
    imported only when a table is opened, not by every command that imports this module."""
    from pyiceberg.io import InputFile, OutputFile
    from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO
    from pyiceberg.typedef import EMPTY_DICT, Properties

    class WarehouseFileIO(PyArrowFileIO):
        """pyiceberg's Arrow FileIO, with `warehouse://` locations resolved against the open home's warehouse
        and writes outside it refused."""

        def __init__(self, properties: Properties = EMPTY_DICT) -> None:
            if ROOT_PROPERTY not in properties:
                raise ValueError(f"WarehouseFileIO needs the catalog property {ROOT_PROPERTY}")
            super().__init__(properties)

        @staticmethod
        def parse_location(location: str, properties: Properties = EMPTY_DICT) -> tuple[str, str, str]:
            root = str(properties.get(ROOT_PROPERTY, ""))
            if is_relative(location):
                if not root:
                    raise ValueError(f"cannot resolve {location} without {ROOT_PROPERTY}")
                location = resolve(location, root)
            return PyArrowFileIO.parse_location(location, properties)

        def _check_inside(self, location: str, doing: str) -> None:
            if is_relative(location):
                if "/../" in f"/{location[len(PREFIX) :]}/":
                    raise OutsideWarehouse(f"refusing to {doing} {location}: it climbs out of the warehouse")
                return
            root = str(self.properties[ROOT_PROPERTY]).rstrip("/") + "/"
            scheme, netloc, path = PyArrowFileIO.parse_location(location, self.properties)
            _, root_netloc, root_path = PyArrowFileIO.parse_location(root, self.properties)
            inside = netloc == root_netloc and os.path.normpath(path).startswith(os.path.normpath(root_path) + os.sep)
            if not inside:
                raise OutsideWarehouse(
                    f"refusing to {doing} {location}: it is outside this home's warehouse {root_path} "
                    "(a table created before homes were relocatable, in a home that was moved or copied; "
                    "`threshold doctor --fix` makes its locations relative)"
                )

        def new_input(self, location: str) -> PyArrowFile:
            self._check_inside(location, "read")
            return super().new_input(location)

        def new_output(self, location: str) -> PyArrowFile:
            self._check_inside(location, "write")
            return super().new_output(location)

        def delete(self, location: str | InputFile | OutputFile) -> None:
            where = location.location if isinstance(location, (InputFile, OutputFile)) else location
            self._check_inside(where, "delete")
            super().delete(location)

    return WarehouseFileIO


def __getattr__(name: str) -> Any:  # pyiceberg loads `threshold.warehouse.WarehouseFileIO` by name
    if name == "WarehouseFileIO":
        cls = _file_io_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def catalog_properties(root: str, io: dict[str, str] | None = None) -> dict[str, Any]:
    """What the SQL catalog needs to write relative locations and resolve them in this warehouse, whose root
    URI is `root` (`file:///...` or `s3://bucket/prefix`); `io`: what the FileIO needs to reach it."""
    return {
        **(io or {}),
        "py-io-impl": f"{__name__}.WarehouseFileIO",
        ROOT_PROPERTY: root,
        "warehouse": PREFIX,
    }
