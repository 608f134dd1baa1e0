"""Databases as sources from Python, on an embedded home (`LocalConnectors`) or a server (`RemoteConnectors`).

c = threshold.connect()
c.add_source_connection("shop_db", "postgresql://reader@db.example.com/shop", password=os.environ["SHOP_PW"])
c.test_source("shop_db")                                  # its tables
c.set_up_sync("shop_db", "sales.orders", table="public.orders", mode="incremental",
              cursor="updated_at", keys=["id"], schedule="hourly")
c.sync("sales.orders")                                    # now: one snapshot, or nothing on failure
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote


class LocalConnectors:
    """The connectors' services run in-process as the client's user."""

    platform: Any
    user: Any

    def add_source_connection(
        self, name: str, url: str, *, password: str | None = None, owner: str | None = None, replace: bool = False
    ) -> dict[str, Any]:
        from threshold.connectors import service

        info = service.add(
            self.platform, name, url, owner=owner or self.user.name, user=self.user, password=password, replace=replace
        )
        return asdict(info)

    def source_connections(self) -> list[dict[str, Any]]:
        from threshold.connectors import service

        return [asdict(c) for c in service.listing(self.platform, user=self.user)]

    def test_source(self, name: str) -> dict[str, Any]:
        from threshold.connectors import service

        return asdict(service.test(self.platform, name, user=self.user))

    def set_up_sync(self, source: str, dataset: str, **options: Any) -> dict[str, Any]:
        from threshold.connectors import service

        return asdict(service.configure(self.platform, source, dataset=dataset, user=self.user, **options))

    def sync(self, dataset: str, *, full: bool = False) -> dict[str, Any]:
        from threshold.connectors import service

        return asdict(service.run(self.platform, dataset, user=self.user, full=full))


class RemoteConnectors:
    """The same calls over the REST API (`/api/v1/sources/...`, `/api/v1/syncs/...`)."""

    _http: Any
    _check: Any

    def add_source_connection(
        self, name: str, url: str, *, password: str | None = None, owner: str | None = None, replace: bool = False
    ) -> dict[str, Any]:
        body = {"url": url, "password": password, "owner": owner, "replace": replace}
        return self._check(self._http.put(f"/sources/{quote(name, safe='')}/connection", json=body))  # type: ignore[no-any-return]

    def source_connections(self) -> list[dict[str, Any]]:
        return self._check(self._http.get("/source-connections"))  # type: ignore[no-any-return]

    def test_source(self, name: str) -> dict[str, Any]:
        return self._check(self._http.post(f"/sources/{quote(name, safe='')}/test"))  # type: ignore[no-any-return]

    def set_up_sync(self, source: str, dataset: str, **options: Any) -> dict[str, Any]:
        body = {"dataset": dataset, **options}
        return self._check(self._http.put(f"/sources/{quote(source, safe='')}/syncs", json=body))  # type: ignore[no-any-return]

    def sync(self, dataset: str, *, full: bool = False) -> dict[str, Any]:
        return self._check(self._http.post(f"/syncs/{quote(dataset, safe='')}/run", json={"full": full}))  # type: ignore[no-any-return]
