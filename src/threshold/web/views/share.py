"""Sharing a file from the browser in three steps: upload, preview (correct what was detected), publish.

Every step is a plain form and works without JavaScript; with it, the upload shows its progress (it goes to
POST /api/v1/shares/preview, then the browser opens the preview page). The upload waits between steps in
the person's own expiring preview folder (`sharing.staged`); its choices are kept with it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from threshold.access import DomainRef, may
from threshold.compliance.bases import LEGAL_BASIS_LABELS, SPECIAL_CONDITION_LABELS
from threshold.errors import ThresholdError
from threshold.identity.service import Person, list_domains
from threshold.interface.bodies import accepts_upload
from threshold.interface.permissions import Requires, SignedIn
from threshold.interface.previews import preview_json
from threshold.platform import Platform
from threshold.sharing import preview as previews
from threshold.sharing.readers import EXTENSIONS
from threshold.sharing.service import MODES
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Sharer = Annotated[Person, Requires("domain.member")]
"""A person sharing into a domain: the service decides `domain.member` on the domain chosen; a preview is
its uploader's own (`sharing.staged`)."""


def _form(platform: Platform, person: Person, **values: Any) -> dict[str, Any]:
    """The upload form's choices: the domains this person may share into (all of them for an admin)."""
    defaults = {"domain": person.domain or "", "name": "", "mode": "create"}
    return {
        "accept": ",".join([*sorted(EXTENSIONS), ".gz"]),  # what the readers registry can share
        "domains": _domains(platform, person),
        "modes": list(MODES),
        "values": defaults | values,
        "error": None,
        "results": [],
    }


def _domains(platform: Platform, person: Person) -> list[dict[str, Any]]:
    return [
        {"name": d["name"], "title": d["title"]}
        for d in list_domains(platform)
        if may(person, "domain.member", DomainRef(str(d["name"])))
    ]


@router.get("/share")
@router.get("/share.json")
def share_form(request: Request, person: SignedIn) -> Response:
    data = _form(request.app.state.platform, person)
    return page(request, "share.html", data, person=person, title=i18n.Text("Share data"), nav="share")


