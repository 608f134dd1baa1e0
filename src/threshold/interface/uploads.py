"""Uploads shared by the web share form and `POST /api/v1/shares`: stream the file to a private
folder, share it, remove it."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from fastapi import UploadFile

from threshold.errors import InvalidInput, TooLarge
from threshold.names import name_from_file
from threshold.sharing.service import share as run_share
from threshold.staging import own_folder


def receive_and_share(platform: Any, person: Any, file: UploadFile, choices: Any) -> list[Any]:
    """Stream an upload to a private folder (never all in memory), share it with `choices` (a
    `sharing.preview.ShareChoices`), remove it."""
    from pathlib import Path

    original = Path(file.filename or "upload").name
    if not original or original.startswith("."):
        raise InvalidInput("the upload needs a file name with an extension, e.g. plant_kpis.xlsx")
    folder = own_folder(platform.settings.staging_dir / f"upload-{uuid.uuid4().hex}")  # removed if we die
    target = folder / original
    limits = platform.settings.limits
    try:
        written = 0
        with target.open("wb") as out:
            while chunk := file.file.read(4 * 1024 * 1024):
                written += len(chunk)
                if written > limits.upload_bytes:
                    raise TooLarge(f"{original} is over the upload limit ({limits.setting('upload_bytes')})")
                out.write(chunk)
        options = choices.share_options()
        options["name"] = options["name"] or name_from_file(target)
        return run_share(platform, target, domain=choices.domain, user=person, **options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
