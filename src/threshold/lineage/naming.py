"""How the nodes of the graph are named, inside Threshold and in OpenLineage events.

- Lake datasets: node namespace `threshold`, name `domain.dataset`. In OpenLineage events Threshold
  writes the namespace `threshold://<db-host>/<db-name>` (`threshold://local` on the embedded SQLite
  store), and it reads ANY `threshold://...` (or bare `threshold`) namespace with a name
  `domain.dataset` that exists as one of its own datasets. An engine that names an Iceberg table by
  its folder (namespace `file`, name = a path under the warehouse) is recognised too.
- Shared files: namespace `file://<domain>`, name = the file's name.
- Source systems: namespace `source`, name = the system's name.
- Database tables synced from a source system: namespace `source://<system>`, name = the table (or query).
- Threshold's own jobs: namespace `threshold`, name `derive.<domain>.<dataset>` or
  `share.<domain>.<dataset>`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from threshold.platform import Platform

LAKE = "threshold"
SOURCE = "source"


def lake_namespace(platform: Platform) -> str:
    """The namespace Threshold writes in the OpenLineage events it emits for its lake datasets."""
    url = platform.settings.db_url
    if platform.settings.is_sqlite:
        return "threshold://local"
    parts = urlsplit(url)
    host = parts.hostname or "local"
    port = f":{parts.port}" if parts.port else ""
    return f"threshold://{host}{port}{parts.path or ''}"


def is_lake_namespace(namespace: str) -> bool:
    return namespace == LAKE or namespace.startswith("threshold://")


def file_namespace(domain: str) -> str:
    return f"file://{domain}"


def table_namespace(system: str) -> str:
    return f"{SOURCE}://{system}"


def derive_job(full_name: str) -> str:
    return f"derive.{full_name}"


def share_job(full_name: str) -> str:
    return f"share.{full_name}"


def dataset_from_location(platform: Platform, namespace: str, name: str) -> str | None:
    """`domain.dataset` when (namespace, name) is the location of a lake table, e.g. a Spark job that
    read `/srv/threshold/warehouse/sales/orders` (namespace `file`, or `file:///srv/...`)."""
    if not namespace.startswith("file"):
        return None
    location = name.removeprefix("file://")
    if not location.startswith("/"):
        return None
    try:
        parts = Path(location).resolve().relative_to(platform.settings.warehouse_dir).parts
    except (ValueError, OSError):
        return None
    if len(parts) < 2:
        return None
    return f"{parts[0]}.{parts[1]}".lower()
