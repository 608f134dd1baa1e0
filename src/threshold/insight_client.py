"""Insights and boards from Python, on an embedded home (`LocalInsights`) or a server (`RemoteInsights`).

c = threshold.connect()
spec = {"dataset": "manufacturing.plant_kpis", "group_by": ["plant"],
        "aggregates": [{"fn": "sum", "column": "energy_kwh"}]}
c.explore(spec)                                # the SQL it made, the formatted rows, the chart
i = c.save_insight("Energy per plant", explore=spec)
c.insight(i["id"], {"plant": "Lyon"})["result"]["rows"]
c.export_insight(i["id"], "pptx", "energy.pptx")
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any


def _write(content: bytes, path: str | Path | None) -> bytes:
    if path is not None:
        Path(path).write_bytes(content)
    return content


class LocalInsights:
    """The insight services run in-process as the client's user."""

    platform: Any
    user: Any

    def explore(
        self,
        spec: dict[str, Any] | None = None,
        *,
        sql: str | None = None,
        parameters: list[dict[str, Any]] | None = None,
        values: dict[str, Any] | None = None,
        purpose: str | None = None,
        chart: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run clicks (a spec) or SQL through the gateway as you: the SQL, the formatted rows, the chart."""
        from threshold.insights.exploration import run
        from threshold.insights.explore import ExploreSpec
        from threshold.insights.parameters import parse_parameters

        result = run(self.platform, self.user, spec=ExploreSpec.from_dict(spec) if spec else None, sql=sql,
                     parameters=parse_parameters(parameters), values=values, purpose=purpose, chart=chart)  # fmt: skip
        return asdict(result)

    def save_insight(self, title: str, **fields: Any) -> dict[str, Any]:
        """Save a question (`explore=` a spec or `sql=`) with narrative, parameters, chart, audience, schedule."""
        from threshold.insights.service import save

        return asdict(save(self.platform, self.user, title=title, **fields))

    def insights(self, search: str | None = None, *, dataset: str | None = None) -> list[dict[str, Any]]:
        from threshold.insights.service import listing

        return [
            asdict(c) for c in listing(self.platform, self.user, search=search, dataset=dataset, per_page=1000).items
        ]

    def insight(self, ref: int, values: dict[str, Any] | None = None, *, version: int | None = None) -> dict[str, Any]:
        """The insight and its result as you may see it (masks and filters are yours)."""
        from threshold.insights.service import page

        return asdict(page(self.platform, self.user, ref, values=values, version=version))

    def run_insight(self, ref: int, values: dict[str, Any] | None = None) -> dict[str, Any]:
        from threshold.insights.runs import rerun

        return asdict(rerun(self.platform, self.user, ref, values))

    def fork_insight(self, ref: int, title: str | None = None) -> dict[str, Any]:
        from threshold.insights.service import fork

        return asdict(fork(self.platform, self.user, ref, title=title))

    def schedule_insight(self, ref: int, schedule: str | None) -> dict[str, Any]:
        from threshold.insights.service import set_schedule

        return asdict(set_schedule(self.platform, self.user, ref, schedule))

    def comment_insight(self, ref: int, body: str) -> dict[str, Any]:
        from threshold.insights.service import comment

        return asdict(comment(self.platform, self.user, ref, body))

    def export_insight(
        self, ref: int, fmt: str, path: str | Path | None = None, values: dict[str, Any] | None = None
    ) -> bytes:
        """pptx, xlsx, pdf, png or svg (written to `path` when given)."""
        from threshold.insights.exports import export_insight

        return _write(export_insight(self.platform, self.user, ref, fmt, values=values).content, path)

    def boards(self) -> list[dict[str, Any]]:
        from threshold.insights.boards import listing

        return [asdict(b) for b in listing(self.platform, self.user)]

    def board(self, ref: int, value: Any = None) -> dict[str, Any]:
        from threshold.insights.boards import show

        return asdict(show(self.platform, self.user, ref, value=value))

    def save_board(self, title: str, **fields: Any) -> dict[str, Any]:
        """A board: `insights=[ids]`, `parameter={"name": "plant", ...}`, `domain`, `topic`, `description`."""
        from threshold.insights.boards import create

        return asdict(create(self.platform, self.user, title=title, **fields))

    def export_board(self, ref: int, fmt: str, path: str | Path | None = None, value: Any = None) -> bytes:
        from threshold.insights.exports import export_board

        return _write(export_board(self.platform, self.user, ref, fmt, value=value).content, path)


class RemoteInsights:
    """The same calls over the REST API (`/api/v1/explore`, `/insights`, `/boards`)."""

    _http: Any
    _check: Any
    """The client's own: the response, or its one-line error raised."""

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._check(self._http.request(method, path, **kwargs)).json()

    def explore(
        self,
        spec: dict[str, Any] | None = None,
        *,
        sql: str | None = None,
        parameters: list[dict[str, Any]] | None = None,
        values: dict[str, Any] | None = None,
        purpose: str | None = None,
        chart: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {"spec": spec, "sql": sql, "parameters": parameters, "values": values, "purpose": purpose,
                "chart": chart}  # fmt: skip
        return dict(self._json("POST", "/explore", json=body))

    def save_insight(self, title: str, **fields: Any) -> dict[str, Any]:
        return dict(self._json("POST", "/insights", json={"title": title, **fields}))

    def insights(self, search: str | None = None, *, dataset: str | None = None) -> list[dict[str, Any]]:
        params = {"q": search or "", "dataset": dataset or "", "per_page": 1000}
        return list(self._json("GET", "/insights", params=params)["items"])

    def insight(self, ref: int, values: dict[str, Any] | None = None, *, version: int | None = None) -> dict[str, Any]:
        params = {f"p.{k}": _param(v) for k, v in (values or {}).items()} | ({"version": version} if version else {})
        return dict(self._json("GET", f"/insights/{int(ref)}", params=params))

    def run_insight(self, ref: int, values: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(self._json("POST", f"/insights/{int(ref)}/run", json={"values": values}))

    def fork_insight(self, ref: int, title: str | None = None) -> dict[str, Any]:
        return dict(self._json("POST", f"/insights/{int(ref)}/fork", json={"title": title}))

    def schedule_insight(self, ref: int, schedule: str | None) -> dict[str, Any]:
        return dict(self._json("PUT", f"/insights/{int(ref)}/schedule", json={"schedule": schedule}))

    def comment_insight(self, ref: int, body: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/insights/{int(ref)}/comments", json={"body": body}))

    def export_insight(
        self, ref: int, fmt: str, path: str | Path | None = None, values: dict[str, Any] | None = None
    ) -> bytes:
        params = {f"p.{k}": _param(v) for k, v in (values or {}).items()}
        r = self._check(self._http.get(f"/insights/{int(ref)}/export/{fmt}", params=params))
        return _write(r.content, path)

    def boards(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/boards"))

    def board(self, ref: int, value: Any = None) -> dict[str, Any]:
        params = {"value": _param(value)} if value not in (None, "") else {}
        return dict(self._json("GET", f"/boards/{int(ref)}", params=params))

    def save_board(self, title: str, **fields: Any) -> dict[str, Any]:
        return dict(self._json("POST", "/boards", json={"title": title, **fields}))

    def export_board(self, ref: int, fmt: str, path: str | Path | None = None, value: Any = None) -> bytes:
        params = {"value": _param(value)} if value not in (None, "") else {}
        return _write(self._check(self._http.get(f"/boards/{int(ref)}/export/{fmt}", params=params)).content, path)


def _param(value: Any) -> str:
    """A value as the query string carries it (a date range as from..to)."""
    if isinstance(value, (list, tuple)):
        return "..".join(str(v) for v in value)
    return str(value)
