"""The Python client: the same capabilities on an embedded home or against a remote server.

import threshold
c = threshold.connect()                       # ./.threshold (or THRESHOLD_HOME), as the admin
c = threshold.connect(url="http://host:8000", token="thr_...")
c.sql("SELECT * FROM sales.orders").to_pandas()
c.insight(12, {"plant": "Lyon"})               # insights and boards: insight_client.py
c.terms("scrap")                                 # the glossary: glossary_client.py
c.register_entry("sales.customers")              # the collection register: compliance_client.py
c.maturity("manufacturing")                      # the maturity model: maturity_client.py
c.sync("sales.orders")                           # databases as sources: connectors_client.py
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa

from threshold.compliance_client import LocalCompliance, RemoteCompliance
from threshold.connectors_client import LocalConnectors, RemoteConnectors
from threshold.erasure_client import LocalErasure, RemoteErasure
from threshold.errors import Busy, InvalidInput, ThresholdError
from threshold.glossary_client import LocalGlossary, RemoteGlossary
from threshold.insight_client import LocalInsights, RemoteInsights
from threshold.literacy_client import LocalLiteracy, RemoteLiteracy
from threshold.maturity_client import LocalMaturity, RemoteMaturity

NOTES = b"threshold.notes"
"""Schema metadata key of a result's notes (cut at a limit, masked columns...)."""


def with_notes(table: pa.Table, notes: list[str]) -> pa.Table:
    """The table with its notes in its schema metadata (`notes(table)` reads them back)."""
    if not notes:
        return table
    import json

    return table.replace_schema_metadata({**(table.schema.metadata or {}), NOTES: json.dumps(notes).encode()})


def notes(table: pa.Table) -> list[str]:
    """What Threshold said about a result: e.g. that it was cut at `limits.query_rows`, columns masked."""
    import json

    raw = (table.schema.metadata or {}).get(NOTES)
    return list(json.loads(raw)) if raw else []


