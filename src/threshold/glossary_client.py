"""The glossary from Python, on an embedded home (`LocalGlossary`) or a server (`RemoteGlossary`).

c = threshold.connect()
c.propose_term("Scrap rate", definition="Share of units discarded.", domain="manufacturing",
               synonyms=["Ausschussquote"])
c.review_term("scrap rate", approve=True)          # as an owner of manufacturing, not its author
c.link_term("scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
c.terms(status="in_review")                        # the review queue you may act on
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote


class LocalGlossary:
    """The glossary services run in-process as the client's user."""

    platform: Any
    user: Any

    def terms(self, search: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Terms you may see; `domain=`, `status=` (approved, in_review, draft), `dataset=`."""
        from threshold.glossary.service import listing

        return [asdict(t) for t in listing(self.platform, self.user, search=search, **filters).terms]

    def term(self, name: str) -> dict[str, Any]:
        from threshold.glossary.service import show

        return asdict(show(self.platform, self.user, name))

    def propose_term(self, name: str, *, definition: str, **fields: Any) -> dict[str, Any]:
        """A new term or an edit (`domain=`, `synonyms=`, `note=`, `submit=False` for a draft)."""
        from threshold.glossary.service import propose

        return asdict(propose(self.platform, self.user, name, definition=definition, **fields))

    def review_term(self, name: str, *, approve: bool, note: str = "") -> dict[str, Any]:
        from threshold.glossary.service import review

        return asdict(review(self.platform, self.user, name, approve=approve, note=note))

    def link_term(self, name: str, target: str) -> dict[str, Any]:
        """`target`: `dataset:domain.name`, `column:domain.name.column` or `insight:ID`."""
        from threshold.glossary.service import link

        return asdict(link(self.platform, self.user, name, target))

    def export_glossary(self) -> str:
        from threshold.glossary.transfer import export_csv

        return export_csv(self.platform, self.user)

    def import_glossary(self, csv_text: str, *, submit: bool = True) -> dict[str, Any]:
        from threshold.glossary.transfer import import_csv

        return asdict(import_csv(self.platform, self.user, csv_text, submit=submit))


class RemoteGlossary:
    """The same calls over the REST API (`/api/v1/glossary`)."""

    _http: Any
    _check: Any

    def _glossary(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._check(self._http.request(method, "/glossary" + path, **kwargs))

    def terms(self, search: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        params = {"q": search or "", **{k: v for k, v in filters.items() if v is not None}, "limit": 1000}
        return list(self._glossary("GET", "", params=params).json()["terms"])

    def term(self, name: str) -> dict[str, Any]:
        return dict(self._glossary("GET", "/" + quote(name, safe="")).json())

    def propose_term(self, name: str, *, definition: str, **fields: Any) -> dict[str, Any]:
        return dict(self._glossary("POST", "", json={"term": name, "definition": definition, **fields}).json())

    def review_term(self, name: str, *, approve: bool, note: str = "") -> dict[str, Any]:
        body = {"approve": approve, "note": note}
        return dict(self._glossary("POST", f"/{quote(name, safe='')}/review", json=body).json())

    def link_term(self, name: str, target: str) -> dict[str, Any]:
        return dict(self._glossary("POST", f"/{quote(name, safe='')}/links", json={"target": target}).json())

    def export_glossary(self) -> str:
        return str(self._check(self._http.get("/glossary.csv")).text)

    def import_glossary(self, csv_text: str, *, submit: bool = True) -> dict[str, Any]:
        return dict(self._glossary("POST", "/import", json={"csv": csv_text, "submit": submit}).json())
