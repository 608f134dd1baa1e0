"""The collection register and retention from Python, on an embedded home (`LocalCompliance`) or a server
(`RemoteCompliance`).

c = threshold.connect()
c.share("customers.csv", domain="sales", collection={"legal_basis": "consent", "retention": "2y",
        "retention_column": "signed_up", "subjects": ["customers"], "controller": "dpo@example.com",
        "source_system": "SAP"})
c.register_entry("sales.customers")
c.set_register_entry("sales.customers", retention="18m")
c.register_history("sales.customers")
c.export_register("json")                           # the data protection officer's register
c.run_retention(dry_run=True)                       # the governance group
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote


class LocalCompliance:
    """The compliance services run in-process as the client's user."""

    platform: Any
    user: Any

    def register(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries you may know (`legal_basis_filter=`, `domain=`, `missing_only=True`)."""
        from threshold.compliance.register import register

        return [r.to_json() for r in register(self.platform, self.user, **filters)]

    def register_entry(self, dataset: str) -> dict[str, Any]:
        from threshold.compliance.register import show

        return show(self.platform, self.user, dataset).to_json()

    def set_register_entry(self, dataset: str, **fields: Any) -> dict[str, Any]:
        from threshold.compliance.register import set_record

        return set_record(self.platform, self.user, dataset, **fields).to_json()

    def register_history(self, dataset: str) -> list[dict[str, Any]]:
        from threshold.compliance.register import history

        return [asdict(c) | {"at": c.at.isoformat()} for c in history(self.platform, self.user, dataset)]

    def export_register(self, fmt: str = "csv") -> str:
        from threshold.compliance.register import export

        return export(self.platform, self.user, fmt)

    def run_retention(self, *, dataset: str | None = None, dry_run: bool = False) -> list[dict[str, Any]]:
        from threshold.compliance.retention import run

        outcomes = run(self.platform, self.user, dataset=dataset, dry_run=dry_run)
        return [asdict(o) | {"cutoff": o.cutoff.isoformat()} for o in outcomes]


class RemoteCompliance:
    """The same calls over the REST API (`/api/v1/compliance`)."""

    _http: Any
    _check: Any

    def _compliance(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._check(self._http.request(method, "/compliance" + path, **kwargs))

    def register(self, **filters: Any) -> list[dict[str, Any]]:
        params = {
            "legal_basis": filters.get("legal_basis_filter") or "",
            "domain": filters.get("domain") or "",
            "missing": bool(filters.get("missing_only")),
        }
        return list(self._compliance("GET", "/register", params=params).json())

    def register_entry(self, dataset: str) -> dict[str, Any]:
        return dict(self._compliance("GET", "/register/" + quote(dataset, safe="")).json())

    def set_register_entry(self, dataset: str, **fields: Any) -> dict[str, Any]:
        return dict(self._compliance("PUT", "/register/" + quote(dataset, safe=""), json=fields).json())

    def register_history(self, dataset: str) -> list[dict[str, Any]]:
        return list(self._compliance("GET", f"/register/{quote(dataset, safe='')}/history").json())

    def export_register(self, fmt: str = "csv") -> str:
        if fmt == "json":
            import json

            return json.dumps(self.register(), indent=2)
        return str(self._compliance("GET", "/register.csv").text)

    def run_retention(self, *, dataset: str | None = None, dry_run: bool = False) -> list[dict[str, Any]]:
        return list(self._compliance("POST", "/retention/run", json={"dataset": dataset, "dry_run": dry_run}).json())