class _Chunks(io.RawIOBase):
    """A file over an iterator of byte chunks (an HTTP body as it arrives), for Arrow's stream reader."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class Client(Protocol):
    """What every client offers, embedded or remote."""

    def sql(
        self,
        query: str,
        purpose: str | None = None,
        *,
        max_rows: int | None = None,
        timeout: float | None = None,
        engine: str | None = None,
    ) -> pa.Table: ...

    def share(
        self,
        source: Any = None,
        *,
        domain: str | None = None,
        name: str | None = None,
        mode: str | None = None,
        preview: bool = False,
        preview_id: str | None = None,
        **options: Any,
    ) -> Any: ...

    def preview_share(self, source: Any, *, domain: str | None = None, **options: Any) -> dict[str, Any]: ...

    def datasets(self, search: str | None = None) -> list[dict[str, Any]]: ...

    def dataset(self, name: str) -> dict[str, Any]: ...

    def usage(self, dataset: str | None = None) -> dict[str, Any]: ...

    def derive(self, name: str, sql: str, *, domain: str, schedule: str | None = None) -> dict[str, Any]: ...

    def lineage(self, dataset: str, column: str | None = None) -> dict[str, Any]: ...

    def doctor(self, *, fix: bool = False, deep: bool = False) -> dict[str, Any]: ...

    def repair(self, dataset: str, how: str | None = None) -> dict[str, Any]: ...

    def compact(self, dataset: str, *, target_mb: int | None = None) -> dict[str, Any]: ...

    def expire(
        self, dataset: str, *, older_than_days: float | None = None, dry_run: bool = False
    ) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalClient(
    LocalInsights, LocalGlossary, LocalErasure, LocalLiteracy, LocalCompliance, LocalMaturity, LocalConnectors
):
    """Runs the services in-process on an embedded home (or a configured database)."""

    def __init__(self, home: str | Path | None, user: str | None) -> None:
        from threshold.identity.service import ADMIN, get_person
        from threshold.platform import Platform

        self.platform = Platform.open(home)
        self.user = get_person(self.platform, user or ADMIN)

    def sql(
        self,
        query: str,
        purpose: str | None = None,
        *,
        max_rows: int | None = None,
        timeout: float | None = None,
        engine: str | None = None,
    ) -> pa.Table:
        """The result (within your allowance: `limits.query_rows`, `limits.query_seconds`...); notes on it,
        e.g. that it was cut at a limit, are in `notes(table)`. `engine="daft"` runs it on Daft (big queries,
        docs/deployment.md); None: the configuration decides."""
        from threshold.gateway.service import query as run

        result = run(
            self.platform,
            query,
            user=self.user,
            purpose=purpose,
            interface="python",
            max_rows=max_rows,
            timeout=timeout,
            engine=engine,
        )
        return with_notes(result.table, result.notes)

    def share(
        self,
        source: Any = None,
        *,
        domain: str | None = None,
        name: str | None = None,
        mode: str | None = None,
        preview: bool = False,
        preview_id: str | None = None,
        **options: Any,
    ) -> Any:
        """Share a file or frame; `preview=True` returns what would be stored instead (see `preview_share`);
        `preview_id=` publishes an upload previewed on the web, with `options` as corrections.

        Options: sheet, header_row, skip_rows, cell_range, keep_totals, columns ({"old": {"name", "type"}}),
        visibility, description, purpose, evolve, encoding, delimiter; collection ({"legal_basis": "consent",
        "retention": "2y", "retention_column": "day", "subjects": ["customers"], ...}: the collection register)."""
        if preview:
            return self.preview_share(source, domain=domain, name=name, mode=mode, **options)
        if preview_id is not None:
            from threshold.sharing.preview import publish

            changes = {"domain": domain, "name": name, "mode": mode} | options
            return [asdict(r) for r in publish(self.platform, self.user, preview_id, **changes)]
        from threshold.sharing.service import share

        if domain is None:
            raise InvalidInput("domain= is required: the domain the data belongs to")
        results = share(
            self.platform, source, domain=domain, user=self.user, name=name, mode=mode or "create", **options
        )
        return [asdict(r) for r in results]

    def preview_share(self, source: Any, *, domain: str | None = None, **options: Any) -> dict[str, Any]:
        """What sharing `source` with `options` would store (first rows, types, tags, rows left out); shares nothing."""
        from threshold.sharing.preview import ShareChoices, preview

        choices = ShareChoices(domain=domain).updated(**options)
        result = preview(self.platform, source, user=self.user, choices=choices)
        return asdict(result) | {"ready": result.ready}

    def datasets(self, search: str | None = None) -> list[dict[str, Any]]:
        from threshold.catalog.search import search as find

        out, page = [], 1
        while True:
            p = find(self.platform, search, page=page, per_page=1000, viewer=self.user)
            out.extend(p.results)
            if page * p.per_page >= p.total:
                return out
            page += 1

    def dataset(self, name: str) -> dict[str, Any]:
        """The dataset's record (as `/api/v1/datasets/{name}` sends it)."""
        from threshold.catalog.service import describe

        return describe(self.platform, name, viewer=self.user).to_json()

    def usage(self, dataset: str | None = None) -> dict[str, Any]:
        from threshold.usage import service

        if dataset:
            return service.dataset_usage(self.platform, dataset, viewer=self.user).to_json()
        return service.org_usage(self.platform, viewer=self.user).to_json()

    def derive(
        self, name: str, sql: str, *, domain: str, schedule: str | None = None, purpose: str | None = None,
        description: str = "", replace: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Store the result of `sql` as `domain.name` (run through the gateway as you), with its lineage."""
        from threshold.lineage.derive import derive

        return asdict(derive(self.platform, name, domain=domain, sql=sql, user=self.user, schedule_text=schedule,
                             purpose=purpose, description=description, replace=replace))  # fmt: skip

    def refresh(self, dataset: str) -> dict[str, Any]:
        """Run a derived dataset's SQL again (one new snapshot)."""
        from threshold.lineage.derive import refresh

        return asdict(refresh(self.platform, dataset, user=self.user))

    def lineage(
        self, dataset: str, column: str | None = None, *, direction: str = "both", depth: int = 5
    ) -> dict[str, Any]:
        """Upstream and/or downstream of a dataset or column, with owners and domains on every node."""
        from threshold.lineage.supply_chain import lineage

        return lineage(
            self.platform, dataset, column=column, direction=direction, depth=depth, viewer=self.user
        ).to_json()

    def impact(self, dataset: str, column: str, *, change: str = "drop") -> dict[str, Any]:
        """What breaks if `dataset.column` is dropped, renamed or retyped, and who must be told."""
        from threshold.lineage.impact import impact

        return impact(self.platform, dataset, column, change=change, viewer=self.user).to_json()

    def doctor(self, *, fix: bool = False, deep: bool = False) -> dict[str, Any]:
        """The home's health (admins); `fix` cleans up what dead writers left."""
        from threshold.operations.doctor import diagnose

        return diagnose(self.platform, self.user, fix=fix, deep=deep).as_dict()

    def repair(self, dataset: str, how: str | None = None) -> dict[str, Any]:
        """Without `how`: what lost data files cost the dataset. `how`: `rollback` or `drop-lost`."""
        from threshold.operations import repair

        if how is None:
            return repair.examine(self.platform, self.user, dataset).as_dict()
        return asdict(repair.repair(self.platform, self.user, dataset, how=how))

    def compact(self, dataset: str, *, target_mb: int | None = None) -> dict[str, Any]:
        """Merge the dataset's small files (same rows, one new snapshot)."""
        from threshold.operations.maintenance import compact

        return asdict(compact(self.platform, self.user, dataset, target_mb=target_mb))

    def expire(self, dataset: str, *, older_than_days: float | None = None, dry_run: bool = False) -> dict[str, Any]:
        """Expire snapshots past the time-travel promise, and the files only they read."""
        from threshold.operations.maintenance import expire

        return asdict(expire(self.platform, self.user, dataset, older_than_days=older_than_days, dry_run=dry_run))

    def backup(self, dest: str | Path, *, link: bool = False) -> dict[str, Any]:
        """Back up the home into the new folder `dest` (admins; embedded homes only)."""
        from threshold.operations.backup import backup

        return asdict(backup(self.platform, self.user, Path(dest), link=link))

    def close(self) -> None:
        self.platform.close()


class RemoteClient(
    RemoteInsights, RemoteGlossary, RemoteErasure, RemoteLiteracy, RemoteCompliance, RemoteMaturity, RemoteConnectors
):
    """Talks to a Threshold server's REST API with a personal API token."""

    def __init__(self, url: str, token: str | None) -> None:
        import httpx

        from threshold.credentials import stored_token
        from threshold.tls import client_context

        token = token or os.environ.get("THRESHOLD_TOKEN") or stored_token(url)
        if not token:
            raise InvalidInput(
                "a token is needed to reach a server: `threshold login`, connect(url=..., token=...) or THRESHOLD_TOKEN"
            )
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
            verify=client_context(),
        )

    def _check(self, r: Any) -> Any:
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            if r.status_code == 429:  # too busy, or too many failed sign-ins: say when to try again
                wait = int(r.headers.get("retry-after", "1") or 1)
                raise Busy(f"{detail}; try again in {wait} s", wait)
            raise ThresholdError(f"{r.status_code}: {detail}")
        return r

    def sql(
        self,
        query: str,
        purpose: str | None = None,
        *,
        max_rows: int | None = None,
        timeout: float | None = None,
        engine: str | None = None,
    ) -> pa.Table:
        """The result streamed as Arrow (never more than your allowance); notes are in `notes(table)`."""
        from threshold.interface.exports import read_arrow_tail

        body = {"sql": query, "purpose": purpose, "format": "arrow", "max_rows": max_rows, "timeout": timeout}
        if engine:
            body["engine"] = engine
        with self._http.stream("POST", "/query", json=body) as r:
            if r.status_code >= 400:
                r.read()
                self._check(r)
            reader = pa.ipc.open_stream(io.BufferedReader(_Chunks(r.iter_raw()), 1 << 20))
            batches, tail = read_arrow_tail(reader)
        if tail.get("error"):
            raise ThresholdError(str(tail["error"]))
        return with_notes(pa.Table.from_batches(batches, schema=reader.schema), list(tail.get("notes", [])))

    def share(
        self,
        source: Any = None,
        *,
        domain: str | None = None,
        name: str | None = None,
        mode: str | None = None,
        preview: bool = False,
        preview_id: str | None = None,
        **options: Any,
    ) -> Any:
        """As `LocalClient.share`; `preview=True` uploads the file and returns the proposal with its `preview_id`,
        which `share(preview_id=..., **corrections)` publishes."""
        if preview:
            return self.preview_share(source, domain=domain, name=name, mode=mode, **options)
        form = _form_fields({"domain": domain, "name": name, "mode": mode} | options)
        if preview_id is not None:
            r = self._check(self._http.post("/shares", data=form | {"preview_id": preview_id}))
            return list(r.json()["results"])
        filename, payload = self._payload(source, name)
        try:
            r = self._check(self._http.post("/shares", data=form, files={"file": (filename, payload)}))
        finally:
            payload.close()
        return list(r.json()["results"])

    def preview_share(self, source: Any, *, domain: str | None = None, **options: Any) -> dict[str, Any]:
        """Upload `source` for a preview; the answer holds `preview_id`, the proposal and `ready`."""
        form = _form_fields({"domain": domain} | options)
        filename, payload = self._payload(source, options.get("name"))
        try:
            r = self._check(self._http.post("/shares/preview", data=form, files={"file": (filename, payload)}))
        finally:
            payload.close()
        return dict(r.json())

    def cancel_preview(self, preview_id: str) -> None:
        self._check(self._http.delete(f"/shares/preview/{preview_id}"))

    def _payload(self, source: Any, name: str | None) -> tuple[str, IO[bytes]]:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            payload: IO[bytes] = path.open("rb")
            filename = path.name
        else:
            from threshold.sharing.sources import to_arrow

            data = to_arrow(source)
            table = data.read_all() if isinstance(data, pa.RecordBatchReader) else data
            sink = io.BytesIO()
            import pyarrow.parquet as pq

            pq.write_table(table, sink)
            filename, payload = f"{name or 'frame'}.parquet", io.BytesIO(sink.getvalue())
        return filename, payload

    def datasets(self, search: str | None = None) -> list[dict[str, Any]]:
        out, page = [], 1
        while True:
            r = self._check(self._http.get("/datasets", params={"q": search or "", "page": page, "per_page": 1000}))
            body = r.json()
            out.extend(body["results"])
            if page * body["per_page"] >= body["total"]:
                return out
            page += 1

    def dataset(self, name: str) -> dict[str, Any]:
        return dict(self._check(self._http.get(f"/datasets/{name}")).json())

    def usage(self, dataset: str | None = None) -> dict[str, Any]:
        path = f"/datasets/{dataset}/usage" if dataset else "/usage"
        return dict(self._check(self._http.get(path)).json())

    def derive(
        self, name: str, sql: str, *, domain: str, schedule: str | None = None, purpose: str | None = None,
        description: str = "", replace: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        body = {"name": name, "sql": sql, "domain": domain, "schedule": schedule, "purpose": purpose,
                "description": description, "replace": replace}  # fmt: skip
        return dict(self._check(self._http.post("/derive", json=body)).json())

    def refresh(self, dataset: str) -> dict[str, Any]:
        return dict(self._check(self._http.post(f"/datasets/{dataset}/refresh")).json())

    def lineage(
        self, dataset: str, column: str | None = None, *, direction: str = "both", depth: int = 5
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"direction": direction, "depth": depth} | ({"column": column} if column else {})
        return dict(self._check(self._http.get(f"/lineage/{dataset}", params=params)).json())

    def impact(self, dataset: str, column: str, *, change: str = "drop") -> dict[str, Any]:
        return dict(self._check(self._http.get(f"/impact/{dataset}/{column}", params={"change": change})).json())

    def doctor(self, *, fix: bool = False, deep: bool = False) -> dict[str, Any]:
        if fix:
            return dict(self._check(self._http.post("/admin/doctor/fix")).json())
        return dict(self._check(self._http.get("/admin/doctor", params={"deep": deep})).json())

    def repair(self, dataset: str, how: str | None = None) -> dict[str, Any]:
        if how is None:
            return dict(self._check(self._http.get(f"/datasets/{dataset}/damage")).json())
        return dict(self._check(self._http.post(f"/datasets/{dataset}/repair", json={"how": how})).json())

    def compact(self, dataset: str, *, target_mb: int | None = None) -> dict[str, Any]:
        return dict(self._check(self._http.post(f"/datasets/{dataset}/compact", json={"target_mb": target_mb})).json())

    def expire(self, dataset: str, *, older_than_days: float | None = None, dry_run: bool = False) -> dict[str, Any]:
        body = {"older_than_days": older_than_days, "dry_run": dry_run}
        return dict(self._check(self._http.post(f"/datasets/{dataset}/expire", json=body)).json())

    def close(self) -> None:
        self._http.close()


def _form_fields(options: dict[str, Any]) -> dict[str, str]:
    """Python options as the API's form fields (`cell_range` is the field `range`, `columns` is JSON)."""
    import json

    form: dict[str, str] = {}
    for key, value in options.items():
        if value is None:
            continue
        field = "range" if key == "cell_range" else key
        if key == "columns":
            form[field] = json.dumps({k: v if isinstance(v, dict) else asdict(v) for k, v in value.items()})
        elif key == "collection":
            form[field] = json.dumps(dict(value))
        elif isinstance(value, bool):
            form[field] = "true" if value else "false"
        else:
            form[field] = str(value)
    return form


def connect(
    home: str | Path | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    user: str | None = None,
) -> Client:
    """A client on an embedded home (default `THRESHOLD_HOME` or ./.threshold) or a server at `url`."""
    if url:
        return RemoteClient(url, token)
    return LocalClient(home, user)
