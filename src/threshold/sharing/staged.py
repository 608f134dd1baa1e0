"""Uploads kept between a share preview and its publication.

Layout, under the home's staging area (`Settings.previews_dir`):

    staging/previews/<token>/              one folder per preview (mode 0700); token = 32 hex characters
        preview.json                       owner (id, name), created and expiry times, file name and size,
                                           the person's latest choices (domain, name, sheet, header row...)
        upload/<file name as uploaded>     the upload itself
    staging/previews/<token>.publishing/   the same folder while it is published (a rename claims it)

A preview belongs to the person who uploaded it: anyone else asking for its token is told there is no
such preview. It is removed when published or cancelled, and by `sweep` once expired (every call here
sweeps). An upload is bounded by `limits.upload_bytes`; at most `previews_per_person` wait per person
(a new upload removes that person's oldest). A folder being published is swept only a day after its
expiry, so a long publish is never cut short.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from threshold.errors import InvalidInput, NotFound, TooLarge
from threshold.identity.service import Person
from threshold.platform import Platform

MANIFEST = "preview.json"
CLAIMED = ".publishing"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Staged:
    token: str
    owner_id: int
    owner: str
    file: Path
    """The upload, under the preview's folder."""
    size: int
    created_at: datetime
    expires_at: datetime
    choices: dict[str, Any] = field(default_factory=dict)
    """The person's latest choices for it (domain, name, sheet, header row...), so each step need not resend them."""


def stage(
    platform: Platform, person: Person, filename: str | None, stream: BinaryIO, *, now: datetime | None = None
) -> Staged:
    """Keep an upload for `person` until it is published, cancelled or expires; bounded by the share limit."""
    now = now or datetime.now(UTC)
    original = Path(filename or "").name.strip()
    if not original or original.startswith(".") or len(original) > 200:
        raise InvalidInput("the upload needs a file name with an extension, e.g. plant_kpis.xlsx")
    from threshold.sharing import readers

    readers.format_of(Path(original))  # an unknown type is refused before a byte is stored
    root = platform.settings.previews_dir
    root.mkdir(parents=True, exist_ok=True)
    sweep(platform, now=now)
    _make_room(platform, person)
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)  # whatever the umask
    (folder / "upload").mkdir(mode=0o700)
    target = folder / "upload" / original
    limits = platform.settings.limits
    written = 0
    expires = now + timedelta(minutes=platform.settings.preview_minutes)
    # The manifest first: a sweep by another request must see a folder still being written as its owner's.
    _write_manifest(folder, Staged(token, person.id, person.name, target, 0, now, expires))
    try:
        with target.open("wb") as out:
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > limits.upload_bytes:
                    raise TooLarge(f"{original} is over the upload limit ({limits.setting('upload_bytes')})")
                out.write(chunk)
        if written == 0:
            raise InvalidInput(f"{original} is empty")
        staged = Staged(token, person.id, person.name, target, written, now, expires)
        _write_manifest(folder, staged)
        return staged
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def find(platform: Platform, person: Person, token: str, *, now: datetime | None = None) -> Staged:
    """`person`'s preview upload `token`; NotFound for anyone else, and once published, cancelled or expired."""
    now = now or datetime.now(UTC)
    sweep(platform, now=now)
    folder = _folder(platform, token)
    staged = _read_manifest(folder) if folder is not None else None
    if staged is None or staged.owner_id != person.id:
        raise _missing(token)
    return staged


def discard(platform: Platform, person: Person, token: str, *, now: datetime | None = None) -> None:
    """Cancel a preview: its upload is removed."""
    staged = find(platform, person, token, now=now)
    shutil.rmtree(staged.file.parent.parent, ignore_errors=True)


@contextmanager
def claim(platform: Platform, person: Person, token: str, *, now: datetime | None = None) -> Iterator[Staged]:
    """Hold a preview while it is published: a second publish of it finds nothing. Removed on success;
    on failure it is released, unchanged, so the person can correct their choices and publish again."""
    staged = find(platform, person, token, now=now)
    folder = staged.file.parent.parent
    claimed = folder.with_name(folder.name + CLAIMED)
    try:
        folder.rename(claimed)
    except OSError:
        raise _missing(token) from None
    held = replace(staged, file=claimed / "upload" / staged.file.name)
    try:
        yield held
    except BaseException:
        try:
            claimed.rename(folder)
        except OSError:
            shutil.rmtree(claimed, ignore_errors=True)
        raise
    shutil.rmtree(claimed, ignore_errors=True)


def remember(platform: Platform, person: Person, token: str, choices: dict[str, Any]) -> Staged:
    """Keep `choices` (JSON values) with `person`'s preview `token`."""
    staged = replace(find(platform, person, token), choices=dict(choices))
    _write_manifest(staged.file.parent.parent, staged)
    return staged


def sweep(platform: Platform, *, now: datetime | None = None) -> int:
    """Remove expired previews (of anyone), and folders without a readable manifest; returns how many."""
    now = now or datetime.now(UTC)
    root = platform.settings.previews_dir
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        staged = _read_manifest(folder)
        grace = timedelta(days=1) if folder.name.endswith(CLAIMED) else timedelta(0)
        if staged is None or staged.expires_at + grace <= now:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _make_room(platform: Platform, person: Person) -> None:
    root = platform.settings.previews_dir
    mine = [
        s
        for folder in root.iterdir()
        if not folder.name.endswith(CLAIMED) and (s := _read_manifest(folder)) is not None and s.owner_id == person.id
    ]
    mine.sort(key=lambda s: s.created_at)
    while len(mine) >= platform.settings.previews_per_person:
        oldest = mine.pop(0)
        shutil.rmtree(oldest.file.parent.parent, ignore_errors=True)


def _folder(platform: Platform, token: str) -> Path | None:
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    folder = platform.settings.previews_dir / token
    return folder if folder.is_dir() else None


def _missing(token: str) -> NotFound:
    shown = str(token)[:12]
    return NotFound(f"no preview {shown!r}: it was published, cancelled or expired; upload the file again")


def _write_manifest(folder: Path, staged: Staged) -> None:
    data = {
        "owner_id": staged.owner_id,
        "owner": staged.owner,
        "file": staged.file.name,
        "size": staged.size,
        "created_at": staged.created_at.isoformat(),
        "expires_at": staged.expires_at.isoformat(),
        "choices": staged.choices,
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(folder / MANIFEST)


def _read_manifest(folder: Path) -> Staged | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
        token = folder.name.removesuffix(CLAIMED)
        return Staged(
            token=token,
            owner_id=int(data["owner_id"]),
            owner=str(data["owner"]),
            file=folder / "upload" / Path(str(data["file"])).name,
            size=int(data["size"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            choices=dict(data.get("choices") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
