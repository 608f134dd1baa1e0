"""What the share preview's API routes and pages share: the preview as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi.encoders import jsonable_encoder

from threshold.sharing.preview import SharePreview


def preview_json(result: SharePreview) -> dict[str, Any]:
    """The proposal as JSON: every field of `SharePreview`, and `ready` (nothing stops publishing)."""
    data = asdict(result) | {"ready": result.ready}
    return jsonable_encoder(data, custom_encoder={bytes: lambda b: b.hex()})  # type: ignore[no-any-return]
