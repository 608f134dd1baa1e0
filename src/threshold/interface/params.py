"""Bounded request parameters as named `Annotated` aliases, used by every router and page.

Ids, page numbers and offsets are 64-bit in the metadata store (SQLite INTEGER, PostgreSQL BIGINT): a
larger number is refused here as a 422 naming the bound, never sent to the database to fail there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1
"""The largest id the metadata store can hold."""
MAX_PAGE = 1_000_000
"""No listing has this many pages; page x per_page stays far inside 64 bits."""

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive 64-bit id.")]
"""A record's id in the path (`/checks/{check_id}`)."""
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Rows to skip.")]
