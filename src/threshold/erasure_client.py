"""Erasure and subject access from Python, on an embedded home (`LocalErasure`) or a server (`RemoteErasure`).

c = threshold.connect(user="greta")                     # the governance group
plan = c.plan_erasure(["personal.email=ada@example.org"])
cert = c.erase(["personal.email=ada@example.org"], reason="request 117", confirm=plan["token"])
c.erasure_certificate(cert["id"])                        # the certificate (JSON-ready dict)
c.subject_access(["personal.email=ada@example.org"])    # everything held about her
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class LocalErasure:
    """The erasure services run in-process as the client's user."""

    platform: Any
    user: Any

    def plan_erasure(self, subjects: list[str]) -> dict[str, Any]:
        """What erasing the subjects (`TAG=VALUE`) would remove; `token` confirms this plan."""
        from threshold.erasure.service import plan

        shown = plan(self.platform, self.user, subjects)
        return {
            "subjects": shown.subjects,
            "token": shown.token,
            "rows": shown.rows,
            "items": [asdict(i) for i in shown.items],
        }

    def erase(self, subjects: list[str], *, reason: str, confirm: str) -> dict[str, Any]:
        """Erase as planned (`confirm`: the plan's token) and return the certificate."""
        from threshold.erasure.service import erase

        return erase(self.platform, self.user, subjects, reason=reason, confirm=confirm).as_dict()

    def erasure_certificates(self) -> list[dict[str, Any]]:
        from threshold.erasure.service import certificates

        return [c.as_dict() for c in certificates(self.platform, self.user)]

    def erasure_certificate(self, cert_id: int) -> dict[str, Any]:
        from threshold.erasure.service import certificate

        return certificate(self.platform, self.user, cert_id).as_dict()

    def subject_access(self, subjects: list[str], *, format: str = "json") -> Any:
        """The subject access report: a dict, or with `format="csv"` its CSV text."""
        from threshold.erasure.subject_access import report

        found = report(self.platform, self.user, subjects)
        return found.as_csv() if format == "csv" else asdict(found)


class RemoteErasure:
    """The same calls over the REST API (`/api/v1/erasure`, `/api/v1/subject-access`)."""

    _http: Any
    _check: Any

    def plan_erasure(self, subjects: list[str]) -> dict[str, Any]:
        return dict(self._check(self._http.post("/erasure/plan", json={"subjects": subjects})).json())

    def erase(self, subjects: list[str], *, reason: str, confirm: str) -> dict[str, Any]:
        body = {"subjects": subjects, "reason": reason, "confirm": confirm}
        return dict(self._check(self._http.post("/erasure", json=body)).json())

    def erasure_certificates(self) -> list[dict[str, Any]]:
        return list(self._check(self._http.get("/erasure/certificates")).json())

    def erasure_certificate(self, cert_id: int) -> dict[str, Any]:
        return dict(self._check(self._http.get(f"/erasure/certificates/{int(cert_id)}")).json())

    def subject_access(self, subjects: list[str], *, format: str = "json") -> Any:
        r = self._check(self._http.post("/subject-access", json={"subjects": subjects, "format": format}))
        return r.text if format == "csv" else dict(r.json())
