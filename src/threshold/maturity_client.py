"""The maturity model from Python, on an embedded home (`LocalMaturity`) or a server (`RemoteMaturity`).

c = threshold.connect()
c.maturity()                                   # every domain x dimension, newest snapshot, the trend
c.maturity("manufacturing")                    # scores with signals, next step, actions
c.maturity_snapshot()                          # governance: score every domain now
c.set_target_picture(open("target.yaml").read(), reason="year two")
c.propose_target("manufacturing", {"reuse": 4}, reason="others build on our KPIs")
c.assess("manufacturing", {"owners_known": 3})
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote


class LocalMaturity:
    """The maturity services run in-process as the client's user."""

    platform: Any
    user: Any

    def maturity(self, domain: str | None = None, *, against: str = "then") -> dict[str, Any]:
        from threshold.maturity import service

        if domain is None:
            return asdict(service.dashboard(self.platform, self.user, against=against))
        return asdict(service.standing(self.platform, self.user, domain, against=against))

    def maturity_snapshot(self) -> dict[str, Any]:
        from threshold.maturity.snapshots import take

        return asdict(take(self.platform, self.user))

    def maturity_history(self) -> list[dict[str, Any]]:
        from threshold.maturity.snapshots import history

        return [asdict(r) for r in history(self.platform, self.user)]

    def target_pictures(self) -> list[dict[str, Any]]:
        from threshold.maturity.target import history

        return [asdict(v) for v in history(self.platform, self.user)]

    def set_target_picture(self, document: str, *, reason: str) -> dict[str, Any]:
        from threshold.maturity.target import set_picture

        return asdict(set_picture(self.platform, self.user, document, reason=reason))

    def propose_target(self, domain: str, levels: dict[str, int], *, reason: str) -> dict[str, Any]:
        from threshold.maturity.target import propose

        return asdict(propose(self.platform, self.user, domain, levels, reason=reason))

    def decide_target(self, proposal: int, *, approve: bool, note: str = "") -> dict[str, Any]:
        from threshold.maturity.target import decide

        return asdict(decide(self.platform, self.user, proposal, approve=approve, note=note))

    def assess(self, domain: str, answers: dict[str, int], *, note: str = "") -> dict[str, Any]:
        from threshold.maturity.assessment import assess

        return asdict(assess(self.platform, self.user, domain, answers, note=note))


class RemoteMaturity:
    """The same calls over the REST API (`/api/v1/maturity`)."""

    _http: Any
    _check: Any

    def _maturity(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._check(self._http.request(method, "/maturity" + path, **kwargs))

    def maturity(self, domain: str | None = None, *, against: str = "then") -> dict[str, Any]:
        path = "" if domain is None else f"/domains/{quote(domain, safe='')}"
        return self._maturity("GET", path, params={"against": against})  # type: ignore[no-any-return]

    def maturity_snapshot(self) -> dict[str, Any]:
        return self._maturity("POST", "/snapshots")  # type: ignore[no-any-return]

    def maturity_history(self) -> list[dict[str, Any]]:
        return self._maturity("GET", "/snapshots")  # type: ignore[no-any-return]

    def target_pictures(self) -> list[dict[str, Any]]:
        return self._maturity("GET", "/target")  # type: ignore[no-any-return]

    def set_target_picture(self, document: str, *, reason: str) -> dict[str, Any]:
        return self._maturity("PUT", "/target", json={"document": document, "reason": reason})  # type: ignore[no-any-return]

    def propose_target(self, domain: str, levels: dict[str, int], *, reason: str) -> dict[str, Any]:
        body = {"domain": domain, "levels": levels, "reason": reason}
        return self._maturity("POST", "/target/proposals", json=body)  # type: ignore[no-any-return]

    def decide_target(self, proposal: int, *, approve: bool, note: str = "") -> dict[str, Any]:
        body = {"approve": approve, "note": note}
        return self._maturity("POST", f"/target/proposals/{int(proposal)}/decision", json=body)  # type: ignore[no-any-return]

    def assess(self, domain: str, answers: dict[str, int], *, note: str = "") -> dict[str, Any]:
        body = {"answers": answers, "note": note}
        return self._maturity("POST", f"/domains/{quote(domain, safe='')}/assessments", json=body)  # type: ignore[no-any-return]
