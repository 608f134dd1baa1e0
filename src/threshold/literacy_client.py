"""Learning and the personal report from Python, on an embedded home (`LocalLiteracy`) or a server
(`RemoteLiteracy`).

c = threshold.connect()
c.learning()                                  # my path: done (when, by what), next
c.report(period="2026-11")                    # my data use in November
open("review.pdf", "wb").write(c.report_pdf(period="2026-Q4"))
c.create_cohort("Spring", track="ten-weeks", starts_on="2027-03-01", members=["ana", "ben"])  # organisers
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any
from urllib.parse import quote


class LocalLiteracy:
    """The literacy services run in-process as the client's user."""

    platform: Any
    user: Any

    def learning(self) -> dict[str, Any]:
        from threshold.literacy.service import my_learning

        return asdict(my_learning(self.platform, self.user))

    def tracks(self) -> list[dict[str, Any]]:
        from threshold.literacy.service import list_tracks

        return [asdict(t) for t in list_tracks(self.platform)]

    def cohorts(self) -> list[dict[str, Any]]:
        from threshold.literacy.service import list_cohorts

        return [asdict(c) for c in list_cohorts(self.platform, self.user)]

    def create_cohort(self, name: str, *, track: str, starts_on: str | date, members: list[str]) -> dict[str, Any]:
        from threshold.literacy.service import create_cohort

        day = starts_on if isinstance(starts_on, date) else _day(starts_on)
        return asdict(create_cohort(self.platform, self.user, name, track=track, starts_on=day, members=members))

    def cohort(self, name: str) -> dict[str, Any]:
        from threshold.literacy.service import show_cohort

        return asdict(show_cohort(self.platform, self.user, name))

    def report(self, *, period: str | None = None, person: str | None = None) -> dict[str, Any]:
        """My data use in `period` (`YYYY-MM`, `YYYY-Qn`); `person` other than me is refused as not found."""
        from threshold.literacy.report import personal_report

        return asdict(personal_report(self.platform, self.user, period=period, of=person))

    def report_pdf(self, *, period: str | None = None) -> bytes:
        from threshold.literacy.pdf import render
        from threshold.literacy.report import personal_report

        return render(personal_report(self.platform, self.user, period=period))

    def team_report(self, domain: str, *, period: str | None = None) -> dict[str, Any]:
        from threshold.literacy.report import team_report

        return asdict(team_report(self.platform, self.user, domain, period=period))


class RemoteLiteracy:
    """The same calls over the REST API (`/api/v1/learning`, `/api/v1/report`)."""

    _http: Any
    _check: Any

    def _get(self, path: str, **params: Any) -> Any:
        return self._check(self._http.get(path, params={k: v for k, v in params.items() if v is not None}))

    def learning(self) -> dict[str, Any]:
        return dict(self._get("/learning").json())

    def tracks(self) -> list[dict[str, Any]]:
        return list(self._get("/learning/tracks").json()["tracks"])

    def cohorts(self) -> list[dict[str, Any]]:
        return list(self._get("/learning/cohorts").json()["cohorts"])

    def create_cohort(self, name: str, *, track: str, starts_on: str | date, members: list[str]) -> dict[str, Any]:
        body = {"name": name, "track": track, "starts_on": str(starts_on), "members": members}
        return dict(self._check(self._http.post("/learning/cohorts", json=body)).json())

    def cohort(self, name: str) -> dict[str, Any]:
        return dict(self._get("/learning/cohorts/" + quote(name, safe="")).json())

    def report(self, *, period: str | None = None, person: str | None = None) -> dict[str, Any]:
        return dict(self._get("/report", period=period, person=person).json())

    def report_pdf(self, *, period: str | None = None) -> bytes:
        return bytes(self._get("/report.pdf", period=period).content)

    def team_report(self, domain: str, *, period: str | None = None) -> dict[str, Any]:
        return dict(self._get("/report/teams/" + quote(domain, safe=""), period=period).json())


def _day(text: str) -> date:
    from threshold.errors import InvalidInput

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"starts_on is a date YYYY-MM-DD, not {text[:20]!r}") from None
