"""The health page: the doctor's report for admins, with its JSON twin and a clean-up button."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from threshold.identity.service import add_user


@pytest.fixture
def root(anonymous: Any, org: Any) -> Any:
    """A browser signed in as an admin."""
    add_user(org.platform, "root", admin=True, password="root-pass")
    assert anonymous.sign_in("root", "root-pass").status_code == 303
    return anonymous


def _dead_upload(org: Any) -> None:
    code = (
        "import sys; from pathlib import Path; from threshold.staging import own_folder; own_folder(Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", code, str(org.platform.settings.staging_dir / "upload-gone")], check=True)


def test_an_admin_sees_the_findings_and_cleans_up_from_the_page(root: Any, org: Any) -> None:
    _dead_upload(org)
    page = root.page("/health")
    rows = page.find("section", id="findings").find("table").table_rows()
    assert [r[:2] for r in rows] == [["warning", "upload.abandoned"]]
    assert "(fixable)" in rows[0][3]
    twin = root.get("/health.json").json()
    assert twin["healthy"] is False and twin["findings"][0]["kind"] == "upload.abandoned"

    form = page.find("form", action="/health/fix")
    after = root.post("/health/fix", data=form.form_values())
    assert after.status_code == 200
    done = root.parse(after.text)
    assert "upload-gone" in done.find("section", id="fixed").text()
    assert done.find("section", id="findings").find("p", class_="empty").text() == "Nothing to report."
    assert not (org.platform.settings.staging_dir / "upload-gone").exists()


def test_the_page_is_for_admins_only(anna: Any) -> None:
    assert anna.get("/health").status_code == 403
    assert anna.get("/health.json").status_code == 403
    assert all(a.attrs.get("href") != "/health" for a in anna.page("/").find("nav").find_all("a"))