@router.post("/share")
@accepts_upload
def upload(
    request: Request,
    person: Sharer,
    file: Annotated[UploadFile, File()],
    domain: Annotated[str, Form(max_length=100)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    mode: Annotated[str, Form(max_length=20)] = "create",
) -> Response:
    """Step 1 without JavaScript: keep the upload and open its preview (or show the form with the error)."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    choices = previews.ShareChoices(domain=domain).updated(name=name, mode=mode)
    try:
        result = previews.preview_upload(platform, person, file.filename, file.file, choices)
    except ThresholdError as e:
        data = _form(platform, person, domain=domain, name=name, mode=mode) | {"error": str(e)}
        return page(
            request, "share.html", data, person=person, status=e.status, title=i18n.Text("Share data"), nav="share"
        )
    return RedirectResponse(f"/share/preview/{result.preview_id}", status_code=303)


@router.get("/share/preview/{preview_id}.json")
def preview_page_json(request: Request, person: Sharer, preview_id: str) -> Response:
    result = previews.preview_staged(request.app.state.platform, person, preview_id)
    return JSONResponse(preview_json(result))


@router.get("/share/preview/{preview_id}")
def preview_page(request: Request, person: Sharer, preview_id: str) -> Response:
    """Step 2: what the upload will become, with everything that can be corrected."""
    platform: Platform = request.app.state.platform
    result = previews.preview_staged(platform, person, preview_id)
    return _preview_page(request, person, platform, result)


@router.post("/share/preview/{preview_id}")
def preview_action(
    request: Request,
    person: Sharer,
    preview_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "preview",
    domain: Annotated[str | None, Form(max_length=100)] = None,
    name: Annotated[str | None, Form(max_length=100)] = None,
    mode: Annotated[str | None, Form(max_length=20)] = None,
    sheet: Annotated[str | None, Form(max_length=200)] = None,
    header_row: Annotated[str | None, Form(max_length=20)] = None,
    skip_rows: Annotated[str | None, Form(max_length=10)] = None,
    cell_range: Annotated[str | None, Form(alias="range", max_length=40)] = None,
    keep_totals: Annotated[bool, Form()] = False,
    description: Annotated[str | None, Form(max_length=10_000)] = None,
    purpose: Annotated[str | None, Form(max_length=1000)] = None,
    visibility: Annotated[str | None, Form(max_length=20)] = None,
    evolve: Annotated[bool, Form()] = False,
    col_key: Annotated[list[str] | None, Form()] = None,
    col_name: Annotated[list[str] | None, Form()] = None,
    col_type: Annotated[list[str] | None, Form()] = None,
    columns_for: Annotated[str | None, Form(max_length=400)] = None,
    reg_legal_basis: Annotated[str | None, Form(max_length=40)] = None,
    reg_special_condition: Annotated[str | None, Form(max_length=40)] = None,
    reg_subjects: Annotated[str | None, Form(max_length=5000)] = None,
    reg_retention: Annotated[str | None, Form(max_length=20)] = None,
    reg_retention_column: Annotated[str | None, Form(max_length=127)] = None,
    reg_source_system: Annotated[str | None, Form(max_length=200)] = None,
    reg_controller: Annotated[str | None, Form(max_length=320)] = None,
) -> Response:
    """Step 2 again (action=preview, with changed choices), step 3 (action=publish), or cancel."""
    check_csrf(request, csrf)
    platform: Platform = request.app.state.platform
    if action == "cancel":
        previews.cancel(platform, person, preview_id)
        return RedirectResponse("/share", status_code=303)
    keys, names, types = col_key or [], col_name or [], col_type or []
    columns: dict[str, dict[str, str | None]] = {}
    for i, key in enumerate(keys):
        new_name = (names[i] if i < len(names) else "").strip()
        new_type = (types[i] if i < len(types) else "").strip()
        if (new_name and new_name != key) or new_type:  # only what the person changed
            columns[key] = {"name": new_name if new_name != key else None, "type": new_type or None}
    reading = _reading(sheet, header_row, skip_rows, cell_range, keep_totals)
    changes: dict[str, Any] = {
        "domain": domain,
        "name": name,
        "mode": mode,
        "sheet": sheet,
        "header_row": header_row,
        "skip_rows": skip_rows,
        "cell_range": cell_range,
        # A checkbox sends nothing when unticked: the form says so only when it shows the box.
        "keep_totals": keep_totals if mode is not None else None,
        "evolve": evolve if mode is not None else None,
        "description": description,
        "purpose": purpose,
        "visibility": visibility,
        # Column choices name the columns of the reading shown; read differently, the table has other columns.
        "columns": columns if keys and reading == columns_for else None,
        # The collection register, part of the same form (compliance checks it when the share is published).
        "collection": {
            "legal_basis": reg_legal_basis,
            "special_condition": reg_special_condition,
            "subjects": reg_subjects,
            "retention": reg_retention,
            "retention_column": reg_retention_column,
            "source_system": reg_source_system,
            "controller": reg_controller,
        },
    }
    if action == "publish":
        try:
            results = previews.publish(platform, person, preview_id, **changes)
        except ThresholdError as e:
            return _preview_again(request, person, platform, preview_id, changes, str(e), e.status)
        if len(results) == 1:
            return RedirectResponse(f"/datasets/{results[0].dataset}", status_code=303)
        data = _form(platform, person) | {"results": [asdict(r) for r in results]}
        return page(request, "share.html", data, person=person, title=i18n.Text("Shared"), nav="share")
    return _preview_again(request, person, platform, preview_id, changes, None, 200)


def _reading(
    sheet: str | None, header_row: str | None, skip_rows: str | int | None, cell_range: str | None, totals: bool
) -> str:
    """How the table was read, as the preview form carries it (`columns_for`): "sheet|header|skip|range|totals"."""
    parts = [sheet or "", (header_row or "").strip(), str(skip_rows or 0).strip() or "0", (cell_range or "").strip()]
    return "|".join([*parts, "keep" if totals else ""])


def _preview_again(
    request: Request,
    person: Person,
    platform: Platform,
    preview_id: str,
    changes: dict[str, Any],
    error: str | None,
    status: int,
) -> Response:
    """The preview with `changes`; when they cannot be read, the preview as it was, with the reason."""
    try:
        result = previews.preview_staged(platform, person, preview_id, **changes)
    except ThresholdError as e:
        result = previews.preview_staged(platform, person, preview_id)
        error, status = str(e), e.status
    return _preview_page(request, person, platform, result, error=error, status=status)


def _preview_page(
    request: Request,
    person: Person,
    platform: Platform,
    result: previews.SharePreview,
    error: str | None = None,
    status: int = 200,
) -> Response:
    c = result.choices
    shown = c.sheet or (result.tables[0].sheet if result.tables else None)
    reading = _reading(shown, c.header_row, c.skip_rows, c.cell_range, c.keep_totals)
    data = preview_json(result) | {"error": error, "domains": _domains(platform, person), "modes": list(MODES)}
    data["columns_for"] = reading
    data["legal_bases"] = [(b.value, label) for b, label in LEGAL_BASIS_LABELS.items()]
    data["special_conditions"] = [(c.value, label) for c, label in SPECIAL_CONDITION_LABELS.items()]
    data["register_required"] = platform.settings.compliance.register_required
    return page(
        request, "share_preview.html", data, person=person, status=status, title=i18n.Text("Preview"), nav="share"
    )
